#!/usr/bin/env bash
# bench-formats.sh: `provtrack scan` (which also fingerprints every byte) against DuckDB
# counting records per host (`GROUP BY host`, 2 threads) over the same files, per format,
# in one run, with the per-source counts checked equal.
#
# Data (generated deterministically under a temporary directory, never in git; removed at
# exit unless BENCH_KEEP=1): BENCH_FILES files (default 8) of ~BENCH_MB MiB (default 64) of
# C4/FineWeb-like rows {"text": ~1 KB, "timestamp", "url"} in each of three formats:
# plain .jsonl, .jsonl.gz (Python's gzip, level 6) and snappy Parquet (pyarrow). Hosts:
# ~1/3 twitter (twitter.com, mobile.twitter.com, x.com), ~1/3 reddit + wikipedia, ~1/3
# elsewhere.
#
# DuckDB and pyarrow come from PyPI into a throw-away venv (BENCH_VENV, default
# /tmp/provtrack-bench-venv). Each figure is the median of BENCH_RUNS runs (default 3) after
# one warm-up; every provtrack run gets a fresh registry. Peak RSS by /usr/bin/time when it
# is there.
#
# Target (printed as PASS/FAIL; the exit status does not depend on it): provtrack at least
# 1.5x faster than DuckDB on each format, RSS < 300 MB.
#
# Environment: BENCH_FILES, BENCH_MB, BENCH_RUNS, BENCH_FORMATS ("jsonl gz parquet"),
# BENCH_KEEP=1 (its data directory can be given again as BENCH_DATA=DIR/data to skip
# generating), BENCH_VENV, BENCH_SCAN_FLAGS,
# PROVTRACK=path (default target/release/provtrack, built when missing).
# Exit status: 0 when every measurement ran and the counts agreed, 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
files=${BENCH_FILES:-8}
mb=${BENCH_MB:-64}
runs=${BENCH_RUNS:-3}
formats=${BENCH_FORMATS:-jsonl gz parquet}
venv=${BENCH_VENV:-/tmp/provtrack-bench-venv}
# Extra scan flags (BENCH_SCAN_FLAGS=--no-prints: the scan without record prints).
scan_flags=${BENCH_SCAN_FLAGS:-}
note() { echo "bench: $*" >&2; }

bin=${PROVTRACK:-$root/target/release/provtrack}
if [ ! -x "$bin" ]; then
    note "building $bin"
    (cd "$root" && cargo build --release --quiet)
fi
if [ ! -x "$venv/bin/python" ]; then
    note "creating $venv (duckdb, pyarrow)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q duckdb pyarrow
fi
py="$venv/bin/python"

