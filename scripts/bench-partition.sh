#!/usr/bin/env bash
# bench-partition.sh: a 50,000-file tree (8 KiB each, as bench-scan.sh's set (b)) scanned
# as 4 partitions by 4 processes at once into one registry, then sealed; compared, in the
# same run, with one scan of the whole tree. Checks that the sealed root hash equals the
# single scan's (FAIL otherwise) and prints the times. Data is generated under /tmp and
# removed at exit unless BENCH_KEEP=1. Environment: BENCH_PARTS=4, PROVTRACK=path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
parts=${BENCH_PARTS:-4}
note() { echo "bench: $*" >&2; }
work=$(mktemp -d /tmp/provtrack-partition.XXXXXX)
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
built=${PROVTRACK:-$root/target/release/provtrack}
[ -x "$built" ] || (cd "$root" && cargo build --release >&2)
cp "$built" "$work/provtrack"
pt="$work/provtrack"

note "generating 50,000 files of 8 KiB in $work/b"
python3 - "$work" <<'EOF'
import hashlib, os, sys
work = sys.argv[1]
for i in range(50000):
    d = f"{work}/b/d{i // 1000:02}/e{(i // 100) % 10}"
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    with open(f"{d}/f{i:05}.bin", "wb") as out:
        out.write(hashlib.shake_128(b"provtrack-bench-b-%d" % i).digest(8192))
EOF
find "$work/b" -type f -exec cat {} + >/dev/null

now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
root_of() { python3 -c "import json,sys; print(json.load(sys.stdin)['root'])"; }

t0=$(now)
single=$("$pt" --registry "$work/single.db" -q scan "$work/b" --dataset b@1 --format json | root_of)
t_single=$(secs "$t0" "$(now)")

db="$work/parts.db"
"$pt" --registry "$db" -q init >/dev/null
t0=$(now)
pids=()
for k in $(seq 1 "$parts"); do
    "$pt" --registry "$db" -q scan "$work/b" --dataset b@1 --partition "$k/$parts" --format json > "$work/part$k.json" &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
t_parts=$(secs "$t0" "$(now)")
t0=$(now)
sealed=$("$pt" --registry "$db" -q dataset seal b@1 --format json | root_of)
t_seal=$(secs "$t0" "$(now)")
ok=$("$pt" --registry "$db" -q verify --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['ok'])")

same=FAIL
[ "$failed" = 0 ] && [ "$sealed" = "$single" ] && same=PASS
echo "provtrack partitioned scan benchmark: $(nproc) cores, 50,000 files of 8 KiB"
printf '%-56s %10s  %s\n' "single scan (s)" "$t_single" ""
printf '%-56s %10s  %s\n' "$parts partitions by $parts processes at once (s)" "$t_parts" ""
printf '%-56s %10s  %s\n' "dataset seal (s)" "$t_seal" ""
printf '%-56s %10s  %s\n' "sealed root = single-scan root (verify ok=$ok)" "${sealed:0:12}" "$same"
