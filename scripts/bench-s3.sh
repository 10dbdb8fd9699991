#!/usr/bin/env bash
# bench-s3.sh: benchmark `provtrack scan s3://…` against scanning the same files on local
# disk and against a peer users know (`aws s3 sync` to disk, then `b3sum` of the copy), in
# one run, on a local S3-compatible server this script starts: moto's (from PyPI, the
# default), or with BENCH_SERVER=s3s-fs the Rust `s3s-fs` server (crates.io; installed into
# the temporary directory when S3S_FS does not name a binary), which serves files from a
# directory and is not itself the bottleneck as moto is. Data is generated in a temporary
# directory under /tmp (never in git; removed at exit unless BENCH_KEEP=1) and uploaded
# with `aws s3 sync`.
#
# Data sets (BENCH_SETS, default "a b"):
#   (a) BENCH_BIG_MB MiB (default 2048) in 32 objects of random bytes (opaque shards)
#   (b) BENCH_SMALL (default 10000) objects of 8 KiB of JSON Lines with URLs, in 100 folders
#
# Timed by hyperfine (BENCH_RUNS runs, default 3, after one warm-up), page cache warm:
#   disk      provtrack scan DIR            (fresh registry each run)
#   s3        provtrack scan s3://…         (fresh registry each run)
#   s3-again  provtrack scan s3://…         unchanged re-scan (registry and cache kept)
#   peer      aws s3 sync s3://… DIR && b3sum every file (fresh directory each run)
# Targets (each summary line says PASS or FAIL; the exit status does not depend on them):
#   s3 / disk        <= 1.5
#   s3 / s3-again    >= 10
# moto is a single Python process: when the peer is as slow as provtrack, the server is
# the bottleneck, not the client (the summary prints both ratios so this can be seen).
#
# Environment:
#   BENCH_SETS="a b"  BENCH_RUNS=3  BENCH_BIG_MB=2048  BENCH_SMALL=10000  BENCH_KEEP=1
#   BENCH_JOBS=N      provtrack --jobs for the s3 runs (default: provtrack's own default)
#   BENCH_SERVER=moto|s3s-fs   S3S_FS=path to an s3s-fs binary (built when missing)
#   PROVTRACK=path    the binary (default target/release/provtrack, built when missing)
#
# Exit status: 0 when every measurement ran, 1 when one could not, 2 when a tool is missing.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sets=${BENCH_SETS:-a b}
runs=${BENCH_RUNS:-3}
big_mb=${BENCH_BIG_MB:-2048}
small=${BENCH_SMALL:-10000}
export PATH="$HOME/.cargo/bin:$PATH"
note() { echo "bench: $*" >&2; }

for tool in hyperfine b3sum python3; do
    command -v "$tool" >/dev/null || { note "$tool is required"; exit 2; }
done
work=$(mktemp -d /tmp/provtrack-bench-s3.XXXXXX)
moto_pid=""
cleanup() {
    [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
    if [ "${BENCH_KEEP:-}" = 1 ]; then note "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- tools: moto's server and awscli, in a throw-away venv when missing -------------------
py=python3
if ! python3 -c "import moto.server" 2>/dev/null || ! command -v aws >/dev/null; then
    note "installing moto[server] and awscli in a throw-away venv"
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install -q 'moto[server]' awscli
    py="$work/venv/bin/python"
    export PATH="$work/venv/bin:$PATH"
fi
bin=${PROVTRACK:-$root/target/release/provtrack}
if [ ! -x "$bin" ]; then
    note "building the release binary"
    (cd "$root" && cargo build --release --locked -q)
fi
cp "$bin" "$work/provtrack"
P="$work/provtrack"

# --- the server ----------------------------------------------------------------------------
server=${BENCH_SERVER:-moto}
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true
case "$server" in
moto)
    "$py" -m moto.server -H 127.0.0.1 -p "$port" >"$work/server.log" 2>&1 &
    ;;
s3s-fs)
    s3s=${S3S_FS:-$work/s3s/bin/s3s-fs}
    if [ ! -x "$s3s" ]; then
        note "building s3s-fs (crates.io)"
        cargo install -q s3s-fs@0.14.1 --features binary --root "$work/s3s" \
            --target-dir "$work/s3s/target"
    fi
    mkdir -p "$work/s3s-root"
    "$s3s" --host 127.0.0.1 --port "$port" --access-key "$AWS_ACCESS_KEY_ID" \
        --secret-key "$AWS_SECRET_ACCESS_KEY" "$work/s3s-root" >"$work/server.log" 2>&1 &
    ;;
*) note "BENCH_SERVER is moto or s3s-fs"; exit 2 ;;
esac
moto_pid=$!
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null \
    || { note "$server did not start"; cat "$work/server.log"; exit 1; }
note "server: $server on port $port"
aws s3 mb s3://bench >/dev/null

