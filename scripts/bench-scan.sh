#!/usr/bin/env bash
# bench-scan.sh: benchmark `provtrack scan` against b3sum, sha256sum and (when it can be
# installed) dvc, in one run, on data generated deterministically in a temporary directory
# under /tmp (never in git; removed at exit unless BENCH_KEEP=1).
#
# Data sets (BENCH_SETS, default "a b c"):
#   (a) 2 GiB in 32 files of 64 MiB (SHAKE-128 streams, one seed per file)
#   (b) 50,000 files of 8 KiB in 50 x 10 nested directories, each file different
#   (c) ~1 GiB of JSON Lines in 16 files, {"id":N,"text":"...","url":"https://HOST/path/N"},
#       hosts ~1/3 twitter (twitter.com, mobile.twitter.com, x.com), ~1/3 reddit + wikipedia,
#       ~1/3 unattributed (example.org, notx.com); scanned after `provtrack apply` of a
#       policy declaring the sources twitter, reddit and wikipedia.
#
# Every data set is read once (warm page cache) before timing. Each figure is the median of
# BENCH_RUNS runs (default 5) after one warm-up run, by hyperfine when it is there, else by a
# bash loop over `date +%s.%N`. Every provtrack first scan goes into a fresh registry.
#
# Targets (each summary line says PASS or FAIL; the exit status does not depend on them):
#   (a) provtrack first scan / b3sum wall time                 <= 1.1
#   (b) b3sum / provtrack first scan (speed-up)                 >= 1.3 (issue 18; was 1.7)
#   (b) provtrack first scan peak RSS                           < 200 MB
#   (a) provtrack first scan / unchanged re-scan                >= 20
#   (b) dvc status / provtrack unchanged re-scan                >= 10
#   (c) attribution throughput, bytes / wall time / nproc       >= 300 MB/s per core
#   (a) dvc add / provtrack first scan                          >= 15
#   (b) dvc add / provtrack first scan                          >= 30
#
# Environment:
#   BENCH_SETS="a b c"   which data sets
#   BENCH_RUNS=5         timed runs per measurement (plus one warm-up)
#   BENCH_DVC_RUNS       timed runs of `dvc add` (default BENCH_RUNS; dvc add on (b) is slow)
#   BENCH_NO_INSTALL=1   install nothing (b3sum, hyperfine, time, dvc)
#   BENCH_NO_DVC=1       skip the dvc rows
#   BENCH_NO_HYPERFINE=1 time with the bash loop even when hyperfine is installed
#   BENCH_KEEP=1         keep the temporary directory (data, hyperfine JSON, logs)
#   PROVTRACK=path       the binary (default target/release/provtrack, built when missing);
#                        it is copied into the temporary directory so that a rebuild during
#                        the run does not change what is measured
#
# Exit status: 0 when every measurement ran (whatever PASS/FAIL says), 1 when one could not
# run (its line says ERROR), 2 when a required tool is missing. dvc never fails the run.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sets=${BENCH_SETS:-a b c}
runs=${BENCH_RUNS:-5}
dvc_runs=${BENCH_DVC_RUNS:-$runs}
cores=$(nproc)
export PATH="$HOME/.cargo/bin:$PATH"
export DVC_NO_ANALYTICS=1
note() { echo "bench: $*" >&2; }

# --- tools -----------------------------------------------------------------------------------
apt_updated=""
apt_install() { # packages...; apt-get update once, only when a plain install fails
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
    [ -n "$apt_updated" ] && return 1
    apt_updated=1
    apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "$@" >/dev/null 2>&1
}
if [ -z "${BENCH_NO_INSTALL:-}" ]; then
    if ! command -v b3sum >/dev/null; then
        note "installing b3sum (cargo install b3sum --locked)"
        cargo install b3sum --locked >&2 || note "could not install b3sum"
    fi
    if [ ! -x /usr/bin/time ]; then
        note "installing time (apt)"
        apt_install time || note "could not install time: no peak RSS"
    fi
    if ! command -v hyperfine >/dev/null; then
        note "installing hyperfine (apt)"
        apt_install hyperfine || note "could not install hyperfine: timing with a bash loop"
    fi
fi
for tool in b3sum sha256sum python3 find xargs; do
    command -v "$tool" >/dev/null || { note "$tool is needed and missing"; exit 2; }
