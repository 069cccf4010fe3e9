#!/usr/bin/env bash
# Prints the path of a tarball of a clean, minimal Debian root of this machine's release and
# architecture (mmdebstrap's minbase, plus adduser and man-db), for installing the packages
# into it with chroot (crates/pwsync/tests/packaging.rs). The first call makes it from this
# machine's own apt sources (about a minute) and keeps it in ~/.cache/pwsync (or
# $PWSYNC_CACHE_DIR); later calls only print the path. Needs root and mmdebstrap.
set -euo pipefail
. /etc/os-release
cache="${PWSYNC_CACHE_DIR:-$HOME/.cache/pwsync}"
tarball="$cache/debian-root-$VERSION_CODENAME-$(dpkg --print-architecture).tar"
if [[ ! -s "$tarball" ]]; then
    # The machine's sources (mirror, proxy-free or not, security suite) serve the chroot too.
    sources=()
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [[ -f "$file" ]] && grep -qE '^[[:space:]]*(deb|Types:)' "$file" && sources+=("$file")
    done
    ((${#sources[@]})) || { echo "no apt sources on this machine to make a Debian root from" >&2; exit 69; }
    mkdir -p "$cache"
    partial="$tarball.partial.$$"
    trap 'rm -f "$partial"' EXIT
    echo "== making a minimal $VERSION_CODENAME root for the packaging test (once per machine)" >&2
    mmdebstrap --mode=root --variant=minbase --include=adduser,man-db --format=tar \
        "$VERSION_CODENAME" "$partial" "${sources[@]}" >&2
    mv "$partial" "$tarball"
fi
echo "$tarball"
