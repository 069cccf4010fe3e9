#!/usr/bin/env bash
# Builds the pwsync LSA password filter DLL with one command:
#
#   capture/windows/build.sh
#
# Installs the Debian packages it needs (rustc 1.63, its Windows standard library, MinGW),
# builds target/x86_64-pc-windows-gnu/release/pwsync_filter.dll from the committed Cargo.lock,
# checks that it exports InitializeChangeNotify, PasswordFilter and PasswordChangeNotify,
# and prints its path. Installation on a domain controller: docs/deploy-windows.md.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"

ensure_packages "${build_packages[@]}"
check_toolchain
cd "$windows_dir"
run_step "build the DLL for $windows_target (Rust 1.63, --locked, release)" \
    "$debian_cargo" build --locked --release --target "$windows_target" -p pwsync-lsa-filter
run_step "check the DLL's exports (objdump -p)" check_exports "$dll_path"
step "DLL: $dll_path"
