#!/usr/bin/env bash
# Scanner benchmark: provtrack scan against b3sum, sha256sum and (when it installs) dvc, in
# one run, on data generated deterministically in a temporary directory (never in git):
#   (a) 2 GiB in 32 shards of 64 MiB      target: provtrack wall <= 1.1 x b3sum
#   (b) 50,000 files of 8 KiB, nested      target: provtrack >= 1.7 x faster than b3sum,
#                                                  peak RSS < 200 MB
#   unchanged re-scan                      target: (a) >= 20 x faster than its first scan,
#                                                  (b) >= 10 x faster than `dvc status`
#   (c) 1 GiB of JSON Lines, URL attribution target: >= 300 MB/s per core
#   dvc add                                 target: provtrack first scan >= 15 x (a), 30 x (b)
# Warm page cache; each first scan goes into a fresh registry. Prints one line per figure
# with PASS/FAIL; exits 0 whatever the figures (it is a benchmark, not a test).
#
# Environment: BENCH_SETS="a b c" (which sets), BENCH_RUNS=5, BENCH_NO_INSTALL=1 (install
# nothing), BENCH_NO_DVC=1 (skip dvc), BENCH_KEEP=1 (keep the data), PROVTRACK=path.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
sets=${BENCH_SETS:-a b c}
runs=${BENCH_RUNS:-5}
cores=$(nproc)
note() { echo "bench: $*" >&2; }

# --- tools --------------------------------------------------------------------------------
if [ -z "${BENCH_NO_INSTALL:-}" ]; then
    command -v b3sum >/dev/null || cargo install b3sum --locked >&2
    if ! command -v hyperfine >/dev/null || [ ! -x /usr/bin/time ]; then
        (apt-get install -y hyperfine time >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && apt-get install -y hyperfine time >/dev/null 2>&1; }) ||
            note "could not install hyperfine/time"
    fi
fi
export PATH="$HOME/.cargo/bin:$PATH"
command -v b3sum >/dev/null || { note "b3sum is needed (cargo install b3sum)"; exit 2; }
command -v hyperfine >/dev/null || { note "hyperfine is needed (apt-get install hyperfine)"; exit 2; }
provtrack=${PROVTRACK:-$here/target/release/provtrack}
if [ ! -x "$provtrack" ]; then
    (cd "$here" && cargo build --release >&2)
fi
dvc=""
if [ -z "${BENCH_NO_DVC:-}" ]; then
    venv=/tmp/provtrack-bench-venv
    if [ ! -x "$venv/bin/dvc" ] && [ -z "${BENCH_NO_INSTALL:-}" ]; then
        note "installing dvc into $venv (once)"
        (python3 -m venv "$venv" && "$venv/bin/pip" install -q dvc) >&2 || note "dvc could not be installed; its rows are skipped"
    fi
    [ -x "$venv/bin/dvc" ] && dvc="$venv/bin/dvc"
fi

