#!/usr/bin/env bash
# Builds the Rust WebAssembly example, examples/wasm/rust/wordcount, into
# examples/wasm/rust/wordcount.wasm (kept in the repository as a fixture, so
# that the tests need no Rust WebAssembly toolchain):
#
#   scripts/build-rust-guests.sh
#
# Which compiler:
#   - rustup's, through cargo, if it has the wasm32-wasip1 standard library
#     (`rustup target add wasm32-wasip1`);
#   - else Debian's rustc and its prebuilt wasm32 standard library
#     (packages rustc, libstd-rust-dev-wasm32), downloaded with
#     `apt-get download` and unpacked under target/guest-rust, not installed:
#     installed, Debian's rustc would stand beside rustup's on the PATH. It
#     links with wasm-ld, from Debian's lld, which is installed with apt-get
#     when missing and this runs as root.
# The guest crates are written for Rust 1.63, Debian 12's rustc.
#
# Nothing is rebuilt if the module is newer than the sources and this script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

EXAMPLE=examples/wasm/rust/wordcount
OUT=examples/wasm/rust/wordcount.wasm
WORK=target/guest-rust
DEBIAN_ROOT=$WORK/debian
DEBIAN_PACKAGES=(rustc libstd-rust-dev libstd-rust-dev-wasm32)
# The runtime library of Debian's rustc (librustc_driver, libstd) is in a
# package whose name holds the version; it is found from rustc's dependencies.

die() {
    echo "error: $*" >&2
    exit 1
}

sources() {
    find sdk/rust "$EXAMPLE" -name '*.rs' -o -name Cargo.toml
    echo "${BASH_SOURCE[0]}"
}

up_to_date() {
    [[ -f $OUT ]] || return 1
    local source
    while read -r source; do
        [[ $OUT -nt $source ]] || return 1
    done < <(sources)
}

# apt_install PACKAGE...: installs Debian packages, updating the package list
# once if they cannot be found.
apt_install() {
    local how="apt-get install $*"
    if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
        die "the Rust WebAssembly build needs: $how"
    fi
    echo "installing $* with apt-get ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends "$@" >&2; then
        apt-get update -q >&2 || die "apt-get update failed; then: $how"
        apt-get install -y -q --no-install-recommends "$@" >&2 || die "cannot run: $how"
    fi
}

# Builds with rustup's cargo, which has the wasm32-wasip1 standard library.
build_with_rustup() {
    cargo build --release --target wasm32-wasip1 --manifest-path "$EXAMPLE/Cargo.toml" \
        --target-dir "$WORK/cargo"
    cp "$WORK/cargo/wasm32-wasip1/release/cloudbutton_wasm_wordcount.wasm" "$OUT.tmp"
}

# Unpacks Debian's rustc and its wasm32 standard library under $DEBIAN_ROOT.
fetch_debian_rustc() {
    [[ -x $DEBIAN_ROOT/usr/bin/rustc ]] && return
    command -v apt-get >/dev/null || die "no Rust WebAssembly toolchain: run rustup target add wasm32-wasip1"
    local debs=$WORK/debs
    rm -rf "$debs" "$DEBIAN_ROOT"
    mkdir -p "$debs" "$DEBIAN_ROOT"

    echo "downloading Debian's rustc and its wasm32 standard library ..." >&2
    (cd "$debs" && apt-get download "${DEBIAN_PACKAGES[@]}" >&2) ||
        (apt-get update -q >&2 && cd "$debs" && apt-get download "${DEBIAN_PACKAGES[@]}" >&2) ||
        die "cannot download ${DEBIAN_PACKAGES[*]} with apt-get"

    # libstd-rust-dev names the versioned runtime package, libstd-rust-X.Y.
    local runtime
    runtime=$(dpkg-deb -f "$debs"/libstd-rust-dev_*.deb Depends | grep -o 'libstd-rust-[0-9.]*' | head -1)
    [[ -n $runtime ]] || die "cannot tell which package holds the runtime of Debian's rustc"
    (cd "$debs" && apt-get download "$runtime" >&2) || die "cannot download $runtime with apt-get"

    local deb
    for deb in "$debs"/*.deb; do
        dpkg-deb -x "$deb" "$DEBIAN_ROOT"
    done

    # What the runtime links to (LLVM, mostly) must be installed for real.
    local needs
    needs=$(dpkg-deb -f "$debs/${runtime}"_*.deb Depends | tr ',' '\n' | sed 's/[ (].*//; s/^ *//' | grep .)
    # shellcheck disable=SC2086  # one package name a word
    dpkg -s $needs >/dev/null 2>&1 || apt_install $needs
    rm -rf "$debs"
}

# Builds with Debian's rustc, one rustc call a crate: Debian's rustc is too
# old for rustup's cargo, and the two crates have no other dependencies.
build_with_debian() {
    command -v wasm-ld >/dev/null || apt_install lld
    fetch_debian_rustc

    local rustc=$DEBIAN_ROOT/usr/bin/rustc sysroot=$DEBIAN_ROOT/usr
    export LD_LIBRARY_PATH=$PWD/$DEBIAN_ROOT/usr/lib/x86_64-linux-gnu
    # Named wasm32-wasi before Rust 1.78, wasm32-wasip1 after.
    local target
    for target in wasm32-wasip1 wasm32-wasi ""; do
        [[ -d $sysroot/lib/rustlib/$target/lib ]] && break
    done
    [[ -n $target ]] || die "Debian's libstd-rust-dev-wasm32 holds no WASI standard library"

    local out=$WORK/debian-build common=(--edition 2021 --target "$target" --sysroot "$sysroot"
        -C opt-level=3 -C panic=abort -C codegen-units=1)
    mkdir -p "$out"
    "$rustc" "${common[@]}" --crate-type rlib --crate-name cloudbutton_guest \
        sdk/rust/src/lib.rs --out-dir "$out"
    "$rustc" "${common[@]}" --crate-type cdylib --crate-name cloudbutton_wasm_wordcount \
        -C lto -C strip=debuginfo -C linker=wasm-ld \
        --extern cloudbutton_guest="$out/libcloudbutton_guest.rlib" \
        "$EXAMPLE/src/lib.rs" -o "$OUT.tmp"
}

if up_to_date; then
    exit 0
fi
if command -v rustc >/dev/null && [[ -d "$(rustc --print sysroot)/lib/rustlib/wasm32-wasip1/lib" ]]; then
    build_with_rustup
else
    build_with_debian
fi
mv "$OUT.tmp" "$OUT"
echo "built $OUT" >&2
