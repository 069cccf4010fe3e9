#!/usr/bin/env bash
# Rust 1.63 check for the crates the capture hooks link (pwsync-seal, pwsync-spool).
#
# The Windows LSA filter DLL and the PAM module are built with Debian's rustc 1.63 (the only
# Rust with a Windows standard library on this platform), so these crates must build with
# it, for Linux and for x86_64-pc-windows-gnu, from the committed Cargo.lock in this
# directory. Installs what it needs, prints one line per step, exits non-zero on failure.
# With PWSYNC_MSRV_WINE=1 it also runs the Windows test binaries under Wine (installing
# wine64 if needed; about a minute more).
#
# Regenerate the lock file after changing the crates' dependencies, with rustup's cargo:
#   cd ci/msrv && CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo generate-lockfile
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
packages=(rustc cargo libstd-rust-dev-windows gcc-mingw-w64-x86-64)
windows_target=x86_64-pc-windows-gnu

step() { printf '==> msrv: %s\n' "$*"; }
fail() {
    printf '==> msrv: FAILED: %s\n' "$*" >&2
    exit 1
}

step "checking Debian packages: ${packages[*]}"
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done
if ((${#missing[@]} > 0)); then
    step "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The package lists are refreshed only if the install fails without them.
    if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
        step "install failed; running apt-get update and trying again"
        apt-get update || fail "apt-get update"
        apt-get install -y --no-install-recommends "${missing[@]}" || fail "apt-get install ${missing[*]}"
    fi
fi

# Debian's toolchain explicitly, never rustup's: cargo would otherwise run the rustc and
# rustdoc found first on PATH. The git index is unreachable here; Debian's cargo needs
# the sparse protocol switched on.
export RUSTC=/usr/bin/rustc
export RUSTDOC=/usr/bin/rustdoc
export CARGO_UNSTABLE_SPARSE_REGISTRY=true
export CARGO_TARGET_DIR="$here/target"
unset RUSTUP_TOOLCHAIN CARGO_BUILD_TARGET RUSTFLAGS
cargo=/usr/bin/cargo

rustc_version="$("$RUSTC" --version)"
step "toolchain: $rustc_version, $("$cargo" --version)"
case "$rustc_version" in
    "rustc 1.63."*) ;;
    *) fail "expected Debian's rustc 1.63, found: $rustc_version" ;;
esac

cd "$here"

step "build for the host (--locked)"
"$cargo" build --locked || fail "host build with Rust 1.63"

step "build for $windows_target (--locked)"
"$cargo" build --locked --target "$windows_target" || fail "$windows_target build with Rust 1.63"

step "test on the host (--locked)"
"$cargo" test --locked || fail "tests with Rust 1.63"

step "build the tests for $windows_target (--locked)"
"$cargo" test --locked --no-run --target "$windows_target" || fail "$windows_target test build with Rust 1.63"

if [[ "${PWSYNC_MSRV_WINE:-0}" == 1 ]]; then
    if ! command -v wine >/dev/null; then
        step "installing wine64"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wine64 wine libgnutls30 \
            || fail "apt-get install wine64"
    fi
    step "test for $windows_target under Wine"
    WINEPREFIX="$(mktemp -d)" WINEDEBUG=-all \
        CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine \
        "$cargo" test --locked --target "$windows_target" || fail "$windows_target tests under Wine"
fi

step "OK: pwsync-seal and pwsync-spool build (host, $windows_target) and pass their tests with $rustc_version"
