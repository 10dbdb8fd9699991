#!/usr/bin/env python3
"""A synthetic training pipeline for record prints (issue 16): three pulls with URLs, and a
training set derived from them the way real pipelines do it.

    gen-derived.py OUT N [--seed S]

OUT/pulls/{twitter,reddit,wikipedia}/*.jsonl.gz  N records each (URL + text; 2 % exact
                                                 duplicates inside each pull)
OUT/derived/                                     exact dedup, 10 % filtered out, 3 % more
                                                 records of content never registered added,
                                                 shuffled, `url` dropped, 5 % of texts with
                                                 changed white space, re-sharded into zstd
                                                 Parquet (pyarrow) and .jsonl.gz of
                                                 different sizes
OUT/truth.json                                   per-source records of the derived set
                                                 ("unregistered": never pulled: no source
                                                 may claim them)
OUT/match/known.jsonl, unknown.jsonl             1,000 (or N/3) posts of the pulls (as the
                                                 platform holds them) and as many never pulled
OUT/match/variants/*.jsonl                       the known posts re-typed: white space, case,
                                                 fullwidth forms, HTML entities, one word edited

Deterministic for a seed. The committed fixture tests/fixtures/derived is
`gen-derived.py tests/fixtures/derived 120` run in a venv with pyarrow (see
scripts/gen-format-fixtures.py).
"""

import gzip
import io
import json
import os
import random
import sys

import pyarrow as pa
import pyarrow.parquet as pq

SOURCES = {
    "twitter": "https://twitter.com/{u}/status/{i}",
    "reddit": "https://www.reddit.com/r/{u}/comments/{i}/",
    "wikipedia": "https://en.wikipedia.org/wiki/Article_{i}",
}
WORDS = (
    "data model train open license river cloud light paper music garden city night "
    "market story winter signal robot planet coffee forest engine window bridge voice "
    "summer photo camera rocket ocean thunder pixel vector matrix kernel socket "
    "lambda beacon harbor meadow canyon glacier lantern compass anchor velvet amber"
).split()


# gzip level: 6 as most tools write; the benchmark's large sets use 1 to generate faster.
LEVEL = int(os.environ.get("GEN_GZIP_LEVEL", "6"))


def gz(path):
    """A gzip text file with no time in its header (the output is reproducible)."""
    raw = gzip.GzipFile(path, "wb", compresslevel=LEVEL, mtime=0)
    return io.TextIOWrapper(raw, encoding="utf-8")


def text(rng):
    n = rng.randint(8, 40)
    words = [rng.choice(WORDS) for _ in range(n)]
    words.append(str(rng.getrandbits(40)))
    rng.shuffle(words)
    return " ".join(words).capitalize() + "."


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--seed" else 16
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    pulled = []  # (source, text)
    for source, pattern in SOURCES.items():
        d = os.path.join(out, "pulls", source)
        os.makedirs(d, exist_ok=True)
        rows = []
        for i in range(n):
            if rows and rng.random() < 0.02:
                rows.append(rows[rng.randrange(len(rows))])  # an exact duplicate
                continue
            t = text(rng)
            rows.append({"url": pattern.format(u="user%d" % rng.randrange(1000), i=i), "text": t})
        per = max(1, len(rows) // 2)
        for k in range(0, len(rows), per):
            with gz(os.path.join(d, "%05d.jsonl.gz" % (k // per))) as f:
                for r in rows[k : k + per]:
                    f.write(json.dumps(r) + "\n")
        pulled += [(source, r["text"]) for r in rows]

    # The pipeline: exact dedup, filter 10 %, shuffle, drop url, white space in 5 %.
    seen, kept = set(), []
    for source, t in pulled:
        if t in seen:
            continue
        seen.add(t)
        if rng.random() < 0.10:
            continue
        kept.append((source, t))
    for _ in range(len(kept) * 3 // 100):
        kept.append(("unregistered", text(rng)))
    rng.shuffle(kept)
    truth = {}
    rows = []
    for source, t in kept:
        if rng.random() < 0.05:
            t = t.replace(" ", "  ", 2).replace(" ", "\n", 1) + " "
        rows.append({"text": t, "lang": "en"})
        truth[source] = truth.get(source, 0) + 1
    d = os.path.join(out, "derived")
    os.makedirs(d, exist_ok=True)
    half = len(rows) * 55 // 100
    parquet_rows, jsonl_rows = rows[:half], rows[half:]
    for k, part in enumerate((parquet_rows[: half // 3], parquet_rows[half // 3 :])):
        table = pa.Table.from_pylist(part)
        pq.write_table(table, os.path.join(d, "train-%05d.parquet" % k), compression="zstd")
    cut = len(jsonl_rows) * 2 // 3
    for k, part in enumerate((jsonl_rows[:cut], jsonl_rows[cut:])):
        with gz(os.path.join(d, "train-%05d.jsonl.gz" % (k + 2))) as f:
            for r in part:
                f.write(json.dumps(r) + "\n")
    jsonl_bytes = sum(len(json.dumps(r)) + 1 for r in rows)
    with open(os.path.join(out, "truth.json"), "w") as f:
        json.dump({"derived": truth, "records": len(rows), "jsonl_bytes": jsonl_bytes}, f,
                  indent=1, sort_keys=True)
        f.write("\n")

    # The platform's question: its own posts (some pulled, some not).
    m = os.path.join(out, "match")
    os.makedirs(os.path.join(m, "variants"), exist_ok=True)
    k = min(1000, max(1, n // 3))
    twitter = [t for s, t in pulled if s == "twitter"]
    known = rng.sample(sorted(set(twitter)), k)
    with open(os.path.join(m, "known.jsonl"), "w") as f:
        for t in known:
            f.write(json.dumps({"text": t}) + "\n")
    with open(os.path.join(m, "unknown.jsonl"), "w") as f:
        for _ in range(k):
            f.write(json.dumps({"text": text(rng)}) + "\n")
    variants = {
        "whitespace": lambda t: "  " + t.replace(" ", " \n ") + "\t",
        "case": lambda t: t.upper(),
        "fullwidth": lambda t: "".join(chr(ord(c) + 0xFEE0) if "a" <= c <= "z" else c for c in t),
        "html-entity": lambda t: t.replace(".", "&#46;"),
        "edited": lambda t: t.replace(t.split()[1], "changed", 1),
    }
    for name, f_ in variants.items():
        with open(os.path.join(m, "variants", name + ".jsonl"), "w", encoding="utf-8") as f:
            for t in known:
                f.write(json.dumps({"text": f_(t)}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
