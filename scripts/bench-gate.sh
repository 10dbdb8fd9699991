#!/usr/bin/env bash
# bench-gate.sh: benchmark the pre-training gate and the event-chain check (issue 6), on
# data generated deterministically in a temporary directory under /tmp (never in git;
# removed at exit unless BENCH_KEEP=1).
#
#   gate DIR on an already-registered 50,000-file tree, warm state cache     target < 1.5 s
#     (every file hashed: the cache only saves re-parsing unchanged bytes)
#   gate DIR --trust-cache on the same tree (size, mtime, inode trusted)     target < 1 s
#   verify of a 100,000-event chain                                          target < 1 s
#
# The tree: 50,000 JSON Lines files of ~8 KiB (40 records each, URLs of twitter, reddit,
# wikipedia and unattributed hosts) in 50 x 10 directories, applied policy with the three
# sources, scanned once as bench@1. Measured, each the median of BENCH_RUNS runs (default 5)
# after a warm-up, by hyperfine, in the same run:
#   - `gate DIR` on the registered tree (judged as bench@1: the root hash matches), and
#     the same with `--trust-cache`
#   - `gate DIR` on the same tree plus 500 new files (root differs: every shard looked up,
#     new ones attributed by URL)
#   - `gate --dataset bench@1` (registry only)
#   - `scan DIR` unchanged re-scan and `b3sum` of every file, as peers: the gate reads the
#     directory as a re-scan does, and b3sum is what hashing the tree from scratch costs
# The chain: a registry of 100,000 `gate` events (plus a small synthetic registry: 5
# datasets of 100 shards) built by the hidden `bench-registry --events`, then `verify`.
#
# Prints one line per figure with PASS/FAIL for the targets; exits 0 whatever the figures
# (2 when hyperfine is missing). Environment: BENCH_RUNS=5, BENCH_KEEP=1, PROVTRACK=path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-5}
export PATH="$HOME/.cargo/bin:$PATH"
note() { echo "bench: $*" >&2; }
command -v hyperfine >/dev/null || { note "hyperfine is needed (apt-get install hyperfine)"; exit 2; }
work=$(mktemp -d /tmp/provtrack-gate.XXXXXX)
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
built=${PROVTRACK:-$root/target/release/provtrack}
[ -x "$built" ] || (cd "$root" && cargo build --release >&2)
# Copied so that a rebuild during the run does not change what is measured.
cp "$built" "$work/provtrack"
pt="$work/provtrack"

note "generating 50,000 JSON Lines files in $work/tree"
python3 - "$work" <<'EOF'
import os, sys
work = sys.argv[1]
hosts = ["twitter.com", "x.com", "www.reddit.com", "en.wikipedia.org", "example.org", "notx.com"]
for i in range(50000):
    d = f"{work}/tree/d{i // 1000:02}/e{(i // 100) % 10}"
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    lines = []
    for r in range(40):
        n = i * 40 + r
        h = hosts[(n * 7 + i) % len(hosts)]
        lines.append('{"id":%d,"text":"record %d of shard %d, some words to make it about two hundred bytes long like a short post would be, nothing more","url":"https://%s/p/%d"}' % (n, r, i, h, n))
    with open(f"{d}/f{i:05}.jsonl", "w") as out:
        out.write("\n".join(lines) + "\n")
os.makedirs(f"{work}/extra", exist_ok=True)
for i in range(500):
    with open(f"{work}/extra/n{i:03}.jsonl", "w") as out:
        out.write('{"id":%d,"url":"https://twitter.com/new/%d"}\n' % (i, i))
EOF
cat > "$work/policy.toml" <<'EOF'
[[source]]
id = "twitter"
domains = ["twitter.com", "x.com"]
[[source]]
id = "reddit"
domains = ["reddit.com"]
[[source]]
id = "wikipedia"
domains = ["wikipedia.org"]
[[grant]]
source = "wikipedia"
licence = "CC-BY-SA-4.0"
grantee = "*"
from = "2001-01-01"
EOF
db="$work/gate.db"
q="$pt --registry $db -q"
$q apply "$work/policy.toml" >/dev/null
note "first scan of the tree"
$q scan "$work/tree" --dataset bench@1 --org acme --collected 2024-01-01 >/dev/null
# The grown tree: the same files plus 500 new ones, as a second directory of hard links so
# the registered tree stays as it is.
cp -al "$work/tree" "$work/grown"
cp -r "$work/extra" "$work/grown/extra"
# Gate never writes scan state, so the grown tree has none: every file is read and hashed
# (page cache warm), every shard looked up. Both trees' pages are read once first.
find "$work/tree" "$work/grown" -type f -exec cat {} + >/dev/null