# --- data ----------------------------------------------------------------------------------
gen_a() {
    mkdir -p "$work/a"
    local per=$((big_mb / 32))
    for i in $(seq -w 0 31); do
        head -c "$((per * 1024 * 1024))" /dev/urandom >"$work/a/shard-$i.bin"
    done
}
gen_b() {
    "$py" - "$work/b" "$small" <<'EOF'
import os, sys
out, n = sys.argv[1], int(sys.argv[2])
hosts = ["twitter.com", "x.com", "www.reddit.com", "en.wikipedia.org", "example.org"]
for i in range(n):
    d = os.path.join(out, f"d{i % 100:03d}")
    os.makedirs(d, exist_ok=True)
    lines, size = [], 0
    j = 0
    while size < 8192:
        line = '{"id":%d,"text":"%s","url":"https://%s/p/%d"}\n' % (
            j, ("w%d " % (i * 31 + j)) * 8, hosts[(i + j) % 5], j)
        lines.append(line); size += len(line); j += 1
    with open(os.path.join(d, f"part-{i:05d}.jsonl"), "w") as f:
        f.write("".join(lines))
EOF
}
cat >"$work/policy.toml" <<'EOF'
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

status=0
summary=()
median() { "$py" -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$1"; }
cpu() { "$py" -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.2f" % (r["user"] + r["system"]))' "$1"; }
for set in $sets; do
    note "generating data set ($set)"
    "gen_$set"
    bytes=$(du -sb "$work/$set" | cut -f1)
    files=$(find "$work/$set" -type f | wc -l)
    note "uploading ($set): $files files, $bytes bytes"
    aws s3 sync --quiet "$work/$set" "s3://bench/$set"
    cat "$work/$set"/*/* "$work/$set"/* >/dev/null 2>&1 || true
    url="s3://bench/$set"
    jobs=${BENCH_JOBS:+--jobs $BENCH_JOBS}
    scan="--dataset d@1 --org acme --collected 2025-01-01 -q"
    fresh="rm -f $work/reg-$set.db && $P --registry $work/reg-$set.db apply $work/policy.toml -q >/dev/null"
    # Registry and cache for the unchanged re-scan, once.
    rm -f "$work/again-$set.db"
    $P --registry "$work/again-$set.db" apply "$work/policy.toml" -q >/dev/null
    $P --registry "$work/again-$set.db" --format json scan "$url" $scan $jobs >"$work/s3-$set.json"
    rm -f "$work/disk-$set.db"
    $P --registry "$work/disk-$set.db" apply "$work/policy.toml" -q >/dev/null
    $P --registry "$work/disk-$set.db" --format json scan "$work/$set" $scan >"$work/disk-$set.json"
    same=$("$py" -c '
import json,sys
a,b=(json.load(open(p)) for p in sys.argv[1:3])
print("equal" if all(a[k]==b[k] for k in ("root","files","bytes","records","sources")) else "DIFFERENT")' \
        "$work/s3-$set.json" "$work/disk-$set.json")
    note "($set) bucket scan vs disk scan: root, counts and sources $same"
    [ "$same" = equal ] || status=1
    hyperfine -N --style basic --warmup 1 --runs "$runs" \
        --prepare "sh -c '$fresh'" -n disk "$P --registry $work/reg-$set.db scan $work/$set $scan" \
        --export-json "$work/h-disk-$set.json" >&2 || status=1
    hyperfine -N --style basic --warmup 1 --runs "$runs" \
        --prepare "sh -c '$fresh'" -n s3 "$P --registry $work/reg-$set.db scan $url $scan $jobs" \
        --export-json "$work/h-s3-$set.json" >&2 || status=1
    hyperfine -N --style basic --warmup 1 --runs "$runs" \
        -n s3-again "$P --registry $work/again-$set.db scan $url $scan $jobs" \
        --export-json "$work/h-again-$set.json" >&2 || status=1
    hyperfine --style basic --warmup 1 --runs "$runs" \
        --prepare "rm -rf $work/dl" \
        -n peer "aws s3 sync --quiet $url $work/dl && find $work/dl -type f -print0 | xargs -0 b3sum >/dev/null" \
        --export-json "$work/h-peer-$set.json" >&2 || status=1
    d=$(median "$work/h-disk-$set.json"); s=$(median "$work/h-s3-$set.json")
    a=$(median "$work/h-again-$set.json"); p=$(median "$work/h-peer-$set.json")
    r1=$("$py" -c "print('%.2f' % ($s/$d))"); r2=$("$py" -c "print('%.1f' % ($s/$a))")
    r3=$("$py" -c "print('%.2f' % ($p/$s))")
    v1=$("$py" -c "print('PASS' if $s/$d <= 1.5 else 'FAIL')")
    v2=$("$py" -c "print('PASS' if $s/$a >= 10 else 'FAIL')")
    summary+=("[$server] ($set) $files objects, $bytes bytes: disk ${d}s, s3 ${s}s, s3 unchanged ${a}s, aws s3 sync + b3sum ${p}s")
    summary+=("[$server] ($set) CPU seconds of provtrack (user+system, mean): disk $(cpu "$work/h-disk-$set.json"), s3 $(cpu "$work/h-s3-$set.json") — s3 wall time well above its CPU time is time spent waiting on the server")
    summary+=("[$server] ($set) s3/disk = ${r1} (target <= 1.5: $v1); first/unchanged = ${r2}x (target >= 10: $v2); peer/provtrack = ${r3}x")
    rm -rf "${work:?}/$set" "$work/dl"
done
printf '%s\n' "${summary[@]}"
exit "$status"
