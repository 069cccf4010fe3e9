#!/usr/bin/env bash
# Builds every fuzz target once and runs each for SECONDS (default 30), printing the executions
# per target as text and as one JSON line. Installs cargo-fuzz when missing. Uses the nightly
# toolchain when rustup has one, else stable with RUSTC_BOOTSTRAP=1 (libFuzzer's coverage flags
# need unstable options). A crash leaves its input in fuzz/artifacts/<target>/ and fails the run:
# fix it and copy the input into fuzz/regressions/<target>/.
#
# Usage: fuzz/run.sh [SECONDS]      FUZZ_TOOLCHAIN=stable|nightly to choose by hand,
#                                   FUZZ_PROFILE=dev|release (default release).
# The instrumented build goes to FUZZ_TARGET_DIR (default ~/.cache/pwsync/fuzz-target), outside
# the clone, so that a machine that ran it before rebuilds only what changed.
set -euo pipefail

seconds="${1:-30}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

toolchain="${FUZZ_TOOLCHAIN:-}"
if [ -z "$toolchain" ]; then
    if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then toolchain=nightly; else toolchain=stable; fi
fi
fuzz() {
    if [ "$toolchain" = nightly ]; then
        cargo +nightly fuzz "$@"
    else
        RUSTC_BOOTSTRAP=1 cargo fuzz "$@"
    fi
}

# No sanitizer: the code under test is safe Rust (the C in the tree is not reached by these
# inputs), and AddressSanitizer doubles the build time of the server's dependencies.
target_dir="${FUZZ_TARGET_DIR:-$HOME/.cache/pwsync/fuzz-target}"
mkdir -p "$target_dir"
# FUZZ_PROFILE=dev (what CI uses) compiles in about half the time of the optimised build and
# still runs hundreds of thousands of inputs per target in half a minute; release (the default)
# is for long runs.
if [ "${FUZZ_PROFILE:-release}" = dev ]; then
    build_flags=(-s none --dev --target-dir "$target_dir")
else
    build_flags=(-s none --release --debug-assertions --target-dir "$target_dir")
fi
targets=(record_open payload_decode wire_request config_parse ldap_filter)

echo "== building ${#targets[@]} fuzz targets ($toolchain)"
build_start=$(date +%s)
fuzz build "${build_flags[@]}"
echo "built in $(( $(date +%s) - build_start )) s"

json="{\"seconds_per_target\":$seconds,\"toolchain\":\"$toolchain\",\"executions\":{"
separator=""
for target in "${targets[@]}"; do
    # The committed seeds are read-only input; new finds go to a scratch corpus.
    scratch="$(mktemp -d)"
    log="$(mktemp)"
    echo "== fuzzing $target for ${seconds}s"
    status=0
    fuzz run "${build_flags[@]}" "$target" "$scratch" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    executions="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)"
    rm -rf "$scratch"
    if [ "$status" -ne 0 ]; then
        # The panic message first (libFuzzer's report after it is long), then the report.
        grep -m 3 -A 2 'panicked at' "$log" || true
        tail -n 25 "$log"
        rm -f "$log"
        echo "fuzz target $target FAILED (exit $status); its input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    rm -f "$log"
    echo "$target: $executions executions in ${seconds}s"
    json="$json$separator\"$target\":$executions"
    separator=","
done
echo "$json}}"
