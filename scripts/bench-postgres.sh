#!/usr/bin/env bash
# bench-postgres.sh: the registry on PostgreSQL against the same registry on SQLite, in one
# run, on a throw-away server this script starts (initdb/pg_ctl in a temporary directory,
# removed at exit unless BENCH_KEEP=1). Targets:
#   1,000,000-shard synthetic registry (bench-registry): report < 3 s, audit SOURCE < 1.5 s,
#     bulk build time within 2x of SQLite's
#   8 processes scanning 8 different 10,000-file datasets into one registry at once: all
#     succeed, verify passes, total wall time < 2x one such scan alone
# Prints one line per figure with PASS/FAIL; exits 0 whatever the figures (2 when
# PostgreSQL or hyperfine is missing). Environment: BENCH_RUNS=3, PROVTRACK=path,
# BENCH_SHARDS_PER_DATASET=500 (x 2,000 datasets).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-3}
per=${BENCH_SHARDS_PER_DATASET:-500}
note() { echo "bench: $*" >&2; }
command -v hyperfine >/dev/null || { note "hyperfine is needed (apt-get install hyperfine)"; exit 2; }
[ -x /usr/bin/time ] || { note "GNU time is needed (apt-get install time)"; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { note "PostgreSQL is needed (apt-get install postgresql)"; exit 2; }
work=$(mktemp -d /tmp/provtrack-pgbench.XXXXXX)
chmod 755 "$work"
built=${PROVTRACK:-$root/target/release/provtrack}
[ -x "$built" ] || (cd "$root" && cargo build --release >&2)
cp "$built" "$work/provtrack"
pt="$work/provtrack"

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir "$work/pg"
[ "$(id -u)" = 0 ] && chown postgres "$work/pg"
as_pg "$bin/initdb" -D "$work/pg/data" -U postgres -A trust --no-sync -E UTF8 --locale=C >/dev/null
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
# Settings of a bench machine, not a toy: WAL on, synchronous commit on.
as_pg "$bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w \
    -o "-k $work/pg -p $port -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB -c max_connections=100" start >/dev/null
cleanup() {
    as_pg "$bin/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || true
    [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
psql_() { psql -h "$work/pg" -p "$port" -U postgres -qAt "$@"; }
url() { echo "postgres://postgres@127.0.0.1:$port/$1?sslmode=disable"; }

now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
median() { # name command
    hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$work/$1.json" "$2" >/dev/null 2>&1
    python3 -c "import json,sys; print(f\"{json.load(open(sys.argv[1]))['results'][0]['median']:.3f}\")" "$work/$1.json"
}
verdict() { python3 -c "import sys; print('PASS' if float(sys.argv[1]) < float(sys.argv[2]) else 'FAIL')" "$1" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }

note "building the synthetic registry ($per shards x 2,000 datasets) on SQLite"
t0=$(now); "$pt" --registry "$work/big.db" -q bench-registry --shards-per-dataset "$per" --format json >/dev/null; t_build_sqlite=$(secs "$t0" "$(now)")
note "building it on PostgreSQL"
psql_ -d postgres -c "CREATE DATABASE big"
t0=$(now); "$pt" --registry "$(url big)" -q bench-registry --shards-per-dataset "$per" --format json >/dev/null; t_build_pg=$(secs "$t0" "$(now)")
psql_ -d big -c "VACUUM ANALYZE"
q="$pt --registry $(url big) -q"
t_report=$(median report "$q report --format json")
t_audit=$(median audit "$q audit s001 --format json")
t_report_sqlite=$(median report_sqlite "$pt --registry $work/big.db -q report --format json")
same=$(python3 - "$work" <<EOF
import json, subprocess, sys
a = subprocess.run("$q report --format json".split(), capture_output=True).stdout
b = subprocess.run("$pt --registry $work/big.db -q report --format json".split(), capture_output=True).stdout
print("identical" if a == b else "DIFFERENT")
EOF
)

note "generating 8 datasets of 10,000 files"
python3 - "$work" <<'EOF'
import os, sys
work = sys.argv[1]
hosts = ["twitter.com", "en.wikipedia.org", "www.reddit.com", "example.org"]
for d in range(8):
    for i in range(10000):
        sub = f"{work}/ds{d}/p{i // 500:02}"
        if i % 500 == 0:
            os.makedirs(sub, exist_ok=True)
        with open(f"{sub}/f{i:05}.jsonl", "w") as out:
            for r in range(4):
                n = (d * 10000 + i) * 4 + r
                out.write('{"id":%d,"url":"https://%s/p/%d"}\n' % (n, hosts[n % 4], n))
EOF
cat > "$work/policy.toml" <<'EOF'
[[source]]
id = "twitter"
domains = ["twitter.com"]
[[source]]
id = "wikipedia"
domains = ["wikipedia.org"]
[[source]]
id = "reddit"
domains = ["reddit.com"]
EOF
find "$work"/ds? -type f -exec cat {} + >/dev/null
psql_ -d postgres -c "CREATE DATABASE one" -c "CREATE DATABASE eight"
"$pt" --registry "$(url one)" -q apply "$work/policy.toml" >/dev/null
"$pt" --registry "$(url eight)" -q apply "$work/policy.toml" >/dev/null
# CPU seconds: the scanning processes' (GNU time) and the server's (the postmaster's reaped
# backends, from /proc), to tell a CPU-bound floor from time lost to waiting.
pm=$(head -1 "$work/pg/data/postmaster.pid")
server_cpu() { awk -v hz="$(getconf CLK_TCK)" '{print ($16 + $17) / hz}' "/proc/$pm/stat"; }
client_cpu() { cat "$@" | awk '{s += $1 + $2} END {print s}'; }
c0=$(server_cpu)
t0=$(now); /usr/bin/time -o "$work/one.cpu" -f "%U %S" "$pt" --registry "$(url one)" -q scan "$work/ds0" --dataset ds0@1 --rehash >/dev/null; t_one=$(secs "$t0" "$(now)")
cpu_one=$(python3 -c "import sys; print(f'{float(sys.argv[1]) - float(sys.argv[2]) + float(sys.argv[3]):.2f}')" "$(server_cpu)" "$c0" "$(client_cpu "$work/one.cpu")")
c0=$(server_cpu)
t0=$(now)
pids=()
for d in 0 1 2 3 4 5 6 7; do
    /usr/bin/time -o "$work/scan$d.cpu" -f "%U %S" \
        "$pt" --registry "$(url eight)" -q scan "$work/ds$d" --dataset "ds$d@1" >/dev/null 2>"$work/scan$d.err" &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
t_eight=$(secs "$t0" "$(now)")
cpu_eight=$(python3 -c "import sys; print(f'{float(sys.argv[1]) - float(sys.argv[2]) + float(sys.argv[3]):.2f}')" "$(server_cpu)" "$c0" "$(client_cpu "$work"/scan?.cpu)")
# The same shape scaled to this machine: as many scans at once as there are cores.
cores=$(nproc)
psql_ -d postgres -c "CREATE DATABASE percore"
"$pt" --registry "$(url percore)" -q apply "$work/policy.toml" >/dev/null
t0=$(now)
pids=()
for d in $(seq 0 $((cores - 1))); do
    "$pt" --registry "$(url percore)" -q scan "$work/ds$((d % 8))" --dataset "ds$d@1" >/dev/null &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
t_cores=$(secs "$t0" "$(now)")
# The least wall time 8 scans can take here: their CPU seconds spread over every core.
floor=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / int(sys.argv[2]):.2f}')" "$cpu_eight" "$(nproc)")
ok=$("$pt" --registry "$(url eight)" -q verify --format json | python3 -c "import json,sys; print(json.load(sys.stdin)['ok'])" || true)
eight_verdict=FAIL
if [ "$failed" = 0 ] && [ "$ok" = True ]; then eight_verdict=$(verdict "$(ratio "$t_eight" "$t_one")" 2); fi

echo "provtrack PostgreSQL benchmark: $(nproc) cores, median of $runs runs each"
printf '%-62s %9s  %-8s %s\n' "measurement" "value" "target" ""
printf '%-62s %9s  %-8s %s\n' "build $((per * 2000)) shards: SQLite (s)" "$t_build_sqlite" "" ""
printf '%-62s %9s  %-8s %s\n' "build $((per * 2000)) shards: PostgreSQL (s)" "$t_build_pg" "" ""
printf '%-62s %9s  %-8s %s\n' "  PostgreSQL / SQLite build time" "$(ratio "$t_build_pg" "$t_build_sqlite")" "<= 2" "$(verdict "$(ratio "$t_build_pg" "$t_build_sqlite")" 2.0001)"
printf '%-62s %9s  %-8s %s\n' "report on PostgreSQL (s) [SQLite $t_report_sqlite s; JSON $same]" "$t_report" "< 3" "$(verdict "$t_report" 3)"
printf '%-62s %9s  %-8s %s\n' "audit s001 on PostgreSQL (s)" "$t_audit" "< 1.5" "$(verdict "$t_audit" 1.5)"
printf '%-62s %9s  %-8s %s\n' "one 10,000-file scan alone (s)" "$t_one" "" ""
printf '%-62s %9s  %-8s %s\n' "8 such scans at once, $failed failed, verify ok=$ok (s)" "$t_eight" "" ""
printf '%-62s %9s  %-8s %s\n' "  8 at once / one alone" "$(ratio "$t_eight" "$t_one")" "< 2" "$eight_verdict"
printf '%-62s %9s  %-8s %s\n' "$cores scans at once (one per core) / one alone" "$(ratio "$t_cores" "$t_one")" "" ""
printf '%-62s %9s  %-8s %s\n' "  CPU s (client + server): one scan $cpu_one, 8 scans" "$cpu_eight" "" ""
printf '%-62s %9s  %-8s %s\n' "  CPU-bound floor for 8 on $(nproc) cores (s); wall / floor" "$floor" "" "$(ratio "$t_eight" "$floor")"
