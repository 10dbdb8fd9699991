#!/usr/bin/env bash
# Registry benchmark (issue: policy engine and auditor queries). Builds a synthetic registry
# of 1,000,000 shards in 2,000 datasets from 200 sources with 500 training runs — through
# the same registry calls as `apply` and `scan` (`provtrack bench-registry`, hidden) — in a
# temporary directory, then times the auditor's queries against their targets:
#   report < 2 s, audit SOURCE < 1 s, lineage of a model < 200 ms, registry file < 500 MB,
#   verify (chain, state digests, every root hash, every version's totals) < 10 s, and the
#   cost of appending one event (`train` of one run: state digests read before and after).
# Prints one line per figure with PASS/FAIL; exits 0 whatever the figures.
# Environment: BENCH_RUNS=5, BENCH_KEEP=1 (keep the registry), PROVTRACK=path.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-5}
provtrack=${PROVTRACK:-$here/target/release/provtrack}
[ -x "$provtrack" ] || (cd "$here" && cargo build --release >&2)
command -v hyperfine >/dev/null || { echo "bench: hyperfine is needed (apt-get install hyperfine)" >&2; exit 2; }
work=$(mktemp -d /tmp/provtrack-registry.XXXXXX)
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
db="$work/registry.db"

echo "bench: building the synthetic registry in $db" >&2
start=$(date +%s.%N)
"$provtrack" --registry "$db" -q bench-registry --format json > "$work/built.json"
build=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
size_mb=$(python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1]) / 1e6:.0f}')" "$db")

mean() {
    hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$work/t.json" "$1" >/dev/null 2>&1
    python3 -c "import json,sys; print(f\"{json.load(open(sys.argv[1]))['results'][0]['mean']:.3f}\")" "$work/t.json"
}
verdict() { python3 -c "import sys; print('PASS' if float(sys.argv[1]) < float(sys.argv[2]) else 'FAIL')" "$1" "$2"; }
q="$provtrack --registry $db -q"
t_report=$(mean "$q report --format json")
t_audit=$(mean "$q audit s001 --format json")
t_lineage=$(mean "$q lineage m042 --format json")
t_lineage_src=$(mean "$q lineage s010 --direction down --format json")
t_verify=$(mean "$q verify --format json")
# One append: a training run re-recorded (an upsert, so every run appends the same state).
t_append=$(mean "$q train mbench --org org1 --date 2024-01-01 --dataset d0001@1")
findings=$($q report --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['summary']['findings'])")

echo "provtrack registry benchmark: $(nproc) cores, $runs runs each"
printf '%-52s %10s  %-12s %s\n' "measurement" "value" "target" ""
printf '%-52s %10s  %-12s %s\n' "build 1,000,000 shards / 2,000 datasets (s)" "$build" "" ""
printf '%-52s %10s  %-12s %s\n' "registry file (MB)" "$size_mb" "< 500" "$(verdict "$size_mb" 500)"
printf '%-52s %10s  %-12s %s\n' "report, $findings findings (s)" "$t_report" "< 2" "$(verdict "$t_report" 2)"
printf '%-52s %10s  %-12s %s\n' "audit s001 (s)" "$t_audit" "< 1" "$(verdict "$t_audit" 1)"
printf '%-52s %10s  %-12s %s\n' "lineage m042, both directions (s)" "$t_lineage" "< 0.2" "$(verdict "$t_lineage" 0.2)"
printf '%-52s %10s  %-12s %s\n' "lineage s010 --direction down (s)" "$t_lineage_src" "" ""
printf '%-52s %10s  %-12s %s\n' "verify, whole registry (s)" "$t_verify" "< 10" "$(verdict "$t_verify" 10)"
printf '%-52s %10s  %-12s %s\n' "append one event (train, s)" "$t_append" "" ""
