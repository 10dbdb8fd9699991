//! Record prints through the built binary: a training set re-packed from three pulls (dedup,
//! filter, shuffle, `url` dropped, white space changed, re-sharded into zstd Parquet and
//! .jsonl.gz by pyarrow and Python, see scripts/gen-derived.py) is attributed to its sources
//! by print with no flags, and `match` answers a platform's question. Runs on PostgreSQL
//! too with `PROVTRACK_TEST_POSTGRES=1`.

mod common;

use std::path::PathBuf;

use common::Env;
use serde_json::Value;

fn fixture(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/derived")
        .join(rel)
        .display()
        .to_string()
}

fn truth() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("truth.json")).unwrap()).unwrap()
}

/// A registry with the sample policy applied.
fn with_policy() -> Env {
    let env = Env::new();
    let policy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/policy.toml");
    env.ok(&["apply", policy.to_str().unwrap()]);
    env
}

/// A registry holding these sources' pulls (`SOURCE-pull@1`), registered with their URLs.
fn with_pulls(sources: &[&str]) -> Env {
    let env = with_policy();
    for s in sources {
        let dir = fixture(&format!("pulls/{s}"));
        let ds = format!("{s}-pull@1");
        let out = env.json(&["scan", &dir, "--dataset", &ds, "--collected", "2026-01-01"]);
        assert_eq!(out["sources"][s]["records"], 120, "{out}");
    }
    env
}

/// Records the model `ranker`, trained on `train@1`.
fn train_ranker(env: &Env) {
    env.ok(&[
        "train",
        "ranker",
        "--org",
        "acme",
        "--date",
        "2026-04-01",
        "--dataset",
        "train@1",
    ]);
}

/// The pulls registered with their URLs, then the derived set scanned with no flags.
fn pipeline() -> (Env, Value) {
    let env = with_pulls(&["twitter", "reddit", "wikipedia"]);
    let derived = fixture("derived");
    let out = env.json(&[
        "scan",
        &derived,
        "--dataset",
        "train@1",
        "--collected",
        "2026-03-01",
    ]);
    (env, out)
}

#[test]
fn a_repacked_training_set_is_attributed_by_record_print_on_every_source() {
    let (env, out) = pipeline();
    let truth = truth();
    assert_eq!(out["records"], truth["records"], "{out}");
    for s in ["twitter", "reddit", "wikipedia"] {
        assert_eq!(
            out["sources"][s]["records"], truth["derived"][s],
            "{s}: {out}"
        );
    }
    // Content never registered is claimed by no source.
    let unregistered = truth["derived"]["unregistered"].as_u64().unwrap();
    assert!(unregistered > 0);
    assert_eq!(out["unattributed_records"], unregistered, "{out}");
    assert_eq!(
        out["fingerprinted"].as_u64().unwrap(),
        truth["records"].as_u64().unwrap() - unregistered,
        "{out}"
    );
    // Matched records are no longer a `no-url-field` problem: they were recognised.
    assert_eq!(out["no_url_field"], 0, "{out}");

    // Stored as attributions by print, in both the Parquet and the JSONL shards.
    let rows = env.query_i64(
        "SELECT COUNT(*) FROM attributions a JOIN dataset_shards m ON m.shard_id = a.shard_id \
         JOIN datasets d ON d.id = m.dataset_id WHERE d.name = 'train' AND a.method = 'fingerprint'",
    );
    assert_eq!(rows, 12, "4 shards x 3 sources");

    // The verdicts see them: twitter's grant ended before the training run.
    train_ranker(&env);
    let report = env.json(&["report", "--dataset", "train@1"]);
    let findings = report["findings"].as_array().unwrap();
    let twitter: Vec<&Value> = findings
        .iter()
        .filter(|f| f["source"] == "twitter" && f["use"] == "ai-training")
        .collect();
    assert!(!twitter.is_empty(), "{report}");
    assert_eq!(
        twitter[0]["records"], truth["derived"]["twitter"],
        "{report}"
    );
    // The gate blocks it instead of passing an all-unknown set.
    let gate = env.run(&[
        "gate",
        "--dataset",
        "train@1",
        "--org",
        "acme",
        "--use",
        "ai-training",
    ]);
    assert_eq!(gate.status.code(), Some(1));
}