work=$(mktemp -d /tmp/provtrack-bench.XXXXXX)
[ -n "${BENCH_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
note "data in $work"

# --- data ---------------------------------------------------------------------------------
gen() {
    python3 - "$work" "$1" <<'EOF'
import hashlib, json, os, random, sys
work, which = sys.argv[1], sys.argv[2]
if which == "a":
    block = b"".join(hashlib.sha256(i.to_bytes(4, "little")).digest() for i in range(32768))
    os.makedirs(f"{work}/a", exist_ok=True)
    for f in range(32):
        with open(f"{work}/a/shard-{f:02}.bin", "wb") as out:
            for m in range(64):
                out.write(f.to_bytes(4, "little") + m.to_bytes(4, "little") + block[8:])
elif which == "b":
    block = hashlib.sha256(b"seed").digest() * 256
    for i in range(50000):
        d = f"{work}/b/d{i % 50:02}/s{(i // 50) % 10}"
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/f{i:05}.bin", "wb") as out:
            out.write(i.to_bytes(8, "little") + block[8:])
elif which == "c":
    rng = random.Random(20230209)
    hosts = ["twitter.com", "mobile.twitter.com", "x.com", "www.reddit.com",
             "en.wikipedia.org", "example.org", "notx.com"]
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    os.makedirs(f"{work}/c", exist_ok=True)
    n = 0
    for f in range(16):
        lines = []
        size = 0
        while size < 64 * 1024 * 1024:
            text = " ".join(rng.choice(words) for _ in range(rng.randint(25, 45)))
            line = json.dumps({"id": n, "text": text, "meta": {"lang": "en"},
                               "url": f"https://{hosts[n % 7]}/p/{n}"})
            lines.append(line)
            size += len(line) + 1
            n += 1
        with open(f"{work}/c/part-{f:02}.jsonl", "w") as out:
            out.write("\n".join(lines) + "\n")
    with open(f"{work}/policy.toml", "w") as out:
        for sid, doms in [("twitter", ["twitter.com", "x.com"]), ("reddit", ["reddit.com"]),
                          ("wikipedia", ["wikipedia.org"])]:
            out.write(f'[[source]]\nid = "{sid}"\ndomains = {json.dumps(doms)}\n\n')
EOF
}

# --- timing helpers -----------------------------------------------------------------------
# mean seconds of a command over $runs runs (after one warm-up), via hyperfine's JSON.
# Without a shell (-N) when the command has no shell syntax, so short runs are not swamped
# by shell start-up; with one otherwise.
mean() { # name prepare command
    local json="$work/$1.json" prep=()
    [ -n "$2" ] && prep=(--prepare "$2")
    hyperfine -N --style none --warmup 1 --runs "$runs" "${prep[@]}" --export-json "$json" "$3" >/dev/null 2>&1 ||
        hyperfine --style none --warmup 1 --runs "$runs" "${prep[@]}" --export-json "$json" "$3" >/dev/null 2>&1
    python3 -c "import json,sys; print(f\"{json.load(open(sys.argv[1]))['results'][0]['mean']:.4f}\")" "$json"
}
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
verdict() { python3 -c "import sys; v,t,op=float(sys.argv[1]),float(sys.argv[2]),sys.argv[3]; print('PASS' if (v<=t if op=='le' else v>=t) else 'FAIL')" "$1" "$2" "$3"; }
rows=()
row() { rows+=("$(printf '%-58s %10s  %-14s %s' "$1" "$2" "$3" "$4")"); }
db="$work/reg.db"
fresh="rm -f $db $db-wal $db-shm"

for s in $sets; do
    note "generating set ($s)"
    gen "$s"
    find "$work/$s" -type f | sort > "$work/$s.files"
    cat "$work/$s".files | xargs -d '\n' cat > /dev/null # warm the page cache
    case $s in
    a | b)
        scan="$provtrack --registry $db -q scan $work/$s --dataset $s@1"
        note "($s) provtrack first scan"
        t_pt=$(mean "pt-$s" "$fresh" "$scan")
        note "($s) b3sum"
        t_b3=$(mean "b3-$s" "" "xargs -d '\\n' b3sum < $work/$s.files > /dev/null")
        t_b3p=$(mean "b3p-$s" "" "xargs -d '\\n' -P2 -n 25000 b3sum < $work/$s.files > /dev/null")
        note "($s) sha256sum"
        t_sha=$(mean "sha-$s" "" "xargs -d '\\n' sha256sum < $work/$s.files > /dev/null")
        eval "$fresh"; $scan >/dev/null
        note "($s) unchanged re-scan"
        t_re=$(mean "re-$s" "" "$scan")
        row "($s) provtrack first scan (s)" "$t_pt" "" ""
        row "($s) b3sum, one process (s)" "$t_b3" "" ""
        row "($s) b3sum, two processes (s)" "$t_b3p" "" ""
        row "($s) sha256sum (s)" "$t_sha" "" ""
        if [ "$s" = a ]; then
            r=$(ratio "$t_pt" "$t_b3")
            row "(a) provtrack / b3sum wall time" "$r" "target <= 1.1" "$(verdict "$r" 1.1 le)"
            r=$(ratio "$t_pt" "$t_re")
            row "(a) unchanged re-scan (s)" "$t_re" "" ""
            row "(a) first scan / unchanged re-scan" "$r" "target >= 20" "$(verdict "$r" 20 ge)"
        else
            r=$(ratio "$t_b3" "$t_pt")
            row "(b) b3sum / provtrack (speed-up)" "$r" "target >= 1.7" "$(verdict "$r" 1.7 ge)"
            row "(b) b3sum two processes / provtrack" "$(ratio "$t_b3p" "$t_pt")" "" ""
            eval "$fresh"
            rss=$( { /usr/bin/time -f '%M' $scan >/dev/null; } 2>&1 | tail -1)
            rss_mb=$(python3 -c "print(f'{int(\"$rss\") / 1024:.0f}')")
            row "(b) provtrack peak RSS (MB)" "$rss_mb" "target < 200" "$(verdict "$rss_mb" 199.99 le)"
            row "(b) unchanged re-scan (s)" "$t_re" "" ""
            row "(b) first scan / unchanged re-scan" "$(ratio "$t_pt" "$t_re")" "" ""
        fi
        if [ -n "$dvc" ]; then
            note "($s) dvc add (takes a while)"
            repo="$work/dvc-$s"
            t_dvc_add=$(runs=3 mean "dvc-add-$s" "rm -rf $repo && mkdir -p $repo && cp -al $work/$s $repo/data && cd $repo && $dvc init --no-scm -q" \
                "cd $repo && $dvc add -q data")
            target=15; [ "$s" = b ] && target=30
            r=$(ratio "$t_dvc_add" "$t_pt")
            row "($s) dvc add (s)" "$t_dvc_add" "" ""
            row "($s) dvc add / provtrack first scan" "$r" "target >= $target" "$(verdict "$r" $target ge)"
            if [ "$s" = b ]; then
                t_dvc_st=$(mean "dvc-status-$s" "" "cd $repo && $dvc status -q")
                r=$(ratio "$t_dvc_st" "$t_re")
                row "(b) dvc status (s)" "$t_dvc_st" "" ""
                row "(b) dvc status / provtrack unchanged re-scan" "$r" "target >= 10" "$(verdict "$r" 10 ge)"
            fi
            rm -rf "$repo"
        fi
        rm -rf "${work:?}/$s"
        ;;
    c)
        prep="$fresh && $provtrack --registry $db -q apply $work/policy.toml"
        scan="$provtrack --registry $db -q scan $work/c --dataset c@1 --rehash"
        bytes=$(cat "$work/c".files | xargs -d '\n' du -cb | tail -1 | cut -f1)
        note "(c) provtrack attribution scan, all cores and one core"
        t_all=$(mean "pt-c" "$prep" "$scan")
        t_one=$(mean "pt-c1" "$prep" "$scan --jobs 1")
        t_b3=$(mean "b3-c" "" "xargs -d '\\n' b3sum < $work/c.files > /dev/null")
        mbs_one=$(python3 -c "print(f'{$bytes / $t_one / 1e6:.0f}')")
        mbs_all=$(python3 -c "print(f'{$bytes / $t_all / 1e6 / $cores:.0f}')")
        row "(c) JSON Lines bytes" "$bytes" "" ""
        row "(c) provtrack scan, $cores cores (s)" "$t_all" "" ""
        row "(c) b3sum, hash only (s)" "$t_b3" "" ""
        row "(c) MB/s per core, --jobs 1" "$mbs_one" "target >= 300" "$(verdict "$mbs_one" 300 ge)"
        row "(c) MB/s per core, $cores cores" "$mbs_all" "target >= 300" "$(verdict "$mbs_all" 300 ge)"
        rm -rf "${work:?}/c"
        ;;
    esac
done

echo "provtrack scan benchmark: $(nproc) cores, $runs runs each, warm page cache"
printf '%-58s %10s  %-14s %s\n' "measurement" "value" "target" ""
for r in "${rows[@]}"; do echo "$r"; done
