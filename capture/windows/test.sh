#!/usr/bin/env bash
# Builds and tests the pwsync LSA password filter DLL on Linux, under Wine (headless):
#
#   capture/windows/test.sh
#
# 1. format and clippy (Debian's Rust 1.63 clippy, warnings are errors);
# 2. build.sh: the DLL, with its three exports checked by objdump;
# 3. the unit tests of the DLL under Wine, and of the Linux tools on Linux;
# 4. scenarios: a harness (Windows program) loads the DLL with LoadLibraryW and calls the
#    exports with real UNICODE_STRINGs (pwsync-filter-cases: ASCII, non-ASCII, surrogate
#    pairs, empty, longest, odd byte length, unpaired surrogates, NULLs, 4 threads at once);
#    then verify (Linux) opens the records with pwsync-spool/pwsync-seal, as the client
#    daemon does, and checks the exact account and password of each, and the log. The error
#    scenarios — no configuration, an unreadable or wrong public key (repaired while the DLL
#    is loaded), a missing spool directory, a spool under a missing parent, a full disk (a
#    64 KiB tmpfs), registry configuration and a bad registry value — must not crash the
#    harness, must answer TRUE / STATUS_SUCCESS, and must say in the log what is wrong.
#
# Installs the Debian packages it needs; needs root for apt-get and for mounting the tmpfs.
# Prints one line per step; the output of each step is in target/test-logs/ and its end is
# shown when the step fails. Exits non-zero on the first failure.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
started=$SECONDS
rm -rf "$logs_dir"

# Before PATH is narrowed below: rustfmt compiles nothing, so the newest one is fine.
fmt_cargo="$(command -v cargo)"

ensure_packages "${build_packages[@]}" rust-clippy wine64 wine libgnutls30
check_toolchain
cd "$windows_dir"

own_packages=(-p pwsync-lsa-filter -p pwsync-filter-harness -p pwsync-filter-verify -p pwsync-filter-cases)
run_step "cargo fmt --check" "$fmt_cargo" fmt "${own_packages[@]}" -- --check
# Debian's cargo looks for cargo-clippy on PATH: it must find Debian's, not rustup's.
run_step "clippy for $windows_target (Rust 1.63, warnings are errors)" env PATH="/usr/bin:$PATH" \
    "$debian_cargo" clippy --locked --release --target "$windows_target" --all-targets \
    -p pwsync-lsa-filter -p pwsync-filter-harness -p pwsync-filter-cases -- -D warnings
run_step "clippy for Linux (Rust 1.63, warnings are errors)" env PATH="/usr/bin:$PATH" \
    "$debian_cargo" clippy --locked --release --all-targets -p pwsync-filter-verify -p pwsync-filter-cases \
    -- -D warnings

"$windows_dir/build.sh"
run_step "build the test harness for $windows_target" \
    "$debian_cargo" build --locked --release --target "$windows_target" -p pwsync-filter-harness
run_step "build verify and run the Linux unit tests" \
    "$debian_cargo" test --locked --release -p pwsync-filter-verify -p pwsync-filter-cases
"$debian_cargo" build --locked --release -p pwsync-filter-verify >>"$logs_dir/verify-build.log" 2>&1 \
    || fail "build verify (see $logs_dir/verify-build.log)"
verify="$CARGO_TARGET_DIR/release/pwsync-filter-verify"

