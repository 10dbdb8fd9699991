#!/usr/bin/env python3
"""Writes tests/fixtures/formats/: small shards as the tools ML teams use write them.

Every layout holds the same six records: 2 from twitter (twitter.com, x.com), 3 from
reddit (reddit.com) and 1 from elsewhere, so tests/layouts.rs asserts the same counts for
each. Run from the repository root in a throw-away venv:

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pyarrow pandas zstandard \
        webdataset datasets
    /tmp/venv/bin/python scripts/gen-format-fixtures.py

Needs the `zstd` command (for `--long=31`). Output is deterministic except for gzip/zstd
framing details of the tools' versions; each file stays well under 50 KB.
"""

import bz2
import gzip
import io
import json
import lzma
import os
import subprocess
import tarfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

OUT = os.path.join("tests", "fixtures", "formats")

URLS = [
    "https://twitter.com/a/status/1",
    "https://mobile.x.com/b/status/2",
    "https://www.reddit.com/r/one",
    "https://old.reddit.com/r/two",
    "https://reddit.com/r/three",
    "https://example.org/elsewhere",
]
TEXTS = [f"document {i}, with a comma and \"quotes\"" for i in range(len(URLS))]


def path(*parts):
    p = os.path.join(OUT, *parts)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


def frame(url_column="url"):
    return pd.DataFrame({"text": TEXTS, url_column: URLS})


def main():
    # C4 / Dolma: JSON Lines, gzip, named .json.gz (pandas writes the gzip).
    frame().to_json(path("c4", "c4-train.00000-of-01024.json.gz"), orient="records",
                    lines=True, compression="gzip")
    # HF `Dataset.to_json("train.json")` (pandas underneath): JSON Lines in a .json file.
    frame().to_json(path("hf-json", "train.json"), orient="records", lines=True)
    # HF `to_json(lines=False)`: one JSON array of records (pandas escapes '/' as '\/').
    frame().to_json(path("json-array", "train.json"), orient="records")
    # Spark: JSON Lines in part files, plus its _SUCCESS marker.
    spark = path("spark", "part-00000-5a1e4c2b-0f3d-4a8e-9b7c-1d2e3f4a5b6c-c000.json")
    with open(spark, "w") as f:
        for t, u in zip(TEXTS, URLS):
            f.write(json.dumps({"text": t, "url": u}, separators=(",", ":")) + "\n")
    open(path("spark", "_SUCCESS"), "w").close()
    # An extension-less JSON Lines shard, gzip-compressed.
    with gzip.open(path("no-extension", "shard-0001"), "wt") as f:
        for t, u in zip(TEXTS, URLS):
            f.write(json.dumps({"text": t, "url": u}) + "\n")
    # LAION metadata: a `URL` column (pyarrow), and a url column stored as binary.
    pq.write_table(pa.table({"URL": URLS, "TEXT": TEXTS}), path("laion", "part-00000.parquet"))
    pq.write_table(
        pa.table({"url": pa.array([u.encode() for u in URLS], type=pa.binary()),
                  "text": TEXTS}),
        path("parquet-binary", "data.parquet"))
    # Per-row fallback in Parquet: `url` null or empty, `link` holds the URL.
    pq.write_table(
        pa.table({"url": [URLS[0], None, "", URLS[3], None, URLS[5]],
                  "link": [None, URLS[1], URLS[2], None, URLS[4], None]}),
        path("parquet-fallback", "data.parquet"))
    # RedPajama: `meta` is a string holding JSON.
    with open(path("redpajama", "arxiv_0.jsonl"), "w") as f:
        for t, u in zip(TEXTS, URLS):
            meta = json.dumps({"url": u, "language": "en"})
            f.write(json.dumps({"text": t, "meta": meta}) + "\n")
    # JSON Lines whose url is null: the next candidate (source_url) is used per record.
    with open(path("jsonl-fallback", "data.jsonl"), "w") as f:
        for i, (t, u) in enumerate(zip(TEXTS, URLS)):
            rec = {"text": t, "url": None if i % 2 else u}
            if i % 2:
                rec["source_url"] = u
            f.write(json.dumps(rec) + "\n")
    # A CSV with a `URL` header (pandas), and a pandas TSV whose quoted captions hold
    # newlines (one record each, not two).
    frame("URL").to_csv(path("csv-upper", "data.csv"), index=False)
    multi = frame()
    multi["text"] = [t + "\nsecond line" for t in TEXTS]
    multi.to_csv(path("tsv-quoted", "data.tsv"), sep="\t", index=False)
    # CC3M: headerless `caption<TAB>url`.
    frame()[["text", "url"]].to_csv(path("cc3m", "Train_GCC-training.tsv"), sep="\t",
                                    index=False, header=False)
    # JSON Lines compressed by the zstd command with a 2 GiB window (--long=31), streamed
    # through a pipe as pipelines do: the size is unknown, so the frame keeps the window
    # (given a file, zstd shrinks the window to the file's size).
    text = frame().to_json(orient="records", lines=True).encode()
    with open(path("zstd-long", "data.jsonl.zst"), "wb") as f:
        subprocess.run(["zstd", "-q", "--long=31", "-c"], input=text, stdout=f, check=True)
    # Records without any URL field: the scan says `no-url-field`.
    with open(path("no-url", "data.jsonl"), "w") as f:
        for t in TEXTS:
            f.write(json.dumps({"text": t, "id": 1}) + "\n")


