#!/usr/bin/env bash
# The capture hook's cost beside its physical floor, measured in the same run:
#   spawn  — starting and reaping /bin/true (the cost of any hook process)
#   floor  — writing a record-sized file durably the way the spool does (temp file, fsync,
#            rename, directory fsync), in-process
#   hook   — `pwsync-capture` sealing a password from stdin into a spool
# Prints p50/p99 in milliseconds as text and JSON (target/bench-hook.json).
#
#   scripts/bench-hook.sh [RUNS]      (default 500 runs each; about 10 s)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${1:-500}
cargo build --release --locked -p pwsync --bin pwsync-capture --bin pwsync >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
target/release/pwsync keygen --out "$work/keys" >/dev/null
python3 - "$runs" "$work" <<'PY'
import json, os, subprocess, sys, time
runs, work = int(sys.argv[1]), sys.argv[2]
hook = ["target/release/pwsync-capture", "--spool", f"{work}/spool", "--key", f"{work}/keys/spool.pub",
        "--account", "alice", "--origin", "bench"]

def quantiles(samples):
    samples.sort()
    pick = lambda q: samples[min(len(samples) - 1, max(0, int(q * len(samples) + 0.5) - 1))]
    return {"p50_ms": round(pick(0.50), 3), "p99_ms": round(pick(0.99), 3)}

def timed(action):
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        action(i)
        samples.append((time.perf_counter() - start) * 1000)
    return quantiles(samples)

floor_dir = f"{work}/floor"
os.makedirs(floor_dir, mode=0o700)
record = os.urandom(300)  # a typical sealed record is 200-400 bytes

def floor(i):
    temporary = f"{floor_dir}/.tmp-{i}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, record); os.fsync(fd); os.close(fd)
    os.rename(temporary, f"{floor_dir}/{i}.pws")
    dfd = os.open(floor_dir, os.O_RDONLY); os.fsync(dfd); os.close(dfd)

results = {
    "runs": runs,
    "spawn": timed(lambda i: subprocess.run(["/bin/true"], check=True)),
    "floor": timed(floor),
    "hook": timed(lambda i: subprocess.run(hook, input=b"pwsync-canary-bench-Aa1!", check=True)),
}
results["hook_over_floor_p99"] = round(results["hook"]["p99_ms"] / results["floor"]["p99_ms"], 2)
results["hook_over_spawn_plus_floor_p99"] = round(
    results["hook"]["p99_ms"] / (results["floor"]["p99_ms"] + results["spawn"]["p99_ms"]), 2)
for name in ("spawn", "floor", "hook"):
    print(f"{name:6} p50 {results[name]['p50_ms']:7.3f} ms   p99 {results[name]['p99_ms']:7.3f} ms")
print(f"hook p99 / floor p99: {results['hook_over_floor_p99']}   "
      f"hook p99 / (spawn + floor) p99: {results['hook_over_spawn_plus_floor_p99']}")
os.makedirs("target", exist_ok=True)
with open("target/bench-hook.json", "w") as out:
    json.dump(results, out, indent=2)
print("JSON: target/bench-hook.json")
PY