#[test]
fn derived_from_narrows_the_candidates_and_unknown_text_stays_unattributed() {
    let env = with_pulls(&["twitter", "reddit"]);
    // Only twitter's pull is a candidate: reddit's records are not matched by print, and
    // fall to the parent's sources as before (inherited).
    let out = env.json(&[
        "scan",
        &fixture("derived"),
        "--dataset",
        "train@1",
        "--derived-from",
        "twitter-pull@1",
    ]);
    let truth = truth();
    assert_eq!(out["fingerprinted"], truth["derived"]["twitter"], "{out}");
    // Without --derived-from, in another registry, wikipedia's records (never registered)
    // stay unattributed.
    let env = with_pulls(&["twitter", "reddit"]);
    let out = env.json(&["scan", &fixture("derived"), "--dataset", "train@2"]);
    assert_eq!(
        out["unattributed_records"].as_u64(),
        Some(
            truth["derived"]["wikipedia"].as_u64().unwrap()
                + truth["derived"]["unregistered"].as_u64().unwrap()
        ),
        "{out}"
    );
    // --no-prints: nothing printed, nothing matched (the registry's prints stay).
    let out = env.json(&[
        "scan",
        &fixture("derived"),
        "--dataset",
        "train@3",
        "--no-prints",
        "--rehash",
    ]);
    assert_eq!(out["fingerprinted"], 0, "{out}");
}

#[test]
fn match_finds_the_platforms_posts_and_names_models_and_applications() {
    let (env, _) = pipeline();
    train_ranker(&env);
    let known = fixture("match/known.jsonl");
    let unknown = fixture("match/unknown.jsonl");
    let r = env.json(&["match", &known, &unknown]);
    assert_eq!(r["items"], 80, "{r}");
    assert_eq!(r["found"], 40, "{r}");
    assert_eq!(r["not_found"], 40, "{r}");
    // Every found item is one of the known posts (precision 1 on this sample).
    for i in r["found_items"].as_array().unwrap() {
        assert!(i["item"].as_str().unwrap().contains("known.jsonl#"), "{i}");
    }
    let versions = r["versions"].as_array().unwrap();
    let pull = versions
        .iter()
        .find(|v| v["dataset"] == "twitter-pull@1")
        .unwrap();
    assert_eq!(pull["items"], 40);
    let train = versions.iter().find(|v| v["dataset"] == "train@1").unwrap();
    assert_eq!(train["models"][0], "ranker");
    // The derived set dropped ~10 % of the pull: most, not all, of the posts are in it.
    let n = train["items"].as_u64().unwrap();
    assert!((30..40).contains(&n) || n == 40, "{train}");

    // What normalisation catches and what it does not (README: record prints).
    for (variant, found) in [
        ("whitespace", 40),
        ("case", 40),
        ("fullwidth", 40),
        ("html-entity", 0),
        ("edited", 0),
    ] {
        let f = fixture(&format!("match/variants/{variant}.jsonl"));
        let r = env.json(&["match", &f]);
        assert_eq!(r["found"], found, "{variant}: {r}");
    }

    // The same posts as CSV (a platform's export), quoted, with an id column first.
    let csv: String = std::iter::once("id,Text\n".to_string())
        .chain(
            std::fs::read_to_string(&known)
                .unwrap()
                .lines()
                .enumerate()
                .map(|(k, l)| {
                    let v: Value = serde_json::from_str(l).unwrap();
                    let t = v["text"].as_str().unwrap().replace('"', "\"\"");
                    format!("{k},\"{t}\"\n")
                }),
        )
        .collect();
    let f = env.write("posts.csv", csv);
    let r = env.json(&["match", f.to_str().unwrap()]);
    assert_eq!(
        (r["items"].as_u64(), r["found"].as_u64()),
        (Some(40), Some(40)),
        "{r}"
    );

    // By URL, from a plain list.
    let list = env.write(
        "urls.txt",
        "https://twitter.com/nobody/status/999999\nhttps://en.wikipedia.org/wiki/Article_3\n",
    );
    let r = env.json(&["match", "--by", "url", list.to_str().unwrap()]);
    assert_eq!(r["items"], 2, "{r}");
    assert_eq!(r["found"], 1, "{r}");
}