done
have_hyperfine=""
command -v hyperfine >/dev/null && [ -z "${BENCH_NO_HYPERFINE:-}" ] && have_hyperfine=1

dvc=""
if [ -z "${BENCH_NO_DVC:-}" ]; then
    venv=/tmp/provtrack-bench-venv
    if [ -x "$venv/bin/dvc" ]; then
        dvc="$venv/bin/dvc"
    elif command -v dvc >/dev/null; then
        dvc=$(command -v dvc)
    elif [ -z "${BENCH_NO_INSTALL:-}" ]; then
        note "installing dvc into $venv (once; takes a minute or two)"
        if (python3 -m venv "$venv" && "$venv/bin/pip" install -q dvc) >&2 && "$venv/bin/dvc" --version >/dev/null 2>&1; then
            dvc="$venv/bin/dvc"
        else
            note "NOTICE: dvc could not be installed; the dvc rows are skipped"
        fi
    fi
fi

provtrack=${PROVTRACK:-$root/target/release/provtrack}
if [ ! -x "$provtrack" ]; then
    if [ -n "${PROVTRACK:-}" ]; then note "PROVTRACK=$provtrack is not executable"; exit 2; fi
    note "building provtrack (cargo build --release)"
    (cd "$root" && cargo build --release >&2) || { note "cargo build --release failed"; exit 2; }
fi

work=$(mktemp -d /tmp/provtrack-bench.XXXXXX)
if [ -n "${BENCH_KEEP:-}" ]; then
    trap 'note "kept $work"' EXIT
else
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/json" "$work/log"
cp "$provtrack" "$work/provtrack"
pt="$work/provtrack"
note "data and logs in $work; provtrack $("$pt" --version 2>/dev/null || echo '?')"

# --- data ------------------------------------------------------------------------------------
cat > "$work/gen.py" <<'EOF'
import hashlib, json, os, random, sys
work, which = sys.argv[1], sys.argv[2]
if which == "a":
    # 32 x 64 MiB of SHAKE-128 output, one seed per file: incompressible, no repeated blocks.
    os.makedirs(f"{work}/a", exist_ok=True)
    for f in range(32):
        with open(f"{work}/a/shard-{f:02}.bin", "wb") as out:
            out.write(hashlib.shake_128(b"provtrack-bench-a-%d" % f).digest(64 << 20))
elif which == "b":
    # 50,000 x 8 KiB in 50 x 10 directories of 100 files, each file its own SHAKE-128 stream.
    for i in range(50000):
        d = f"{work}/b/d{i // 1000:02}/e{(i // 100) % 10}"
        if i % 100 == 0:
            os.makedirs(d, exist_ok=True)
        with open(f"{d}/f{i:05}.bin", "wb") as out:
            out.write(hashlib.shake_128(b"provtrack-bench-b-%d" % i).digest(8192))
elif which == "c":
    # 16 x 64 MiB of JSON Lines: {"id":N,"text":"...","url":"https://HOST/path/N"}.
    rng = random.Random(20240101)
    words = ("the of and to in is was for on that with as by at from his her it an were are "
             "which this be or has had first one their its new after who they two her she "
             "caf\u00e9 na\u00efve \"quoted\" back\\slash tab\there line\nbreak").split(" ")
    pool = []  # 4,096 texts of ~150-300 bytes (JSON-escaped), picked per record
    while len(pool) < 4096:
        target, t, n = rng.randint(150, 300), [], 0
        while n + 12 < target:
            w = rng.choice(words)
            t.append(w)
            n += len(w) + 1
        pool.append(json.dumps(" ".join(t)))
    # ~1/3 twitter (3 hosts), ~1/3 reddit + wikipedia, ~1/3 unattributed (notx.com is not x.com)
    hosts = (["twitter.com"] * 4 + ["mobile.twitter.com"] * 3 + ["x.com"] * 3 +
             ["www.reddit.com"] * 5 + ["en.wikipedia.org"] * 5 +
             ["example.org"] * 5 + ["notx.com"] * 5)
    source_of = {"twitter.com": "twitter", "mobile.twitter.com": "twitter", "x.com": "twitter",
                 "www.reddit.com": "reddit", "en.wikipedia.org": "wikipedia"}
    expect = {"twitter": 0, "reddit": 0, "wikipedia": 0, "unattributed": 0}
    os.makedirs(f"{work}/c", exist_ok=True)
    n = 0
    for f in range(16):
        parts, size = [], 0
        while size < 64 << 20:
            for p, h in zip(rng.choices(range(4096), k=1000), rng.choices(hosts, k=1000)):
                line = f'{{"id":{n},"text":{pool[p]},"url":"https://{h}/path/{n}"}}\n'
                parts.append(line)
                expect[source_of.get(h, "unattributed")] += 1
                size += len(line)
                n += 1
        with open(f"{work}/c/part-{f:02}.jsonl", "w", encoding="utf-8") as out:
            out.write("".join(parts))
    with open(f"{work}/c.expect.json", "w") as out:
        json.dump({"records": n, **expect}, out)
    with open(f"{work}/policy.toml", "w") as out:
        for sid, doms in [("twitter", ["twitter.com", "x.com"]), ("reddit", ["reddit.com"]),
                          ("wikipedia", ["wikipedia.org"])]:
            out.write(f'[[source]]\nid = "{sid}"\ndomains = {json.dumps(doms)}\n\n')
