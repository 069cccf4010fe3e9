#!/usr/bin/env bash
# Runs every check and test of pwsync, installing the Debian packages they need when missing.
# This is the command the README names and the one CI runs (.ci/run calls it).
#
#   scripts/test-all.sh            everything: format, lints, unit + end-to-end tests, Rust 1.63 check
#   PWSYNC_SKIP_MSRV=1 scripts/test-all.sh   skip the Rust 1.63 check of the hook crates
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

# Debian packages the tests use (one per line, with the reason):
packages=(
    python3   # the recording exec target of the end-to-end tests
    python3-venv   # the virtual environment schemathesis is installed into (below)
    rustc                     # Rust 1.63: builds the Windows LSA filter DLL (capture/windows)
    cargo                     # Debian's cargo for that Rust 1.63 build
    libstd-rust-dev-windows   # the Windows standard library for Rust 1.63 (the DLL's target)
    gcc-mingw-w64-x86-64      # MinGW linker and objdump for the DLL
    rust-clippy               # clippy for Rust 1.63, lints the DLL's workspace
    wine64                    # runs the DLL's harness and unit tests (headless)
    wine                      # the wine launcher for wine64
    libgnutls30               # Wine's crypto backend (bcrypt)
    libpam0g-dev   # libpam.so to link capture/pam_pwsync against (the workspace does not build without it)
    pamtester      # drives real PAM password changes in capture/pam_pwsync/tests/pamtester.rs
    passwd         # useradd/userdel for the throw-away user of that test
    slapd          # a real OpenLDAP directory for crates/pwsync-server/tests/ldap_target.rs
    ldap-utils     # ldapsearch: readiness probe of the Samba AD test DC; inspecting slapd by hand
    samba          # a real Samba AD DC: the ldap target's active-directory mode (ldap_target.rs) and the
                   # Samba hook end to end (crates/pwsync/tests/samba.rs)
    samba-ad-dc    # the AD DC role of that Samba
    winbind        # needed by the Samba AD DC
    samba-ad-provision   # provisioning templates (only recommended; this script skips recommends)
    samba-dsdb-modules   # the AD database modules (only recommended)
    samba-common-bin     # smbpasswd -r: a user's own password change over SAMR in samba.rs
    chromium       # headless browser driving the operator console in crates/pwsync/tests/console.rs
    systemd        # systemd-analyze verify of packaging/systemd/*.service (crates/pwsync/tests/service.rs)
    faketime       # libfaketime: one DC's clock skewed by minutes in the fault-injection test (crates/pwsync/tests/chaos.rs)
    openssl        # the certificate command of docs/target-graph.md, run by crates/pwsync/tests/docs.rs
    lintian        # checks the Debian packages in crates/pwsync/tests/packaging.rs
    mmdebstrap     # the clean Debian root that test installs, upgrades and purges the packages in
    binutils       # objcopy and readelf: the packages' debug information kept apart (packaging/build-debs.sh)
    dpkg-dev       # dpkg-shlibdeps: the library dependencies cargo-deb writes into the pwsync package
)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} > 0)); then
    step "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${missing[@]}" \
        || { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
fi

# schemathesis, the property-based tester of crates/pwsync/tests/api_conformance.rs, at the
# version pinned in ci/schemathesis/requirements.txt, in a virtual environment of its own.
requirement="$(grep -v '^#' ci/schemathesis/requirements.txt)"
if ! target/schemathesis/bin/pip freeze 2>/dev/null | grep -qxF "$requirement"; then
    step "installing $requirement (target/schemathesis)"
    python3 -m venv target/schemathesis
    target/schemathesis/bin/pip install --quiet -r ci/schemathesis/requirements.txt
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

# cargo-deb builds the Debian packages of crates/pwsync/tests/packaging.rs; the version is pinned
# in packaging/build-debs.sh.
cargo_deb_version="$(sed -n 's/^cargo_deb_version=//p' packaging/build-debs.sh)"
if [[ "$(cargo deb --version 2>/dev/null)" != *"$cargo_deb_version"* ]]; then
    step "installing cargo-deb $cargo_deb_version"
    cargo install --locked cargo-deb --version "$cargo_deb_version"
fi

step "cargo test (unit and end-to-end tests)"
cargo test --workspace --locked
step "API conformance (schemathesis against a real server), as kept in target/api-conformance.txt"
sed -n '/SUMMARY/,$p' target/api-conformance.txt

if [[ "${PWSYNC_SKIP_MSRV:-0}" != 1 ]]; then
    step "Rust 1.63 build of the hook crates (pwsync-seal, pwsync-spool)"
    ci/msrv/check.sh
fi

step "Windows LSA filter DLL under Wine"
capture/windows/test.sh

# Fuzzing: every fuzz target for a short time (installs cargo-fuzz when missing); the committed
# corpus itself is replayed by `cargo test` above (pwsync-fuzz-checks).
fuzz_seconds="${PWSYNC_FUZZ_SECONDS:-30}"
step "fuzzing (each fuzz target for ${fuzz_seconds} s)"
# The dev profile (hot dependencies optimised) keeps the cold build to about three minutes.
FUZZ_PROFILE="${FUZZ_PROFILE:-dev}" fuzz/run.sh "$fuzz_seconds"

step "all checks passed"
