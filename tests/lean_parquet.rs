//! A build without the `parquet` feature (`cargo build --no-default-features`): Parquet
//! shards cannot be read, but they are never silently skipped. Each is hashed and
//! registered like any file, counted as one unattributed record with a problem naming the
//! missing feature, and `gate` sees content of unknown provenance. (With the feature,
//! tests/layouts.rs reads the same fixture for its records.)

#![cfg(not(feature = "parquet"))]

mod common;

use std::path::Path;

use common::{Env, rec};

const POLICY: &str = "[[source]]\nid = \"twitter\"\ndomains = [\"twitter.com\", \"x.com\"]\n\
[[source]]\nid = \"reddit\"\ndomains = [\"reddit.com\"]\n";

#[test]
fn parquet_shards_are_registered_and_reported_by_a_lean_build() {
    let env = Env::new();
    env.write("p.toml", POLICY);
    env.ok(&["apply", "p.toml"]);
    // LAION's layout: six records with URLs that a full build attributes (2 twitter,
    // 3 reddit); a lean build must not claim any of them.
    let parquet = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/formats/laion/part-00000.parquet"),
    )
    .unwrap();
    env.write("ds/part-00000.parquet", &parquet);
    let jsonl = rec("https://twitter.com/a/1");
    env.write("ds/a.jsonl", &jsonl);

    let s = env.json(&["scan", "ds", "--dataset", "lean@1"]);
    assert_eq!(s["files"], 2, "{s}");
    assert_eq!(s["records"], 2, "{s}");
    assert_eq!(s["sources"]["twitter"]["records"], 1, "{s}");
    assert!(s["sources"]["reddit"].is_null(), "{s}");
    assert_eq!(s["unattributed_records"], 1, "{s}");
    let problems = s["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{s}");
    assert_eq!(problems[0]["path"], "part-00000.parquet", "{s}");
    assert_eq!(
        problems[0]["error"], "parquet support not built in (cargo feature \"parquet\")",
        "{s}"
    );

    // Registered with the hash and size of its real bytes, as one record.
    let show = env.json(&["dataset", "show", "lean@1"]);
    let shard = show["shards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sh| sh["path"] == "part-00000.parquet")
        .cloned()
        .unwrap_or_else(|| panic!("the Parquet shard is not registered: {show}"));
    assert_eq!(shard["format"], "parquet", "{show}");
    assert_eq!(shard["hash"], blake3::hash(&parquet).to_hex().as_str());
    assert_eq!(shard["size"], parquet.len() as u64);
    assert_eq!(shard["records"], 1, "{show}");

    // Its bytes are content of unknown provenance: the gate blocks.
    let out = env.run(&["gate", "ds", "--org", "acme"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("unknown-provenance"), "{stdout}");
}
