#!/usr/bin/env python3
"""Regenerates samples/datasets/ deterministically (fixed seed, gzip mtime 0).

The bundled sample story: ACME pulled tweets through Twitter's free API (cap 500 records a
month) and then its paid tier, crawled a web mix with Reddit and Wikipedia content and pages
of unknown origin, and licensed Getty images for editorial display only.
Run from the repository root: python3 scripts/gen-samples.py
"""
import gzip
import io
import json
import os
import random
import shutil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples", "datasets")
rng = random.Random(20230209)
WORDS = ("model data post thread photo river city market launch update night team "
         "open policy vote music match rain coffee train code stream news story").split()


def text(n=12):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def write_jsonl(path, records, gz=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
    if gz:
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as f:
            f.write(data)
        data = buf.getvalue()
    with open(path, "wb") as f:
        f.write(data)


def tweets(n, hosts, start):
    out = []
    for i in range(n):
        host = hosts[i % len(hosts)]
        sid = start + i
        out.append({"id": str(sid), "text": text(), "lang": "en",
                    "url": f"https://{host}/user{sid % 97}/status/{sid}"})
    return out


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    # tw-pull@2022-03: 1,200 tweets pulled in March 2022 through the free API.
    tw = os.path.join(ROOT, "tw-pull")
    write_jsonl(os.path.join(tw, "part-0000.jsonl"),
                tweets(600, ["twitter.com", "mobile.twitter.com", "x.com"], 1_500_000_000))
    write_jsonl(os.path.join(tw, "part-0001.jsonl.gz"),
                tweets(600, ["twitter.com", "t.co"], 1_500_000_600), gz=True)

    # web-mix@2022: a crawl with Reddit (meta.url), Wikipedia (metadata.url, gzip), pages of
    # unknown origin, and one file copied byte for byte from tw-pull.
    wm = os.path.join(ROOT, "web-mix")
    os.makedirs(os.path.join(wm, "social"))
    shutil.copyfile(os.path.join(tw, "part-0000.jsonl"), os.path.join(wm, "social", "tw-part-0000.jsonl"))
    hosts = ["www.reddit.com", "old.reddit.com", "redd.it"]
    write_jsonl(os.path.join(wm, "forums", "reddit-000.jsonl"),
                [{"title": text(6), "body": text(30),
                  "meta": {"subreddit": rng.choice(["ml", "news", "pics"]),
                           "url": f"https://{hosts[i % 3]}/r/ml/comments/{i:06x}"}}
                 for i in range(300)])
    write_jsonl(os.path.join(wm, "encyclopedia", "wiki-000.jsonl.gz"),
                [{"title": text(3), "text": text(60),
                  "metadata": {"url": f"https://en.wikipedia.org/wiki/Article_{i}", "rev": i * 7}}
                 for i in range(200)], gz=True)
    unknown = ["example-blog.net", "notx.com", "news.example.org", "forum.example.com"]
    write_jsonl(os.path.join(wm, "web", "crawl-000.jsonl"),
                [{"source_url": f"https://{unknown[i % 4]}/p/{i}", "text": text(40)} for i in range(150)])

    # getty-images@2021: images (opaque files, declared with --source) and captions whose
    # source_url points at gettyimages.com.
    gt = os.path.join(ROOT, "getty")
    os.makedirs(os.path.join(gt, "images"), exist_ok=True)
    for i in range(12):
        body = bytes(rng.getrandbits(8) for _ in range(2048))
        with open(os.path.join(gt, "images", f"img-{i:04d}.jpg"), "wb") as f:
            f.write(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + body + b"\xff\xd9")
    write_jsonl(os.path.join(gt, "captions.jsonl"),
                [{"image": f"images/img-{i:04d}.jpg", "caption": text(10),
                  "source_url": f"https://www.gettyimages.com/detail/photo/{1000 + i}"}
                 for i in range(12)])


if __name__ == "__main__":
    main()
