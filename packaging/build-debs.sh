#!/usr/bin/env bash
# Builds the Debian packages of pwsync with dpkg-deb from a staged tree:
#   pwsync          the binaries (/usr/bin/pwsync, /usr/bin/pwsync-capture) and the manuals
#   pwsync-server   the server's unit, default configuration, account and state directory
#   pwsync-client   the client's unit, default configuration and spool directory
#
#   packaging/build-debs.sh [--out DIR] [--bin-dir DIR] [--fast]
#
# --bin-dir: where the built pwsync and pwsync-capture are (default: build them with
# `cargo build --release` and take target/release). --out: where the .deb files go
# (default: target/debian). --fast: gzip instead of xz (for tests of the packaging itself).
# Prints the paths of the packages it wrote.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/target/debian"
bin_dir=""
compression=(-Zxz)
while (($#)); do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --bin-dir) bin_dir="$2"; shift 2 ;;
        --fast) compression=(-Zgzip -z1); shift ;;
        *) echo "usage: $0 [--out DIR] [--bin-dir DIR] [--fast]" >&2; exit 64 ;;
    esac
done
if [[ -z "$bin_dir" ]]; then
    (cd "$root" && cargo build --release --locked -p pwsync)
    bin_dir="$root/target/release"
fi
for program in pwsync pwsync-capture; do
    [[ -x "$bin_dir/$program" ]] || { echo "$bin_dir/$program is missing or not executable" >&2; exit 66; }
done
version="$("$bin_dir/pwsync" --version | awk '{print $2}')"
arch="$(dpkg --print-architecture)"
mkdir -p "$out"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

# control FILE PACKAGE DEPENDS DESCRIPTION...
control() {
    local dir="$1" package="$2" depends="$3" summary="$4" long="$5"
    mkdir -p "$dir/DEBIAN"
    local size
    size="$(du -sk --exclude=DEBIAN "$dir" | cut -f1)"
    {
        echo "Package: $package"
        echo "Version: $version"
        echo "Architecture: $arch"
        echo "Maintainer: pwsync maintainers <pwsync@localhost>"
        echo "Section: admin"
        echo "Priority: optional"
        echo "Installed-Size: $size"
        [[ -n "$depends" ]] && echo "Depends: $depends"
        echo "Description: $summary"
        echo "$long" | fold -s -w 72 | sed 's/^/ /; s/ *$//'
    } > "$dir/DEBIAN/control"
}

doc() { # doc PACKAGE FILES...
    local dir="$1"; shift
    install -d -m 0755 "$dir"
    for file in "$@"; do install -m 0644 "$root/$file" "$dir/"; done
    printf 'pwsync is licensed under the Apache License 2.0 (/usr/share/common-licenses/Apache-2.0).\n' > "$dir/copyright"
    chmod 0644 "$dir/copyright"
}

scripts() { # scripts STAGE PACKAGE
    for script in postinst prerm postrm; do
        if [[ -f "$root/packaging/debian/$2.$script" ]]; then
            install -m 0755 "$root/packaging/debian/$2.$script" "$1/DEBIAN/$script"
        fi
    done
}

# pwsync: the binaries.
p="$stage/pwsync"
install -d -m 0755 "$p/usr/bin"
install -m 0755 "$bin_dir/pwsync" "$bin_dir/pwsync-capture" "$p/usr/bin/"
doc "$p/usr/share/doc/pwsync" README.md docs/architecture.md docs/configuration.md docs/operations.md \
    docs/metrics.md docs/spool-format.md docs/exec-target.md docs/target-ldap.md
install -d -m 0755 "$p/usr/share/doc/pwsync/examples"
install -m 0644 "$root/packaging/prometheus/pwsync-alerts.yml" "$p/usr/share/doc/pwsync/examples/"
control "$p" pwsync "libc6" "password synchronization: binaries" \
    "pwsync captures password changes on domain controllers and Linux hosts, seals them into a local spool, and synchronizes them over mutually authenticated TLS to Entra ID, LDAP directories and scripts. This package holds the pwsync command and the small pwsync-capture hook; install pwsync-server or pwsync-client for the services."

# pwsync-server.
p="$stage/pwsync-server"
install -d -m 0755 "$p/lib/systemd/system" "$p/etc/pwsync"
install -m 0644 "$root/packaging/systemd/pwsync-server.service" "$p/lib/systemd/system/"
install -m 0644 "$root/packaging/config/server.toml" "$p/etc/pwsync/server.toml"
doc "$p/usr/share/doc/pwsync-server" docs/operations.md
control "$p" pwsync-server "pwsync (= $version), adduser" "password synchronization: server" \
    "The pwsync server receives password changes from pwsync clients, decides each one against its ledger (newest wins, nothing applied twice, no password stored) and sets it in every configured target. It serves an operator console and Prometheus metrics on loopback. Runs as the pwsync user; its ledger lives in /var/lib/pwsync."
printf '/etc/pwsync/server.toml\n' > "$p/DEBIAN/conffiles"
scripts "$p" pwsync-server

# pwsync-client.
p="$stage/pwsync-client"
install -d -m 0755 "$p/lib/systemd/system" "$p/etc/pwsync"
install -m 0644 "$root/packaging/systemd/pwsync-client.service" "$p/lib/systemd/system/"
install -m 0644 "$root/packaging/config/client.toml" "$p/etc/pwsync/client.toml"
install -d -m 0700 "$p/var/spool/pwsync" "$p/var/spool/pwsync/failed"
doc "$p/usr/share/doc/pwsync-client" docs/operations.md
control "$p" pwsync-client "pwsync (= $version)" "password synchronization: client daemon" \
    "The pwsync client daemon runs on each domain controller or Linux host whose password changes are captured. It forwards the sealed changes in /var/spool/pwsync to the pwsync server over mutually authenticated TLS 1.3 and deletes each only after the server's final verdict."
printf '/etc/pwsync/client.toml\n' > "$p/DEBIAN/conffiles"
scripts "$p" pwsync-client

for package in pwsync pwsync-server pwsync-client; do
    deb="$out/${package}_${version}_${arch}.deb"
    dpkg-deb --root-owner-group "${compression[@]}" --build "$stage/$package" "$deb" >/dev/null
    echo "$deb"
done
