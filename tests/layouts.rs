//! Layouts as real tools write them (tests/fixtures/formats/, made by
//! scripts/gen-format-fixtures.py): each holds 2 twitter, 3 reddit and 1 other record, and
//! the scan must attribute exactly that through the built binary.

mod common;

use std::path::Path;

use common::Env;

const POLICY: &str = "[[source]]\nid = \"twitter\"\ndomains = [\"twitter.com\", \"x.com\"]\n\
[[source]]\nid = \"reddit\"\ndomains = [\"reddit.com\"]\n";

/// Copies fixture directory `layout` into a fresh registry's workspace and scans it.
fn scan_layout(layout: &str, extra: &[&str]) -> (Env, serde_json::Value) {
    let env = Env::new();
    env.write("p.toml", POLICY);
    env.ok(&["apply", "p.toml"]);
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/formats")
        .join(layout);
    for e in std::fs::read_dir(&from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        env.write(&format!("ds/{name}"), std::fs::read(e.path()).unwrap());
    }
    let mut args = vec!["scan", "ds", "--dataset", "d@1"];
    args.extend_from_slice(extra);
    let s = env.json(&args);
    (env, s)
}

/// Asserts the six records came out as 2 twitter, 3 reddit, 1 unattributed, cleanly.
fn assert_exact(layout: &str, s: &serde_json::Value) {
    assert_eq!(s["records"], 6, "{layout}: {s}");
    assert_eq!(s["sources"]["twitter"]["records"], 2, "{layout}: {s}");
    assert_eq!(s["sources"]["reddit"]["records"], 3, "{layout}: {s}");
    assert_eq!(s["unattributed_records"], 1, "{layout}: {s}");
    assert_eq!(s["problems"].as_array().unwrap().len(), 0, "{layout}: {s}");
}

#[test]
fn json_named_files_are_read_by_content() {
    // C4's .json.gz, HF to_json's .json, Spark part files, an extension-less gzip shard:
    // all JSON Lines; and a .json holding one array of records.
    for layout in ["c4", "hf-json", "spark", "no-extension", "json-array"] {
        let (env, s) = scan_layout(layout, &[]);
        // Spark's empty _SUCCESS marker is one more (empty, opaque) file.
        let expected_files = if layout == "spark" { 2 } else { 1 };
        assert_eq!(s["files"], expected_files, "{layout}: {s}");
        if layout == "spark" {
            assert_eq!(s["records"], 7, "{layout}: {s}");
            assert_eq!(s["sources"]["twitter"]["records"], 2, "{layout}: {s}");
            assert_eq!(s["sources"]["reddit"]["records"], 3, "{layout}: {s}");
        } else {
            assert_exact(layout, &s);
        }
        let show = env.json(&["dataset", "show", "d@1"]);
        let formats: Vec<&str> = show["shards"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sh| sh["format"].as_str().unwrap())
            .collect();
        let want = match layout {
            "c4" | "no-extension" => "jsonl.gz",
            "json-array" => "json",
            _ => "jsonl",
        };
        assert!(formats.contains(&want), "{layout}: {formats:?}");
    }
}

#[test]
fn url_fields_are_found_as_users_name_them() {
    // LAION's `URL` column, a url stored as Parquet binary, RedPajama's JSON-in-a-string
    // `meta`, a CSV `URL` header, per-record fallback from a null/empty url (JSONL and
    // Parquet), and a pandas TSV whose quoted fields hold newlines.
    for layout in [
        // Parquet layouts need the reader (a lean build reports them: tests/lean_parquet.rs).
        #[cfg(feature = "parquet")]
        "laion",
        #[cfg(feature = "parquet")]
        "parquet-binary",
        #[cfg(feature = "parquet")]
        "parquet-fallback",
        "redpajama",
        "jsonl-fallback",
        "csv-upper",
        "tsv-quoted",
    ] {
        let (_env, s) = scan_layout(layout, &[]);
        assert_exact(layout, &s);
    }
    // CC3M's headerless caption<TAB>url, the URL named by position.
    let (_env, s) = scan_layout("cc3m", &["--url-field", "#2"]);
    assert_exact("cc3m", &s);
}

#[test]
fn zstd_with_a_long_window_decodes() {
    let (_env, s) = scan_layout("zstd-long", &[]);
    assert_exact("zstd-long", &s);
}