work="$(mktemp -d /tmp/pwsync-windows-test.XXXXXX)"
export WINEPREFIX="$work/wineprefix"
export WINEDEBUG=-all
mounted=""
cleanup() {
    if [[ -n "$mounted" ]]; then umount "$mounted" || true; fi
    # Ends the wineserver of this test's own prefix only.
    if [[ -d "$WINEPREFIX" ]]; then wineserver -k >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

run_step "prepare a Wine prefix (first start of Wine)" wine wineboot --init
run_step "unit tests of the DLL and the case table under Wine" env CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine \
    "$debian_cargo" test --locked --release --target "$windows_target" -p pwsync-lsa-filter -p pwsync-filter-cases

"$verify" keygen "$work/keys" >/dev/null || fail "verify keygen"
public_key="$work/keys/spool.pub"
secret_key="$work/keys/spool.key"

# Z:\ is Wine's drive for /.
winpath() { printf 'Z:%s' "${1//\//\\}"; }

# install DIR: DIR/system32 gets the DLL and the harness, as a domain controller's System32.
install() {
    mkdir -p "$1/system32"
    cp "$dll_path" "$harness_path" "$1/system32/"
}

# configure DIR LINE...: pwsync-filter.conf next to the DLL in DIR/system32 (CRLF, as Notepad).
configure() {
    local dir=$1
    shift
    printf '%s\r\n' "# pwsync LSA filter test configuration" "$@" >"$dir/system32/pwsync-filter.conf"
}

# harness DIR ARGS...: runs the harness in DIR/system32 on the DLL next to it.
harness() {
    local dir=$1
    shift
    wine "$dir/system32/pwsync-filter-harness.exe" "$(winpath "$dir/system32/pwsync_filter.dll")" "$@"
}

# expect_log FILE TEXT: the log FILE contains TEXT (shows the log if not).
expect_log() {
    if ! grep -qF -- "$2" "$1" 2>/dev/null; then
        printf 'expected in %s: %s\n' "$1" "$2"
        cat "$1" 2>/dev/null || printf '(no log file)\n'
        return 1
    fi
}

# private DIR...: chmod 700. Wine creates directories with the Unix umask, and the Linux spool
# reader (rightly) refuses a spool that group or others can read; on Windows its ACL decides.
private() { chmod 700 "$@"; }

# --- every case, configuration from the file next to the DLL --------------------------------
a="$work/cases"
install "$a"
mkdir -p "$a/pwsync/spool" && private "$a/pwsync/spool"
configure "$a" "SpoolDirectory = $(winpath "$a/pwsync/spool")" "PublicKeyFile = $(winpath "$public_key")" \
    "Origin = wine-dc1.test"
run_step "harness: every case of the table and 4 concurrent threads (file configuration)" harness "$a" cases
step "$(grep -h 'slowest PasswordChangeNotify' "$logs_dir"/harness--every-case*.log | sed 's/^harness: //')"
private "$a/pwsync/spool" "$a/pwsync/spool/failed"
run_step "verify on Linux: each record opens and carries the exact account and password; the log explains each refusal" \
    "$verify" cases "$a/pwsync/spool" "$secret_key" "$a/pwsync/pwsync-filter.log" wine-dc1.test

# --- no configuration at all ------------------------------------------------------------------
b="$work/unconfigured"
install "$b"
run_step "harness: no configuration (the DLL loads, answers TRUE and STATUS_SUCCESS)" harness "$b" one no.config
run_step "the log next to the DLL says it is not configured and names the lost change" expect_log \
    "$b/system32/pwsync-filter.log" 'not configured: neither the registry key HKLM\SOFTWARE\pwsync\PasswordFilter nor the file'
expect_log "$b/system32/pwsync-filter.log" 'password change of account "no.config" (RID 3000) NOT captured' >/dev/null \
    || fail "the lost change is not named in the log"

# --- unreadable or wrong public key -------------------------------------------------------------
c="$work/key-missing"
install "$c"
mkdir -p "$c/keys" "$c/pwsync/spool" && private "$c/pwsync/spool"
configure "$c" "SpoolDirectory = $(winpath "$c/pwsync/spool")" "PublicKeyFile = $(winpath "$c/keys/spool.pub")"
run_step "harness: missing public key, put in place after InitializeChangeNotify" \
    harness "$c" copy-then-one "$(winpath "$public_key")" "$(winpath "$c/keys/spool.pub")" key.repaired
run_step "the log says the key cannot be read; the next change is captured without a reload" \
    expect_log "$c/pwsync/pwsync-filter.log" 'captured the password change of account "key.repaired"'
expect_log "$c/system32/pwsync-filter.log" "cannot read the spool public key file $(winpath "$c/keys/spool.pub")" >/dev/null \
    || fail "the missing key is not reported in the log next to the DLL"
private "$c/pwsync/spool/failed"
run_step "verify on Linux: the record after the repair" \
    "$verify" one "$c/pwsync/spool" "$secret_key" "$c/pwsync/pwsync-filter.log" key.repaired 1

d="$work/key-wrong"
install "$d"
mkdir -p "$d/pwsync/spool" "$d/keydir" && private "$d/pwsync/spool"
configure "$d" "SpoolDirectory = $(winpath "$d/pwsync/spool")" "PublicKeyFile = $(winpath "$secret_key")"
run_step "harness: PublicKeyFile holds the secret key" harness "$d" one key.wrong
run_step "the log says it is the wrong kind of key, without showing it" \
    expect_log "$d/system32/pwsync-filter.log" "is not usable: expected a public key file but this is a secret key file"
if grep -qF "$(cut -d' ' -f2 "$secret_key" | tr -d '\n')" "$d/system32/pwsync-filter.log"; then
    fail "the secret key appears in the log"
fi
configure "$d" "SpoolDirectory = $(winpath "$d/pwsync/spool")" "PublicKeyFile = $(winpath "$d/keydir")"
run_step "harness: PublicKeyFile is a directory (unreadable)" harness "$d" one key.unreadable
expect_log "$d/system32/pwsync-filter.log" "cannot read the spool public key file $(winpath "$d/keydir")" \
    >/dev/null || fail "the unreadable key is not reported"
run_step "verify on Linux: no record from the wrong or unreadable key" \
    "$verify" one "$d/pwsync/spool" "$secret_key" "$d/system32/pwsync-filter.log" key.wrong 0

# --- missing spool directory ----------------------------------------------------------------------
e="$work/spool-missing"
install "$e"
mkdir -p "$e/pwsync"
configure "$e" "SpoolDirectory = $(winpath "$e/pwsync/spool")" "PublicKeyFile = $(winpath "$public_key")"
run_step "harness: the spool directory does not exist (its parent does)" harness "$e" one spool.created
run_step "the DLL created it and says so" expect_log "$e/pwsync/pwsync-filter.log" \
    "created the missing spool directory $(winpath "$e/pwsync/spool") with access for SYSTEM and Administrators only"
private "$e/pwsync/spool" "$e/pwsync/spool/failed"
run_step "verify on Linux: the record in the created spool" \
    "$verify" one "$e/pwsync/spool" "$secret_key" "$e/pwsync/pwsync-filter.log" spool.created 1

f="$work/spool-parent-missing"
install "$f"
configure "$f" "SpoolDirectory = $(winpath "$f/typo/spool")" "PublicKeyFile = $(winpath "$public_key")" \
    "LogFile = $(winpath "$f/filter.log")"
run_step "harness: the spool directory's parent does not exist either" harness "$f" one spool.typo
run_step "the log says so and nothing was created" \
    expect_log "$f/filter.log" "does not exist and neither does its parent $(winpath "$f/typo")"
[[ ! -e "$f/typo" ]] || fail "the DLL created the missing parent $f/typo"

# --- full disk ----------------------------------------------------------------------------------------
g="$work/full-disk"
install "$g"
mkdir -p "$g/full"
mount -t tmpfs -o size=64k,mode=0700 tmpfs "$g/full" || fail "mount a 64 KiB tmpfs on $g/full (root needed)"
mounted="$g/full"
mkdir -m 700 "$g/full/spool"
configure "$g" "SpoolDirectory = $(winpath "$g/full/spool")" "PublicKeyFile = $(winpath "$public_key")" \
    "LogFile = $(winpath "$g/filter.log")"
run_step "harness: a first change on a small file system (64 KiB tmpfs) with room" harness "$g" one disk.full
dd if=/dev/zero of="$g/full/filler" bs=4k >/dev/null 2>&1 || true
run_step "harness: a change when that file system is full" harness "$g" one disk.full
run_step "the log names the lost change and the full disk" \
    expect_log "$g/filter.log" 'password change of account "disk.full" (RID 3000) NOT captured'
grep -qiE 'os error 112|space' "$g/filter.log" || { cat "$g/filter.log"; fail "the log does not say that the disk is full"; }
private "$g/full/spool/failed"
run_step "verify on Linux: still only the first record, no temporary file left behind" \
    "$verify" one "$g/full/spool" "$secret_key" "$g/filter.log" disk.full 1
configure "$g" "SpoolDirectory = $(winpath "$g/full/spool")" "PublicKeyFile = $(winpath "$public_key")"
run_step "harness: full disk with the log on it too" harness "$g" one disk.full
rm -f "$g/full/filler"
run_step "harness: a change once space is free again" harness "$g" one disk.full
run_step "verify on Linux: the first record and the one made after space came back" \
    "$verify" one "$g/full/spool" "$secret_key" "$g/filter.log" disk.full 2
umount "$g/full" && mounted=""

# --- registry configuration (last: it is shared by the whole Wine prefix) -----------------------------
h="$work/registry"
install "$h"
mkdir -p "$h/pwsync/spool" "$h/decoy" && private "$h/pwsync/spool"
# A file next to the DLL that must be ignored, because the registry key exists.
configure "$h" "SpoolDirectory = $(winpath "$h/decoy/spool")" "PublicKeyFile = $(winpath "$public_key")"
key='HKLM\SOFTWARE\pwsync\PasswordFilter'
run_step "registry: SpoolDirectory (REG_EXPAND_SZ with %PWSYNC_TEST_ROOT%)" \
    wine reg add "$key" /v SpoolDirectory /t REG_EXPAND_SZ /d '%PWSYNC_TEST_ROOT%\pwsync\spool' /f
run_step "registry: PublicKeyFile (REG_SZ)" wine reg add "$key" /v PublicKeyFile /t REG_SZ /d "$(winpath "$public_key")" /f
export PWSYNC_TEST_ROOT
PWSYNC_TEST_ROOT="$(winpath "$h")"
run_step "harness: configuration from the registry, origin from the computer name" harness "$h" one registry.user
unset PWSYNC_TEST_ROOT
run_step "the registry won over the file next to the DLL" expect_log "$h/pwsync/pwsync-filter.log" \
    'configuration from registry key HKLM\SOFTWARE\pwsync\PasswordFilter: spool directory '"$(winpath "$h/pwsync/spool")"
[[ ! -e "$h/decoy/spool" ]] || fail "the file configuration was used although the registry key exists"
private "$h/pwsync/spool/failed"
run_step "verify on Linux: the record written with the registry configuration" \
    "$verify" one "$h/pwsync/spool" "$secret_key" "$h/pwsync/pwsync-filter.log" registry.user 1
run_step "registry: an unknown value SpoolDir" wine reg add "$key" /v SpoolDir /t REG_SZ /d 'C:\x' /f
run_step "harness: a registry key with an unknown value" harness "$h" one registry.unknown
run_step "the log names the unknown value" expect_log "$h/system32/pwsync-filter.log" \
    'registry key HKLM\SOFTWARE\pwsync\PasswordFilter: unknown setting "SpoolDir"'
run_step "registry: remove the test key" wine reg delete 'HKLM\SOFTWARE\pwsync' /f

step "OK: the LSA filter DLL builds with Rust 1.63, exports its three functions and passed every test under Wine ($((SECONDS - started)) s)"
