# Sourced by build.sh and test.sh: Debian's Rust 1.63 toolchain for the LSA filter DLL, the
# package check, and the one-line-per-step output. Not meant to be run by itself.
#
# Debian's rustc 1.63 is the only Rust with a Windows standard library here (rustup has the
# Linux target only), so cargo must never pick rustup's rustc, rustdoc or clippy from PATH.
# The crates.io git index is unreachable: Debian's cargo needs the sparse protocol switched
# on. The lock file (Cargo.lock, version 3) is made for 1.63 by rustup's cargo; see Cargo.toml.

windows_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
windows_target=x86_64-pc-windows-gnu
export RUSTC=/usr/bin/rustc
export RUSTDOC=/usr/bin/rustdoc
export CARGO_UNSTABLE_SPARSE_REGISTRY=true
export CARGO_TARGET_DIR="$windows_dir/target"
unset RUSTUP_TOOLCHAIN CARGO_BUILD_TARGET RUSTFLAGS CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER
debian_cargo=/usr/bin/cargo
dll_path="$CARGO_TARGET_DIR/$windows_target/release/pwsync_filter.dll"
harness_path="$CARGO_TARGET_DIR/$windows_target/release/pwsync-filter-harness.exe"
logs_dir="$CARGO_TARGET_DIR/test-logs"

step() { printf '==> windows: %s\n' "$*"; }
fail() {
    printf '==> windows: FAILED: %s\n' "$*" >&2
    exit 1
}

# run NAME COMMAND...: one line for the step; the command's output goes to a log file that is
# shown (its end) only if the command fails.
run_step() {
    local name=$1
    shift
    step "$name"
    mkdir -p "$logs_dir"
    local log="$logs_dir/$(printf '%s' "$name" | tr -c 'A-Za-z0-9' '-' | cut -c1-60).log"
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        fail "$name (whole output: $log)"
    fi
}

# ensure_packages PACKAGE...: installs the Debian packages that are missing.
ensure_packages() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
    done
    ((${#missing[@]} == 0)) && return 0
    step "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The package lists are refreshed only if the install fails without them.
    if ! apt-get install -y --no-install-recommends "${missing[@]}" >"/tmp/pwsync-windows-apt.log" 2>&1; then
        apt-get update >>"/tmp/pwsync-windows-apt.log" 2>&1 || fail "apt-get update (see /tmp/pwsync-windows-apt.log)"
        apt-get install -y --no-install-recommends "${missing[@]}" >>"/tmp/pwsync-windows-apt.log" 2>&1 \
            || fail "apt-get install ${missing[*]} (see /tmp/pwsync-windows-apt.log)"
    fi
}

# The packages that build the DLL (objdump comes with the MinGW compiler's binutils).
build_packages=(rustc cargo libstd-rust-dev-windows gcc-mingw-w64-x86-64)

check_toolchain() {
    local version
    version="$("$RUSTC" --version)"
    case "$version" in
        "rustc 1.63."*) ;;
        *) fail "expected Debian's rustc 1.63 at $RUSTC, found: $version" ;;
    esac
}

# check_exports DLL: the three LSA entry points must be exported under their plain names.
check_exports() {
    local exports name
    exports="$(x86_64-w64-mingw32-objdump -p "$1" | sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p')"
    for name in InitializeChangeNotify PasswordFilter PasswordChangeNotify; do
        grep -Eq "\] ${name}\$" <<<"$exports" || { printf 'export %s missing from %s:\n%s\n' "$name" "$1" "$exports"; return 1; }
    done
    printf '%s\n' "$exports"
}