#[test]
fn records_without_any_url_field_are_said_so() {
    let (_env, s) = scan_layout("no-url", &[]);
    assert_eq!(s["records"], 6, "{s}");
    assert_eq!(s["unattributed_records"], 6, "{s}");
    let problems = s["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{s}");
    let e = problems[0]["error"].as_str().unwrap();
    assert!(e.starts_with("no-url-field"), "{e}");
    assert!(e.contains("text") && e.contains("--url-field"), "{e}");
    // Said in the summary too: the JSON count and the one-line warning on stderr.
    assert_eq!(s["no_url_field"], 1, "{s}");
    let env = _env;
    let out = env.run(&["scan", "ds", "--dataset", "d@2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 shard(s) of records with no URL field") && !err.contains("ended early"),
        "{err}"
    );
}

/// The stored format of each shard of `d@1`, by path.
fn formats(env: &Env) -> Vec<(String, String)> {
    let show = env.json(&["dataset", "show", "d@1"]);
    show["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|sh| {
            (
                sh["path"].as_str().unwrap().to_string(),
                sh["format"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn new_containers_give_exact_counts() {
    // bzip2 JSON Lines, xz CSV, a WebDataset tar, HF save_to_disk (an Arrow IPC stream and
    // its two metadata files), an Arrow IPC file with the URL in a struct column.
    for (layout, format) in [
        ("bz2", "jsonl.bz2"),
        ("xz", "csv.xz"),
        ("webdataset", "webdataset"),
        ("hf-arrow", "arrow"),
        ("arrow-file", "arrow"),
    ] {
        let (env, s) = scan_layout(layout, &[]);
        assert_exact(layout, &s);
        let f = formats(&env);
        assert!(f.iter().any(|(_, x)| x == format), "{layout}: {f:?}");
        if layout == "hf-arrow" {
            assert!(
                f.iter()
                    .filter(|(p, _)| p.ends_with(".json"))
                    .all(|(_, x)| x == "metadata"),
                "{f:?}"
            );
        }
    }
}

#[test]
fn img2dataset_counts_the_tar_samples_once() {
    // 6 samples in 00000.tar; 00000.parquet lists 8 attempts (2 failed) and is metadata.
    let (env, s) = scan_layout("img2dataset", &[]);
    assert_eq!(s["files"], 3, "{s}");
    assert_exact("img2dataset", &s);
    let f = formats(&env);
    assert!(
        f.contains(&("00000.parquet".to_string(), "metadata".to_string())),
        "{f:?}"
    );
    assert!(
        f.contains(&("00000_stats.json".to_string(), "metadata".to_string())),
        "{f:?}"
    );
}

#[test]
fn a_tar_that_is_not_webdataset_is_opaque_members() {
    let (env, s) = scan_layout("plain-tar", &[]);
    assert_eq!(s["records"], 2, "{s}");
    assert_eq!(s["unattributed_records"], 2, "{s}");
    assert_eq!(s["problems"].as_array().unwrap().len(), 0, "{s}");
    assert_eq!(
        formats(&env),
        vec![("docs.tar.gz".to_string(), "tar.gz".to_string())]
    );
}

#[test]
fn unicode_hosts_match_unicode_and_ascii_domains() {
    let env = Env::new();
    env.write(
        "p.toml",
        "[[source]]\nid = \"books\"\ndomains = [\"bücher.de\"]\n\
         [[source]]\nid = \"x\"\ndomains = [\"x.com\"]\n",
    );
    env.ok(&["apply", "p.toml"]);
    let urls = [
        "https://bücher.de/a",
        "https://www.xn--bcher-kva.de/b",
        "https://x。com/c",
        "https://ｘ.com/d",
        "https://%78.com/e",
        "https:\\\\x.com\\f",
        "https://notx.com/g",
    ];
    let body: String = urls
        .iter()
        .map(|u| format!("{}\n", serde_json::json!({ "url": u })))
        .collect();
    env.write("ds/a.jsonl", body);
    let s = env.json(&["scan", "ds", "--dataset", "u@1"]);
    assert_eq!(s["sources"]["books"]["records"], 2, "{s}");
    assert_eq!(s["sources"]["x"]["records"], 4, "{s}");
    assert_eq!(s["unattributed_records"], 1, "{s}");
}