EOF

# --- timing ----------------------------------------------------------------------------------
# measure NAME RUNS SHELL PREPARE COMMAND: prints the median wall seconds of COMMAND over RUNS
# runs after one warm-up; PREPARE (may be empty) runs untimed before each run. SHELL=0 runs
# COMMAND without a shell (hyperfine -N: no shell start-up in short runs); SHELL=1 through one.
# Fails (non-zero) when COMMAND or PREPARE fails; the output is in $work/log/NAME.log.
measure() {
    local name=$1 n=$2 shell=$3 prep=$4 cmd=$5
    local log="$work/log/$name.log" json="$work/json/$name.json"
    if [ -n "$have_hyperfine" ]; then
        local args=(--style basic --warmup 1 --runs "$n" --export-json "$json")
        [ "$shell" = 0 ] && args+=(-N)
        [ -n "$prep" ] && args+=(--prepare "sh -c '$prep'")
        hyperfine "${args[@]}" "$cmd" >"$log" 2>&1 || return 1
        python3 -c 'import json, sys; print("%.4f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$json"
    else
        local i t0 t1 times=()
        for ((i = 0; i <= n; i++)); do
            if [ -n "$prep" ]; then sh -c "$prep" >>"$log" 2>&1 || return 1; fi
            t0=$(date +%s.%N)
            sh -c "$cmd" >/dev/null 2>>"$log" || return 1
            t1=$(date +%s.%N)
            [ "$i" -gt 0 ] && times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')")
        done
        printf '%s\n' "${times[@]}" | sort -g | awk '{ v[NR] = $1 } END {
            printf "%.4f\n", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
    fi
}
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (b + 0 == 0) print "inf"; else printf f "\n", a / b }'; }
verdict() { # value op limit
    awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
        if (v == "inf") v = 1e300
        ok = (op == "<=") ? v <= t : (op == "<") ? v < t : v >= t
        print ok ? "PASS" : "FAIL" }'
}

rows=()
failed=0
row() { # name seconds ratio what target verdict
    rows+=("$(printf '%-40s %9s %9s  %-30s %-9s %s' "$1" "$2" "${3:-}" "${4:-}" "${5:-}" "${6:-}")")
}
# t NAME RUNS SHELL PREPARE COMMAND: measure into the variable T, or T=ERROR (and note it).
t() {
    note "  timing $1"
    if T=$(measure "$@"); then :; else
        T=ERROR
        failed=1
        note "  ERROR: $1 failed, see $work/log/$1.log (with BENCH_KEEP=1)"
        tail -5 "$work/log/$1.log" >&2 || true
    fi
}
# ratio_row NAME SECONDS NUM DEN WHAT OP LIMIT: a row with NUM/DEN checked against OP LIMIT.
ratio_row() {
    local r v=""
    if [ "$3" = ERROR ] || [ "$4" = ERROR ]; then
        row "$1" "$2" ERROR "$5" "${6:+$6 $7}" ERROR
        return
    fi
    r=$(div "$3" "$4")
    [ -n "$6" ] && v=$(verdict "$r" "$6" "$7")
    row "$1" "$2" "$r" "$5" "${6:+$6 $7}" "$v"
}

db="$work/reg.db"
fresh="rm -f $db $db-wal $db-shm"
scan_args="--registry $db -q scan"
meta="--dataset bench@1 --org bench --collected 2024-01-01"

