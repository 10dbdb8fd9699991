#!/usr/bin/env bash
# bench-prints.sh: record prints on a synthetic pipeline (scripts/gen-derived.py): three
# pulls with URLs (BENCH_N records each, default 340,000: 1.02M in all), and a training set
# derived from them (dedup, 10 % filtered, 3 % never-registered content added, shuffled,
# `url` dropped, white space changed in 5 %, re-sharded into zstd Parquet and .jsonl.gz).
#
# Measures, in one run:
#   1. per-source counts of the derived set scanned with no flags vs the truth (target
#      within 99.9 %), and false attribution: records claimed beyond a source's truth, and
#      never-registered records claimed by any source (target 0);
#   2. stored bytes per printed record, per kind (target <= 5 for text);
#   3. the cost of printing: the same files scanned with and without --no-prints, JSONL
#      and Parquet (hyperfine, BENCH_RUNS runs; target <= 20 % slower);
#   4. derived scan throughput per core with the print index loaded (target >= 300 MB/s
#      per core of matching) and the index's memory per registered record (target <= 12);
#   5. `match` of 1,000 known and 1,000 unknown posts: precision and recall, and recall per
#      re-typed variant (white space, case, fullwidth, HTML entities, one word edited).
#
# pyarrow comes from PyPI into BENCH_VENV (default /tmp/provtrack-bench-venv). Data is
# generated under a temporary directory (removed unless BENCH_KEEP=1), never committed.
# Environment: BENCH_N, BENCH_RUNS (default 3), BENCH_KEEP, BENCH_VENV, PROVTRACK (default
# target/release/provtrack, built when missing).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
n=${BENCH_N:-340000}
runs=${BENCH_RUNS:-3}
venv=${BENCH_VENV:-/tmp/provtrack-bench-venv}
note() { echo "bench: $*" >&2; }
bin=${PROVTRACK:-$root/target/release/provtrack}
if [ ! -x "$bin" ]; then
    note "building $bin"
    (cd "$root" && cargo build --release --quiet)
fi
if [ ! -x "$venv/bin/python" ]; then
    note "creating $venv (pyarrow)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q pyarrow duckdb