def containers():
    lines = "".join(json.dumps({"text": t, "url": u}) + "\n" for t, u in zip(TEXTS, URLS))
    # bzip2 and xz, by Python's bz2 and lzma modules (libbz2, liblzma).
    with bz2.open(path("bz2", "data.jsonl.bz2"), "wt") as f:
        f.write(lines)
    with lzma.open(path("xz", "data.csv.xz"), "wt") as f:
        f.write(frame().to_csv(index=False))
    # WebDataset, by webdataset's TarWriter: image bytes + a .json with the url.
    import webdataset as wds
    with wds.TarWriter(path("webdataset", "000000.tar")) as sink:
        for i, (t, u) in enumerate(zip(TEXTS, URLS)):
            sink.write({"__key__": f"{i:06d}", "jpg": b"\xff\xd8\xff" + bytes(64),
                        "txt": t, "json": {"url": u, "caption": t}})
    # img2dataset's output folder: NNNNN.tar (successful samples), NNNNN.parquet (every
    # attempted download, failed ones too) and NNNNN_stats.json.
    with wds.TarWriter(path("img2dataset", "00000.tar")) as sink:
        for i, (t, u) in enumerate(zip(TEXTS, URLS)):
            sink.write({"__key__": f"{i:09d}", "jpg": b"\xff\xd8\xff" + bytes(64),
                        "txt": t, "json": {"url": u, "caption": t, "key": f"{i:09d}",
                                           "status": "success"}})
    attempted = URLS + ["https://twitter.com/failed/1", "https://reddit.com/failed/2"]
    pq.write_table(pa.table({"url": attempted, "key": [f"{i:09d}" for i in range(8)],
                             "status": ["success"] * 6 + ["failed_to_download"] * 2}),
                   path("img2dataset", "00000.parquet"))
    with open(path("img2dataset", "00000_stats.json"), "w") as f:
        json.dump({"count": 8, "successes": 6, "failed_to_download": 2}, f, indent=4)
    # A tar that is not WebDataset (gzip-compressed, tarfile): two opaque members.
    with tarfile.open(path("plain-tar", "docs.tar.gz"), "w:gz") as tf:
        for name, body in [("README", b"read me\n"), ("LICENSE", b"licence text\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tf.addfile(info, io.BytesIO(body))
    # Hugging Face `save_to_disk`: an Arrow IPC stream plus dataset_info.json and state.json.
    import datasets
    datasets.Dataset.from_dict({"text": TEXTS, "url": URLS}).save_to_disk(
        os.path.join(OUT, "hf-arrow"))
    # An Arrow IPC file (pyarrow), the URL in a struct column `meta`.
    table = pa.table({"text": TEXTS, "meta": [{"url": u, "lang": "en"} for u in URLS]})
    with pa.ipc.new_file(path("arrow-file", "data.arrow"), table.schema) as w:
        w.write_table(table)


if __name__ == "__main__":
    main()
    containers()