#[test]
fn match_refuses_to_answer_from_nothing() {
    let env = Env::new();
    let known = fixture("match/known.jsonl");
    let err = env.fails(&["match", &known]);
    assert!(err.contains("registry"), "{err}");
    let policy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/policy.toml");
    env.ok(&["apply", policy.to_str().unwrap()]);
    let err = env.fails(&["match", &known]);
    assert!(err.contains("nothing can be matched"), "{err}");
    let err = env.fails(&["match", "no-such-file.jsonl"]);
    assert!(err.contains("no such file"), "{err}");
}

/// A WebDataset tar of `samples` (key, JSON, image bytes).
fn webdataset(samples: &[(String, String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (key, json, jpg) in samples {
        for (ext, data) in [("jpg", jpg.as_slice()), ("json", json.as_bytes())] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, format!("{key}.{ext}"), data).unwrap();
        }
    }
    b.into_inner().unwrap()
}

#[test]
fn webdataset_samples_are_recognised_by_their_image_bytes_once_re_packed() {
    let env = with_policy();
    let image = |i: usize| format!("\u{ff}\u{d8}fake jpeg number {i}").into_bytes();
    let pull: Vec<(String, String, Vec<u8>)> = (0..30)
        .map(|i| {
            let host = if i % 3 == 0 {
                "reddit.com"
            } else {
                "twitter.com"
            };
            let json = format!(r#"{{"url":"https://{host}/p/{i}","caption":"c{i}"}}"#);
            (format!("{i:06}"), json, image(i))
        })
        .collect();
    env.write("pull/000000.tar", webdataset(&pull));
    let out = env.json(&["scan", "pull", "--dataset", "imgs@1"]);
    assert_eq!(out["sources"]["twitter"]["records"], 20, "{out}");
    // Re-packed: other keys, reversed, the URL dropped from the JSON, two samples never
    // pulled.
    let mut derived: Vec<(String, String, Vec<u8>)> = (0..30)
        .rev()
        .map(|i| {
            (
                format!("s{i}"),
                format!(r#"{{"caption":"c{i}"}}"#),
                image(i),
            )
        })
        .collect();
    derived.push(("new1".into(), r#"{"caption":"x"}"#.into(), image(1000)));
    derived.push(("new2".into(), r#"{"caption":"y"}"#.into(), image(1001)));
    env.write("train/shard-a.tar", webdataset(&derived[..16]));
    env.write("train/shard-b.tar", webdataset(&derived[16..]));
    let out = env.json(&["scan", "train", "--dataset", "imgs-train@1"]);
    assert_eq!(out["sources"]["twitter"]["records"], 20, "{out}");
    assert_eq!(out["sources"]["reddit"]["records"], 10, "{out}");
    assert_eq!(out["unattributed_records"], 2, "{out}");
    assert_eq!(out["fingerprinted"], 30, "{out}");
}

#[test]
fn arrow_ipc_records_are_printed_by_their_text_column() {
    let env = with_policy();
    // Hugging Face save_to_disk output (written by `datasets`, scripts/gen-format-fixtures.py).
    let hf = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats/hf-arrow");
    env.ok(&["scan", hf.to_str().unwrap(), "--dataset", "hf@1"]);
    let posts = env.write(
        "posts.jsonl",
        "{\"text\":\"Document 0,  with a comma and \\\"quotes\\\"\"}\n{\"text\":\"not in any dataset at all\"}\n",
    );
    let r = env.json(&["match", posts.to_str().unwrap()]);
    assert_eq!(
        (r["items"].as_u64(), r["found"].as_u64()),
        (Some(2), Some(1)),
        "{r}"
    );
    assert_eq!(r["versions"][0]["dataset"], "hf@1", "{r}");
    assert_eq!(r["versions"][0]["sources"][0], "twitter", "{r}");
}