fi
"$venv/bin/python" -c 'import pyarrow' 2>/dev/null || "$venv/bin/pip" install -q pyarrow
py="$venv/bin/python"
work=$(mktemp -d /tmp/provtrack-bench-prints.XXXXXX)
if [ -z "${BENCH_KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; else note "keeping $work"; fi
cp "$bin" "$work/provtrack"
pt="$work/provtrack"

note "generating the pipeline, $n records per pull, in $work/data"
GEN_GZIP_LEVEL=1 "$py" "$root/scripts/gen-derived.py" "$work/data" "$n"
d="$work/data"
reg="$work/reg.db"
export PROVTRACK_REGISTRY="$reg"
"$pt" init >/dev/null 2>&1
"$pt" apply "$root/samples/policy.toml" >/dev/null
for s in twitter reddit wikipedia; do
    /usr/bin/time -f "bench: pull $s: %e s, %M KB max RSS" \
        "$pt" scan "$d/pulls/$s" --dataset "$s-pull@1" --org acme --collected 2026-01-01 \
        --format json >"$work/pull-$s.json" 2>"$work/pull-$s.err" || { cat "$work/pull-$s.err"; exit 1; }
    tail -1 "$work/pull-$s.err"
done
start=$(date +%s.%N)
/usr/bin/time -f "%e %M" -o "$work/derived.time" \
    "$pt" scan "$d/derived" --dataset train@1 --org acme --collected 2026-03-01 --format json \
    >"$work/derived.json" 2>"$work/derived.err" || { cat "$work/derived.err"; exit 1; }
head -1 "$work/derived.err"
derived_bytes=$(du -sb "$d/derived" | cut -f1)
# The same scan with no index (a registry without the pulls): the difference is the cost of
# loading the index and matching.
rm -f "$work/bare.db"
"$pt" --registry "$work/bare.db" init >/dev/null 2>&1
"$pt" --registry "$work/bare.db" apply "$root/samples/policy.toml" >/dev/null
/usr/bin/time -f "%e %M" -o "$work/bare.time" \
    "$pt" --registry "$work/bare.db" scan "$d/derived" --dataset train@1 --org acme \
    --collected 2026-03-01 --format json >"$work/bare.json" 2>"$work/bare.err"

"$py" - "$d/truth.json" "$work/derived.json" "$work/derived.time" "$derived_bytes" "$reg" "$work/bare.time" <<'PY'
import json, sqlite3, sys
truth = json.load(open(sys.argv[1]))
out = json.load(open(sys.argv[2]))
secs, rss = open(sys.argv[3]).read().split()
size = int(sys.argv[4])
t = truth["derived"]
unreg = t.pop("unregistered", 0)
print("1. attribution of the derived set (%d records, %d never registered)" % (truth["records"], unreg))
worst = 1.0
excess = 0
for s, want in sorted(t.items()):
    got = out["sources"].get(s, {}).get("records", 0)
    ratio = got / want
    worst = min(worst, min(ratio, 2 - ratio))
    excess += max(0, got - want)
    print("   %-10s truth %8d  attributed %8d  (%.4f %%)" % (s, want, got, 100 * got / want))
claimed_unreg = max(0, unreg - out["unattributed_records"])
print("   never-registered records left unattributed: %d of %d" % (out["unattributed_records"], unreg))
print("   records attributed by print: %d; ambiguous: %d" % (out["fingerprinted"], out["ambiguous_prints"]))
print("   false attribution (beyond truth, or never-registered claimed): %d" % (excess + claimed_unreg))
print("   %s  within 99.9 %%: worst %.4f %%" % ("PASS" if worst >= 0.999 else "FAIL", 100 * worst))
db = sqlite3.connect(sys.argv[5])
print("2. stored prints")
for kind, recs, by in db.execute("SELECT kind, SUM(records), SUM(LENGTH(prints)) FROM record_prints GROUP BY kind"):
    print("   %-4s %9d records  %10d bytes  %.2f bytes/record  %s" % (kind, recs, by, by / recs,
          ("PASS" if by / recs <= 5 else "FAIL") if kind == "text" else ""))
idx_records, idx_bytes = out["print_index"]
bare = float(open(sys.argv[6]).read().split()[0])
decoded = truth["jsonl_bytes"] / 1e6
cost = max(1e-3, float(secs) - bare)
print("4. derived scan: %.2f s with the index, %.2f s without (%.1f MB on disk, %.0f MB as JSON Lines, %d records), max RSS %d MB"
      % (float(secs), bare, size / 1e6, decoded, out["records"], int(rss) / 1024))
print("   index load + matching: %.2f s: %.0f MB/s of records matched (%.0f MB/s per core of 2)  %s"
      % (cost, decoded / cost, decoded / cost / 2, "PASS" if decoded / cost / 2 >= 300 else "FAIL"))
print("   index: %d registered text prints, %d bytes: %.2f bytes per record  %s"
      % (idx_records, idx_bytes, idx_bytes / max(1, idx_records), "PASS" if idx_bytes / max(1, idx_records) <= 12 else "FAIL"))
PY

note "3. the cost of printing (JSONL and Parquet of the derived set; fresh registries)"
mkdir -p "$work/jsonl" "$work/parquet"
cp "$d"/derived/*.jsonl.gz "$work/jsonl/"
for f in "$work"/jsonl/*.gz; do gunzip "$f"; done
cp "$d"/derived/*.parquet "$work/parquet/"
for fmt in jsonl parquet; do
    hyperfine --runs "$runs" --warmup 1 \
        --prepare "rm -f $work/h.db; PROVTRACK_REGISTRY=$work/h.db $pt init" \
        -n "$fmt printed" "$pt --registry $work/h.db scan $work/$fmt --dataset h@1 --org acme --collected 2026-01-01 --jobs 2" \
        -n "$fmt --no-prints" "$pt --registry $work/h.db scan $work/$fmt --dataset h@1 --org acme --collected 2026-01-01 --jobs 2 --no-prints" \
        --export-json "$work/h-$fmt.json" >/dev/null 2>&1 || { note "hyperfine failed"; exit 1; }
    "$py" - "$work/h-$fmt.json" "$fmt" "$(du -sb "$work/$fmt" | cut -f1)" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
fmt, size = sys.argv[2], int(sys.argv[3])
a, b = r[fmt + " printed"], r[fmt + " --no-prints"]
ratio = a["median"] / b["median"]
print("3. %-7s %.0f MB: printed median %.3f s (min %.3f, max %.3f), --no-prints %.3f s (min %.3f, max %.3f): +%.1f %%  %s"
      % (fmt, size / 1e6, a["median"], a["min"], a["max"], b["median"], b["min"], b["max"], 100 * (ratio - 1),
         "PASS" if ratio <= 1.2 else "FAIL"))
PY
done

note "5. match"
"$pt" match "$d/match/known.jsonl" "$d/match/unknown.jsonl" --format json >"$work/match.json" 2>/dev/null
"$py" - "$work/match.json" "$d/match/known.jsonl" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
known = sum(1 for _ in open(sys.argv[2]))
tp = sum(1 for i in r["found_items"] if "known.jsonl#" in i["item"] and "unknown" not in i["item"])
fp = r["found"] - tp
print("5. match: %d items, %d found: precision %.4f, recall %.4f (%d registered records compared)"
      % (r["items"], r["found"], tp / max(1, r["found"]), tp / known, r["registered"]))
PY
for v in whitespace case fullwidth html-entity edited; do
    "$pt" match "$d/match/variants/$v.jsonl" --format json 2>/dev/null |
        "$py" -c 'import json,sys; r=json.load(sys.stdin); print("   variant %-12s recall %.4f" % (sys.argv[1], r["found"]/max(1,r["items"])))' "$v"
done