work=$(mktemp -d /tmp/provtrack-bench-formats.XXXXXX)
if [ -z "${BENCH_KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else note "keeping $work"; fi
cp "$bin" "$work/provtrack"
bin="$work/provtrack"

if [ -n "${BENCH_DATA:-}" ]; then
    note "reusing $BENCH_DATA"
    ln -s "$(cd "$BENCH_DATA" && pwd)" "$work/data"
else
note "generating $files x ${mb} MiB per format in $work/data"
"$py" - "$work/data" "$files" "$mb" <<'EOF'
import gzip, os, random, sys, json
import pyarrow as pa, pyarrow.parquet as pq
out, files, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hosts = ["twitter.com", "mobile.twitter.com", "x.com", "www.reddit.com", "old.reddit.com",
         "en.wikipedia.org", "example.org", "notx.com", "news.example.net"]
words = "the of and to in is for on that with as by at from data model text web page".split()
for d in ("jsonl", "gz", "parquet"):
    os.makedirs(os.path.join(out, d), exist_ok=True)
for f in range(files):
    rng = random.Random(f)
    rows, size = [], 0
    while size < mb << 20:
        text = " ".join(rng.choice(words) for _ in range(rng.randint(120, 220)))
        url = f"https://{rng.choice(hosts)}/p/{f}/{len(rows)}"
        row = {"text": text, "timestamp": "2019-04-25T12:57:54Z", "url": url}
        line = json.dumps(row) + "\n"
        rows.append(line)
        size += len(line)
    body = "".join(rows).encode()
    with open(os.path.join(out, "jsonl", f"part-{f:05d}.jsonl"), "wb") as fh:
        fh.write(body)
    with gzip.open(os.path.join(out, "gz", f"part-{f:05d}.jsonl.gz"), "wb", 6) as fh:
        fh.write(body)
    recs = [json.loads(l) for l in rows]
    table = pa.table({k: [r[k] for r in recs] for k in ("text", "timestamp", "url")})
    pq.write_table(table, os.path.join(out, "parquet", f"part-{f:05d}.parquet"),
                   compression="snappy")
EOF
fi
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
EOF

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
status=0
for fmt in $formats; do
    dir="$work/data/$fmt"
    cat "$dir"/* >/dev/null # warm the page cache
    bytes=$(du -sb "$dir" | cut -f1)
    # provtrack: a fresh registry per run; the last run's JSON summary is kept.
    times=()
    for i in $(seq 0 "$runs"); do
        reg="$work/reg-$fmt-$i.db"
        "$bin" apply "$work/policy.toml" --registry "$reg" >/dev/null 2>&1
        t0=$(now)
        if command -v /usr/bin/time >/dev/null; then
            /usr/bin/time -f "%M" -o "$work/rss-$fmt" "$bin" scan "$dir" --dataset "b@$i" \
                --registry "$reg" --format json --jobs 2 --org acme --collected 2026-01-01 \
                $scan_flags >"$work/pt-$fmt.json" 2>/dev/null
        else
            "$bin" scan "$dir" --dataset "b@$i" --registry "$reg" --format json --jobs 2 \
                --org acme --collected 2026-01-01 $scan_flags >"$work/pt-$fmt.json" 2>/dev/null
        fi
        t1=$(now)
        [ "$i" -gt 0 ] && times+=("$(echo "$t1 - $t0" | bc)")
    done
    pt=$(printf '%s\n' "${times[@]}" | median)
    rss_kb=$(cat "$work/rss-$fmt" 2>/dev/null || echo 0)
    # DuckDB: records per host, 2 threads, hosts mapped to the same sources.
    case $fmt in
        parquet) src="read_parquet('$dir/*.parquet')" ;;
        gz) src="read_json('$dir/*.jsonl.gz', format='newline_delimited')" ;;
        *) src="read_json('$dir/*.jsonl', format='newline_delimited')" ;;
    esac
    times=()
    for i in $(seq 0 "$runs"); do
        t0=$(now)
        "$py" - "$src" >"$work/duck-$fmt.json" <<'EOF'
import duckdb, json, sys
con = duckdb.connect()
con.execute("SET threads = 2")
rows = con.execute(f"""SELECT regexp_extract(url, '^[a-zA-Z]+://([^/:?#]+)', 1) AS host,
    count(*) FROM {sys.argv[1]} GROUP BY host""").fetchall()
print(json.dumps(dict(rows)))
EOF
        t1=$(now)
        [ "$i" -gt 0 ] && times+=("$(echo "$t1 - $t0" | bc)")
    done
    dt=$(printf '%s\n' "${times[@]}" | median)
    same=$("$py" - "$work/pt-$fmt.json" "$work/duck-$fmt.json" <<'EOF'
import json, sys
pt = json.load(open(sys.argv[1]))
duck = json.load(open(sys.argv[2]))
domains = {"twitter.com": "twitter", "x.com": "twitter", "reddit.com": "reddit",
           "wikipedia.org": "wikipedia"}
def source(h):
    h = h.lower()
    while True:
        if h in domains:
            return domains[h]
        if "." not in h:
            return None
        h = h.split(".", 1)[1]
want = {}
for h, n in duck.items():
    s = source(h or "")
    if s:
        want[s] = want.get(s, 0) + n
got = {s: c["records"] for s, c in pt["sources"].items()}
print("equal" if got == want else f"DIFFERENT provtrack={got} duckdb={want}")
EOF
)
    ratio=$(echo "scale=2; $dt / $pt" | bc)
    verdict=FAIL
    if [ "$(echo "$ratio >= 1.5" | bc)" = 1 ] && [ "$rss_kb" -lt 307200 ]; then verdict=PASS; fi
    [ "$same" = equal ] || status=1
    printf '%-8s %6d MB  provtrack %6.2fs (%4d MB RSS)  duckdb %6.2fs  speed-up %5.2fx  counts %s  %s\n' \
        "$fmt" $((bytes >> 20)) "$pt" $((rss_kb / 1024)) "$dt" "$ratio" "$same" "$verdict"
done
exit $status