median() { # name command...; prints the median seconds
    local name=$1; shift
    hyperfine -N -i --style none --warmup 1 --runs "$runs" --export-json "$work/$name.json" "$@" >/dev/null 2>&1
    python3 -c "import json,sys; print(f\"{json.load(open(sys.argv[1]))['results'][0]['median']:.3f}\")" "$work/$name.json"
}
verdict() { python3 -c "import sys; print('PASS' if float(sys.argv[1]) < float(sys.argv[2]) else 'FAIL')" "$1" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }

note "timing"
gate_flags="--org acme --date 2024-06-01 --use commercial --allow-unknown"
t_gate=$(median gate "$q gate $work/tree $gate_flags --format json")
t_trust=$(median trust "$q gate $work/tree $gate_flags --trust-cache --format json")
t_grown=$(median grown "$q gate $work/grown $gate_flags --format json")
t_ds=$(median dataset "$q gate --dataset bench@1 $gate_flags --format json")
t_rescan=$(median rescan "$q scan $work/tree --dataset bench@1 --org acme --collected 2024-01-01 --format json")
files=$(find "$work/tree" -type f | wc -l)
find "$work/tree" -type f > "$work/list"
t_b3=$(median b3sum "sh -c 'xargs -a $work/list b3sum > /dev/null'")
matches=$({ $q gate "$work/tree" $gate_flags --format json || true; } | python3 -c "import json,sys; print(json.load(sys.stdin)['dir']['matches'])")
new=$({ $q gate "$work/grown" $gate_flags --format json || true; } | python3 -c "import json,sys; d=json.load(sys.stdin)['dir']; print(d['registered_shards'], d['new_shards'])")

note "building a 100,000-event chain"
chain="$work/chain.db"
$pt --registry "$chain" -q bench-registry --sources 5 --datasets 5 --shards-per-dataset 100 --runs 2 --events 100000 --format json > "$work/chain.json"
events=$($pt --registry "$chain" -q log --format json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
t_verify=$(median verify "$pt --registry $chain -q verify --format json")
ok=$({ $pt --registry "$chain" -q verify --format json || true; } | python3 -c "import json,sys; print(json.load(sys.stdin)['ok'])")

echo "provtrack gate/verify benchmark: $(nproc) cores, median of $runs runs each"
printf '%-58s %9s  %-8s %s\n' "measurement" "value" "target" ""
printf '%-58s %9s  %-8s %s\n' "gate DIR, registered $files-file tree, warm (s)" "$t_gate" "< 1.5" "$(verdict "$t_gate" 1.5)"
printf '%-58s %9s  %-8s %s\n' "  judged as: $matches" "" "" ""
printf '%-58s %9s  %-8s %s\n' "  / unchanged re-scan of the tree ($t_rescan s)" "$(ratio "$t_gate" "$t_rescan")" "" ""
printf '%-58s %9s  %-8s %s\n' "  b3sum of every file ($t_b3 s) / gate DIR" "$(ratio "$t_b3" "$t_gate")" "" ""
printf '%-58s %9s  %-8s %s\n' "gate DIR --trust-cache, same tree (s)" "$t_trust" "< 1" "$(verdict "$t_trust" 1)"
printf '%-58s %9s  %-8s %s\n' "gate DIR, tree + 500 new files, no state cache (s)" "$t_grown" "" ""
printf '%-58s %9s  %-8s %s\n' "  shards registered / new: $new" "" "" ""
printf '%-58s %9s  %-8s %s\n' "gate --dataset bench@1 (s)" "$t_ds" "" ""
printf '%-58s %9s  %-8s %s\n' "verify, $events-event chain, ok=$ok (s)" "$t_verify" "< 1" "$(verdict "$t_verify" 1)"
