#!/usr/bin/env bash
# Builds the C WebAssembly examples (examples/wasm/c) into OUT_DIR, by default
# target/wasm:
#
#   scripts/build-wasm.sh [OUT_DIR]
#
#   wordcount.wasm  merge.wasm  probe.wasm    WASI commands
#   linecount.wasm  montecarlo.wasm           reactors on the CloudButton ABI
#
# The compiler is Debian's clang with lld and wasi-libc, and compiler-rt's
# wasm32 builtins. If they are missing and this runs as root, they are
# installed with apt-get. A module is rebuilt only when it is older than its
# source, the headers or this script, so a second run does nothing.
set -euo pipefail

OUT_DIR=${1:-target/wasm}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(clang lld wasi-libc libclang-rt-14-dev-wasm32)
COMMANDS=(wordcount merge probe)
REACTORS=(linecount montecarlo)
CFLAGS=(--target=wasm32-wasi -O2 -Wall -Wextra -I sdk/c
    # The name section stays, so that traps show function names.
    -Xlinker --strip-debug)

die() {
    echo "error: $*" >&2
    exit 1
}

# Whether clang can build and link a WASI program: a missing wasi-libc or
# builtins library shows only when linking.
can_build() {
    command -v clang >/dev/null || return 1
    local scratch status=0
    scratch=$(mktemp -d)
    printf '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n' >"$scratch/check.c"
    clang --target=wasm32-wasi "$scratch/check.c" -o "$scratch/check.wasm" 2>/dev/null || status=1
    rm -rf "$scratch"
    return "$status"
}

install() {
    can_build && return
    local how="apt-get install ${PACKAGES[*]} (Debian 12 or later)"
    [[ $(id -u) == 0 ]] || die "clang cannot build WebAssembly here; install its tools: $how"
    command -v apt-get >/dev/null || die "clang cannot build WebAssembly here; install: $how"

    echo "installing ${PACKAGES[*]} with apt-get ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    # The package list may be missing or stale on a fresh machine: on failure,
    # update it and try once more.
    if ! apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >&2; then
        apt-get update -q >&2 || die "apt-get update failed; then: $how"
        apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >&2 ||
            die "cannot install the WebAssembly tools with apt-get; $how"
    fi
    can_build || die "clang still cannot build WebAssembly after installing ${PACKAGES[*]}"
}

# up_to_date OUT SOURCE...: whether OUT exists and is newer than every SOURCE.
up_to_date() {
    local out=$1 source
    shift
    [[ -f $out ]] || return 1
    for source in "$@"; do
        [[ $out -nt $source ]] || return 1
    done
}

# build NAME FLAG...: compiles examples/wasm/c/NAME.c to OUT_DIR/NAME.wasm.
build() {
    local name=$1
    shift
    local source=examples/wasm/c/$name.c out=$OUT_DIR/$name.wasm
    if up_to_date "$out" "$source" examples/wasm/c/*.h sdk/c/*.h "${BASH_SOURCE[0]}"; then
        return
    fi
    install
    # Through a temporary file, so that a failed build leaves no output that
    # looks up to date.
    clang "${CFLAGS[@]}" "$@" "$source" -o "$out.tmp"
    mv "$out.tmp" "$out"
    echo "built $out" >&2
}

for name in "${COMMANDS[@]}"; do
    build "$name"
done
for name in "${REACTORS[@]}"; do
    # A reactor has no `main`: wasi-libc's reactor start file exports
    # `_initialize`, which the host calls before `cloudbutton_run`.
    build "$name" -mexec-model=reactor
done