# dvc_repo SET: the prepare step of `dvc add`: a fresh git-less dvc repo holding a hard-link
# copy of the set as data/, with its site cache (where dvc keeps its hash state) inside it via
# DVC_SITE_CACHE_DIR, so that every run is a first `dvc add` and nothing is left in /var/tmp.
dvc_repo() {
    local repo="$work/dvc-$1"
    echo "rm -rf $repo && mkdir -p $repo && cp -al $work/$1 $repo/data && cd $repo" \
        "&& export DVC_SITE_CACHE_DIR=$repo/.dvc/site-cache && $dvc init --no-scm -q" \
        "&& $dvc config core.check_update false"
}

for s in $sets; do
    case $s in a | b | c) ;; *) note "unknown set '$s' (a, b or c)"; exit 2 ;; esac
    note "($s) generating data"
    python3 "$work/gen.py" "$work" "$s"
    dir="$work/$s"
    nfiles=$(find "$dir" -type f | wc -l)
    half=$(((nfiles + 1) / 2))
    find "$dir" -type f -print0 | xargs -0 cat >/dev/null # warm the page cache
    b3="find $dir -type f -print0 | xargs -0 b3sum > /dev/null"
    b3p="find $dir -type f -print0 | xargs -0 -P2 -n $half b3sum > /dev/null"
    sha="find $dir -type f -print0 | xargs -0 sha256sum > /dev/null"
    case $s in
    a | b)
        t "pt-$s" "$runs" 0 "$fresh" "$pt $scan_args $dir $meta"; t_pt=$T
        t "b3-$s" "$runs" 1 "" "$b3"; t_b3=$T
        t "b3p-$s" "$runs" 1 "" "$b3p"; t_b3p=$T
        t "sha-$s" "$runs" 1 "" "$sha"; t_sha=$T
        # unchanged re-scan: same tree, same dataset, into the registry of a first scan
        eval "$fresh"
        if "$pt" $scan_args "$dir" $meta >"$work/log/first-$s.log" 2>&1; then
            t "rescan-$s" "$runs" 0 "" "$pt $scan_args $dir $meta"; t_re=$T
        else
            note "  ERROR: first scan of ($s) failed"; failed=1; t_re=ERROR
        fi
        row "($s) b3sum, 1 process" "$t_b3"
        row "($s) b3sum, xargs -P2 -n $half" "$t_b3p"
        row "($s) sha256sum" "$t_sha"
        if [ "$s" = a ]; then
            ratio_row "(a) provtrack first scan" "$t_pt" "$t_pt" "$t_b3" "provtrack / b3sum" "<=" 1.1
            ratio_row "(a) provtrack unchanged re-scan" "$t_re" "$t_pt" "$t_re" "first scan / re-scan" ">=" 20
        else
            ratio_row "(b) provtrack first scan" "$t_pt" "$t_b3" "$t_pt" "b3sum / provtrack (speed-up)" ">=" 1.3
            ratio_row "(b) provtrack first scan" "$t_pt" "$t_b3p" "$t_pt" "b3sum -P2 / provtrack" "" ""
            ratio_row "(b) provtrack unchanged re-scan" "$t_re" "$t_pt" "$t_re" "first scan / re-scan" "" ""
            if [ -x /usr/bin/time ]; then
                note "  peak RSS of a first scan (1 run)"
                eval "$fresh"
                if /usr/bin/time -f %M -o "$work/log/rss-b" "$pt" $scan_args "$dir" $meta >/dev/null 2>"$work/log/rss-b.log"; then
                    rss=$(div "$(tail -1 "$work/log/rss-b")" 1024 %.0f)
                    row "(b) provtrack first scan peak RSS" "" "$rss" "MB (MiB), /usr/bin/time %M" "< 200" "$(verdict "$rss" "<" 200)"
                else
                    row "(b) provtrack first scan peak RSS" "" ERROR "MB (MiB)" "< 200" ERROR; failed=1
                fi
            else
                row "(b) provtrack first scan peak RSS" "" "n/a" "no /usr/bin/time" "< 200" ERROR; failed=1
            fi
        fi
        if [ -n "$dvc" ]; then
            repo="$work/dvc-$s"
            keep=$failed # a dvc failure does not fail the run
            t "dvc-add-$s" "$dvc_runs" 1 "$(dvc_repo "$s")" "cd $repo && DVC_SITE_CACHE_DIR=$repo/.dvc/site-cache $dvc add -q data"; t_add=$T
            failed=$keep
            if [ "$t_add" = ERROR ]; then
                row "($s) dvc add" "skipped" "" "dvc add failed (see log)"
            else
                limit=15; [ "$s" = b ] && limit=30
                ratio_row "($s) dvc add ($dvc_runs runs)" "$t_add" "$t_add" "$t_pt" "dvc add / provtrack first scan" ">=" "$limit"
                if [ "$s" = b ]; then
                    t "dvc-status-b" "$runs" 1 "" "cd $repo && DVC_SITE_CACHE_DIR=$repo/.dvc/site-cache $dvc status -q"; t_st=$T
                    failed=$keep
                    if [ "$t_st" = ERROR ]; then
                        row "(b) dvc status, unchanged" "skipped" "" "dvc status failed (see log)"
                    else
                        ratio_row "(b) dvc status, unchanged" "$t_st" "$t_st" "$t_re" "dvc status / provtrack re-scan" ">=" 10
                    fi
                fi
            fi
            rm -rf "$repo"
        else
            row "($s) dvc add" "skipped" "" "dvc not available"
        fi
        ;;
    c)
        bytes=$(find "$dir" -type f -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
        prep="$fresh && $pt --registry $db -q apply $work/policy.toml"
        t "pt-c" "$runs" 0 "$prep" "$pt $scan_args $dir $meta"; t_all=$T
        t "pt-c-jobs1" "$runs" 0 "$prep" "$pt $scan_args $dir $meta --jobs 1"; t_one=$T
        t "b3-c" "$runs" 1 "" "$b3"; t_b3=$T
        row "(c) b3sum, 1 process" "$t_b3"
        if [ "$t_all" != ERROR ]; then
            mbs=$(div "$bytes" "$(awk -v t="$t_all" -v c="$cores" 'BEGIN { print t * c * 1e6 }')" %.0f)
            row "(c) provtrack first scan, $cores threads" "$t_all" "$mbs" "MB/s per core (bytes/s/$cores/1e6)" ">= 300" "$(verdict "$mbs" ">=" 300)"
        else
            row "(c) provtrack first scan, $cores threads" ERROR ERROR "MB/s per core" ">= 300" ERROR
        fi
        if [ "$t_one" != ERROR ]; then
            row "(c) provtrack first scan, --jobs 1" "$t_one" "$(div "$bytes" "$(awk -v t="$t_one" 'BEGIN { print t * 1e6 }')" %.0f)" "MB/s on one thread"
        else
            row "(c) provtrack first scan, --jobs 1" ERROR
        fi
        # correctness: the attribution counts provtrack reports against the generator's
        eval "$prep" >/dev/null
        if "$pt" --registry "$db" -q --format json scan "$dir" $meta >"$work/log/c-scan.json" 2>"$work/log/c-scan.log" &&
            check=$(python3 - "$work/log/c-scan.json" "$work/c.expect.json" <<'EOF'
import json, sys
got, want = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
have = {"records": got.get("records"), "unattributed": got.get("unattributed_records")}
have.update({k: v.get("records") for k, v in got.get("sources", {}).items()})
print("match" if all(have.get(k) == v for k, v in want.items()) else f"MISMATCH got {have} want {want}")
EOF
            ); then
            row "(c) attribution counts vs generator" "" "" "$check"
            [ "$check" = match ] || note "  (c) $check"
        else
            row "(c) attribution counts vs generator" "" ERROR "scan --format json failed"; failed=1
        fi
        row "(c) JSON Lines bytes" "" "$bytes"
        ;;
    esac
done

echo
echo "provtrack scan benchmark: $cores cores, median of $runs runs$([ -n "$dvc" ] && echo " (dvc add: $dvc_runs)") after 1 warm-up, warm page cache," \
    "$([ -n "$have_hyperfine" ] && echo hyperfine || echo 'bash loop')"
printf '%-40s %9s %9s  %-30s %-9s %s\n' "measurement" "median s" "ratio" "ratio of / unit" "target" "result"
for r in "${rows[@]}"; do echo "$r"; done | sed 's/ *$//'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on the machine skew the figures)"
exit "$failed"
