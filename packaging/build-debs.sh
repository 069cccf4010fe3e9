#!/usr/bin/env bash
# Builds the Debian packages of pwsync with cargo-deb (metadata in crates/pwsync/Cargo.toml):
#   pwsync          /usr/bin/pwsync and /usr/bin/pwsync-capture (stripped), their manual pages, docs
#   pwsync-dbg      the debug information of those binaries (/usr/lib/debug/.build-id/NN/REST.debug)
#   pwsync-server   the server's unit, default configuration, account and state directory
#   pwsync-client   the client's unit, default configuration and spool directory
#
#   packaging/build-debs.sh [--out DIR] [--bin-dir DIR [--man-dir DIR]] [--fast] [--deb-version V]
#
# Without --bin-dir it builds pwsync, pwsync-capture and the manual renderer pwsync-man with the
# `deb` profile (release, plus limited debug information for pwsync-dbg). --bin-dir: where already
# built pwsync and pwsync-capture are (the packaging test gives the ones it built); the manual pages are
# then taken from --man-dir, or rendered by DIR/pwsync-man. --out: where the packages go
# (default: target/debian). --fast: light compression (for tests of the packaging itself).
# --deb-version: the packages' version instead of the Cargo version with revision 1 (the
# upgrade test makes an older build with it). Prints the paths of the packages it wrote.
#
# Installs cargo-deb (pinned) when missing; needs objcopy and readelf (binutils) for the debug
# information and dpkg-shlibdeps (dpkg-dev) for the library dependencies.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cargo_deb_version=3.8.0
out="$root/target/debian"
bin_dir=""
man_dir=""
deb_args=()
while (($#)); do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --bin-dir) bin_dir="$2"; shift 2 ;;
        --man-dir) man_dir="$2"; shift 2 ;;
        --fast) deb_args+=(--fast); shift ;;
        --deb-version) deb_args+=(--deb-version "$2"); shift 2 ;;
        *) echo "usage: $0 [--out DIR] [--bin-dir DIR [--man-dir DIR]] [--fast] [--deb-version V]" >&2; exit 64 ;;
    esac
done

if [[ "$(cargo deb --version 2>/dev/null)" != *"$cargo_deb_version"* ]]; then
    echo "== installing cargo-deb $cargo_deb_version" >&2
    cargo install --locked cargo-deb --version "$cargo_deb_version" >&2
fi

if [[ -z "$bin_dir" ]]; then
    (cd "$root" && cargo build --profile deb --locked -p pwsync -p pwsync-man \
        --bin pwsync --bin pwsync-capture --bin pwsync-man >&2)
    target="$(cd "$root" && cargo metadata --format-version 1 --no-deps --locked \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    bin_dir="$target/deb"
fi
for program in pwsync pwsync-capture; do
    [[ -x "$bin_dir/$program" ]] || { echo "$bin_dir/$program is missing or not executable" >&2; exit 66; }
done

# cargo-deb takes the programs from <target dir>/<profile>/: a private target directory holds
# exactly the binaries and manuals given, whichever build made them.
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/deb/man" "$out"
for program in pwsync pwsync-capture; do
    ln "$bin_dir/$program" "$stage/deb/$program" 2>/dev/null || cp "$bin_dir/$program" "$stage/deb/$program"
done
if [[ -z "$man_dir" ]]; then
    man_dir="$stage/man-pages"
    "$bin_dir/pwsync-man" "$man_dir" >/dev/null
fi
for page in "$man_dir"/*.1; do
    # -n: no name or time stamp in the gzip header (reproducible, as lintian wants).
    gzip -9n < "$page" > "$stage/deb/man/$(basename "$page").gz"
done

# The debug information, kept apart as debhelper's dh_strip does: compressed, named by the
# build id that the stripped binary keeps, so that gdb finds it.
for program in pwsync pwsync-capture; do
    build_id="$(readelf --notes "$stage/deb/$program" | awk '/Build ID:/ {print $3}')"
    [[ -n "$build_id" ]] || { echo "$program has no build id: its debug information could not be found" >&2; exit 65; }
    mkdir -p "$stage/deb/debug/.build-id/${build_id:0:2}"
    objcopy --only-keep-debug --compress-debug-sections=zlib "$stage/deb/$program" \
        "$stage/deb/debug/.build-id/${build_id:0:2}/${build_id:2}.debug"
done

cd "$root"
for variant in "" dbg server client; do
    args=(deb -p pwsync --no-build --profile deb --output "$out" "${deb_args[@]}")
    # --strip: the `deb` profile has line tables, which cargo-deb would otherwise leave in.
    if [[ -z "$variant" ]]; then args+=(--strip); else args+=(--variant "$variant"); fi
    # cargo-deb prints the path of the package it wrote.
    CARGO_TARGET_DIR="$stage" cargo "${args[@]}" | grep -E '\.deb$'
done
