#!/usr/bin/env bash
# The backbone benchmark: capture hook latency, end-to-end latency at light load, and the
# throughput of draining a backlog, each with `pwsync demo` on this machine (real processes,
# TLS, SQLite, fsync). Prints each run's summary as text and writes all of them as JSON to
# target/bench-backbone.json.
#
#   scripts/bench-backbone.sh            (about two minutes after the release build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --locked -p pwsync
pwsync=target/release/pwsync
out=target/bench-backbone.json

run() {
    local name=$1; shift
    printf '\n== %s: pwsync demo %s\n' "$name" "$*"
    local json
    json=$("$pwsync" demo --json "$@")
    python3 - "$name" "$*" "$json" "$out.tmp" <<'PY'
import json, sys
name, args, summary, collected = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
with open(collected, "a") as out:
    out.write(json.dumps({"run": name, "args": args, "summary": summary}) + "\n")
for key in ("hook_p50_ms", "hook_p99_ms", "end_to_end_p50_ms", "end_to_end_p99_ms",
            "throughput_per_second", "applied", "superseded_by_server", "superseded_locally",
            "failed_records", "files_with_a_password"):
    print(f"  {key:24} {summary[key]:.2f}" if isinstance(summary[key], float) else f"  {key:24} {summary[key]}")
PY
}

rm -f "$out.tmp"
run light-load   --changes 600 --accounts 600 --rate 20 --parallel 1
run full-speed   --changes 10000 --accounts 10000 --parallel 4
run backlog      --changes 10000 --accounts 10000 --parallel 4 --backlog
python3 -c "import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])], indent=2))" "$out.tmp" > "$out"
rm -f "$out.tmp"
printf '\nJSON: %s\n' "$out"
