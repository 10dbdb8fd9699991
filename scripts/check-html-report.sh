#!/usr/bin/env bash
# Headless-browser check of `provtrack html-report` on the sample story: the page loads
# with no console message (no script error) and its screenshot is not blank. Skips, saying
# so, when no Chromium is installed (`apt-get install chromium` provides one).
set -euo pipefail
cd "$(dirname "$0")/.."

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
    echo "check-html-report: no Chromium on this machine; headless-browser check skipped"
    exit 0
fi
bin=${PROVTRACK_BIN:-target/debug/provtrack}
[ -x "$bin" ] || cargo build --locked --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PROVTRACK_REGISTRY="$tmp/reg.db"
"$bin" -q apply samples/policy.toml >/dev/null
"$bin" -q scan samples/datasets/tw-pull --dataset tw-pull@2022-03 --org acme --collected 2022-03-15 >/dev/null
"$bin" -q scan samples/datasets/web-mix --dataset web-mix@2022 --org acme --collected 2022-10-01 >/dev/null
"$bin" -q scan samples/datasets/getty --dataset getty-images@2021 --org acme \
    --collected 2021-06-01 --source getty-images >/dev/null
"$bin" -q html-report --out "$tmp/report.html"
printf '<!DOCTYPE html><html><body></body></html>\n' > "$tmp/blank.html"

shot() { # shot NAME: screenshot $tmp/NAME.html to $tmp/NAME.png, browser log in $tmp/NAME.log
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start;
    # --disable-dev-shm-usage: containers have a small /dev/shm. Headless Chromium now and
    # then crashes on start in a container, so a crash is retried (twice) before it fails.
    local try
    for try in 1 2 3; do
        if timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
            --hide-scrollbars --enable-logging=stderr --v=0 --window-size=1400,2000 \
            --user-data-dir="$tmp/profile-$1-$try" \
            --screenshot="$tmp/$1.png" "file://$tmp/$1.html" >/dev/null 2>"$tmp/$1.log" \
            && [ -s "$tmp/$1.png" ]; then
            return 0
        fi
        echo "check-html-report: $browser failed on $1.html (try $try)" >&2
    done
    cat "$tmp/$1.log" >&2
    exit 1
}
shot blank
shot report
if grep -q ":CONSOLE" "$tmp/report.log"; then
    grep ":CONSOLE" "$tmp/report.log" >&2
    echo "check-html-report: the page logged to the console" >&2
    exit 1
fi
blank=$(wc -c < "$tmp/blank.png")
page=$(wc -c < "$tmp/report.png")
# A blank page compresses to a few KB; the report (text, tables, charts) to far more.
if [ "$page" -le $((blank * 4)) ]; then
    echo "check-html-report: screenshot looks blank ($page bytes vs $blank for an empty page)" >&2
    exit 1
fi
echo "check-html-report: page loaded without console messages; screenshot $page bytes (empty page $blank)"
