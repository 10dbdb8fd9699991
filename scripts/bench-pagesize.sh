#!/usr/bin/env bash
# bench-pagesize.sh: what the registry's page size changes (issue 18). A new registry is
# created with 16 KiB pages; one created before has SQLite's 4 KiB, and provtrack keeps the
# size a file has. The 4 KiB registries here are made the way an older provtrack left them:
# an empty WAL file with 4 KiB pages, which provtrack then migrates (and keeps at 4 KiB).
#
# Measures, for each page size, interleaved, median of BENCH_RUNS:
#   first scan of 50,000 files of 8 KiB (set (b) of bench-scan.sh) into a fresh registry:
#     wall time and the `register` phase of `scan -v`;
#   with BENCH_BIG=1 also, on a 1,000,000-shard registry (`provtrack bench-registry`):
#     its build (2,000 registrations), a 500-file scan into it, the 50,000-file scan into
#     it (each into a fresh copy), and `report`.
# Environment: BENCH_RUNS=5, BENCH_BIG=1, BENCH_DATA=dir (reuse data: files under DIR/b),
#   BENCH_KEEP=1, PROVTRACK=path (default target/release/provtrack, built when missing).
# Exit status: 0 when every measurement ran, 2 when a tool is missing or a run failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-5}
pt=${PROVTRACK:-$root/target/release/provtrack}
note() { echo "bench: $*" >&2; }
[ -x "$pt" ] || (cd "$root" && cargo build --release >&2)
command -v python3 >/dev/null || { note "python3 is needed"; exit 2; }
work=$(mktemp -d /tmp/provtrack-pagesize.XXXXXX)
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
data=${BENCH_DATA:-$work}

if [ ! -d "$data/b" ]; then
    note "generating 50,000 files of 8 KiB in $data/b"
    python3 - "$data/b" <<'EOF'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(18)
for k in range(50000):
    d = os.path.join(root, f"d{k // 1000:02d}", f"e{(k // 100) % 10}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{k:05d}.bin"), "wb") as f:
        f.write(rnd.randbytes(8192))
EOF
fi
mkdir -p "$work/small"
find "$data/b" -type f | sort | awk "NR <= 500" | while read -r f; do cp "$f" "$work/small/"; done
find "$data/b" -type f -print0 | xargs -0 cat >/dev/null # warm the page cache

# fresh DB SIZE: an empty registry path; 4096 is pre-created as an older provtrack left it.
fresh() {
    rm -f "$1" "$1-wal" "$1-shm"
    if [ "$2" = 4096 ]; then
        python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA page_size=4096'); c.execute('PRAGMA journal_mode=WAL'); c.close()" "$1"
    fi
}
size_of() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA page_size').fetchone()[0])" "$1"; }
now() { date +%s.%N; }
median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }
# scan DB DIR NAME: prints "wall register" of one `scan -v`
scan() {
    local s e log
    s=$(now)
    log=$("$pt" --registry "$1" -v scan "$2" --dataset "$3@1" --org bench --collected 2024-01-01 2>&1 >/dev/null) || {
        note "scan failed: $log" ; exit 2; }
    e=$(now)
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}', end=' ')" "$s" "$e"
    echo "$log" | sed -n 's/.*"register": \([0-9.e-]*\).*/\1/p'
}

declare -A wall reg
for _ in $(seq "$runs"); do
    for ps in 4096 16384; do
        db="$work/r$ps.db"
        fresh "$db" "$ps"
        read -r w r < <(scan "$db" "$data/b" first)
        [ "$(size_of "$db")" = "$ps" ] || { note "registry has $(size_of "$db")-byte pages, not $ps"; exit 2; }
        wall[$ps]+="$w "; reg[$ps]+="$r "
    done
done
echo "first scan of 50,000 files of 8 KiB into a fresh registry, median of $runs:"
printf '  %-6s %10s %12s\n' pages "wall s" "register s"
for ps in 4096 16384; do
    # shellcheck disable=SC2086
    printf '  %-6s %10s %12s\n' "$ps" "$(median ${wall[$ps]})" "$(median ${reg[$ps]})"
done

[ -n "${BENCH_BIG:-}" ] || exit 0
declare -A build small_r big_r report
for ps in 4096 16384; do
    big="$work/big$ps.db"
    fresh "$big" "$ps"
    note "building the 1,000,000-shard registry with $ps-byte pages"
    s=$(now)
    "$pt" --registry "$big" -q bench-registry --format json >/dev/null
    build[$ps]=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$s" "$(now)")
done
for _ in $(seq "$runs"); do
    for ps in 4096 16384; do
        for what in small b; do
            rm -f "$work/copy.db"*; cp "$work/big$ps.db" "$work/copy.db"
            dir=$work/small; [ "$what" = b ] && dir=$data/b
            read -r _ r < <(scan "$work/copy.db" "$dir" "$what")
            if [ "$what" = small ]; then small_r[$ps]+="$r "; else big_r[$ps]+="$r "; fi
        done
        s=$(now)
        "$pt" --registry "$work/big$ps.db" -q report --format json >/dev/null || true
        report[$ps]+="$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$s" "$(now)") "
    done
done
echo "on a 1,000,000-shard registry, median of $runs:"
printf '  %-6s %10s %16s %18s %10s\n' pages "build s" "500 files reg s" "50,000 files reg s" "report s"
for ps in 4096 16384; do
    # shellcheck disable=SC2086
    printf '  %-6s %10s %16s %18s %10s\n' "$ps" "${build[$ps]}" "$(median ${small_r[$ps]})" "$(median ${big_r[$ps]})" "$(median ${report[$ps]})"
done
