//! `provtrack audit SOURCE` through the built binary on the bundled sample story, pinned by
//! a golden JSON file, plus its filters and errors.

mod common;

use common::story;

#[test]
fn audit_of_the_sample_story_matches_the_golden_file() {
    let env = story();
    let got = env.json(&["audit", "twitter"]);
    let golden_path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/audit-twitter.json");
    if std::env::var_os("PROVTRACK_BLESS").is_some() {
        std::fs::write(
            &golden_path,
            serde_json::to_string_pretty(&got).unwrap() + "\n",
        )
        .unwrap();
    }
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&golden_path).unwrap()).unwrap();
    assert_eq!(
        got,
        want,
        "audit JSON differs from {} (PROVTRACK_BLESS=1 rewrites it)",
        golden_path.display()
    );

    // Every answer of the story's audit is there.
    assert_eq!(got["totals"]["records"], 1200);
    let month = got["volume"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["per"] == "month")
        .unwrap();
    assert_eq!(
        (
            month["period"].as_str(),
            month["records"].as_u64(),
            month["cap"].as_u64()
        ),
        (Some("2022-03"), Some(1200), Some(500))
    );
    assert_eq!(month["exceeded"], true);
    let models: Vec<&str> = got["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["model"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["acme-chat-1", "acme-chat-2"]);
    let undisclosed: Vec<&str> = got["applications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["disclosed"] == false)
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(undisclosed, ["acme-search"]);
    assert_eq!(got["disclosures"][0]["recipient"], "agency-x");
    assert_eq!(got["disclosures"][0]["verdict"], "unauthorised-sharing");
    assert!(
        got["grants"][0]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "attribution")
    );

    let table = env.ok(&["audit", "twitter"]);
    for needle in [
        "VOLUME",
        "EXCEEDED",
        "NO (undisclosed)",
        "unauthorised-sharing",
        "acme-chat-2",
    ] {
        assert!(table.contains(needle), "audit table lacks {needle}");
    }
    assert!(
        env.ok(&["audit", "twitter", "--format", "md"])
            .contains("## volume")
    );
}

#[test]
fn dataset_show_lists_the_findings_for_its_uses() {
    let env = story();
    let show = env.json(&["dataset", "show", "web-mix@2022"]);
    let verdicts: std::collections::BTreeSet<&str> = show["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        [
            "collected-without-grant",
            "no-licence",
            "unknown-provenance",
            "unspecified",
            "use-denied"
        ]
        .into_iter()
        .collect()
    );
    assert!(
        show["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["dataset"] == "web-mix@2022")
    );
}

#[test]
fn audit_filters_and_errors() {
    let env = story();
    // Collected from June 2022 on: only the web mix, whose tweets were first collected in
    // March by the pull, so they are not new volume in October.
    let later = env.json(&["audit", "twitter", "--from", "2022-06-01"]);
    assert_eq!(later["totals"]["datasets"], 1);
    assert_eq!(later["datasets"][0]["dataset"], "web-mix@2022");
    assert!(later["disclosures"].as_array().unwrap().is_empty());
    // An org the registry does not know is a typo, not an empty audit.
    let typo = env.fails(&["audit", "twitter", "--org", "acmee"]);
    assert!(
        typo.contains("unknown org 'acmee'; did you mean 'acme'?"),
        "{typo}"
    );
    let stranger = env.fails(&["audit", "twitter", "--org", "globex"]);
    assert!(
        stranger.contains("unknown org 'globex' (known: acme"),
        "{stranger}"
    );
    // Reddit has no grant at all: every training finding is no-licence and the crawl itself
    // was collected without one; Wikipedia has none.
    let reddit = env.json(&["audit", "reddit"]);
    assert!(
        reddit["findings"].as_array().unwrap().iter().all(|f| {
            (f["verdict"] == "no-licence" && f["use"] != "collection")
                || (f["verdict"] == "collected-without-grant" && f["use"] == "collection")
        }),
        "{reddit}"
    );
    assert_eq!(
        env.json(&["audit", "wikipedia"])["findings"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert!(env.fails(&["audit", "myspace"]).contains("unknown source"));
    assert!(
        env.fails(&["audit", "twitter", "--from", "2022-13-01"])
            .contains("invalid date")
    );
}

/// A shard held twice by one version (two paths, same bytes) and again by a later version of
/// the same org counts once: in usage (shards, records) and in caps, at its first collection.
#[test]
fn a_shard_held_twice_counts_once_in_usage_and_caps() {
    let env = common::Env::new();
    env.write(
        "policy.toml",
        r#"
[[source]]
id = "tw"
domains = ["twitter.com"]

[[licence]]
id = "api"
allow = ["display"]
deny = ["ai-training"]

[[grant]]
id = "tw-api"
source = "tw"
licence = "api"
grantee = "acme"
from = "2020-01-01"
cap = { records = 50, per = "month" }

[[training]]
model = "m1"
org = "acme"
date = "2022-06-01"
datasets = ["one@1", "two@1"]
uses = ["ai-training"]
"#,
    );
    env.ok(&["apply", env.path("policy.toml").to_str().unwrap()]);
    // 40 tweets and 3 records of no known source, the same bytes under two paths.
    let shard = common::records("twitter.com", 40) + &common::records("example.net", 3);
    env.write("one/a.jsonl", &shard);
    env.write("one/copy/a.jsonl", &shard);
    env.ok(&[
        "scan",
        env.path("one").to_str().unwrap(),
        "--dataset",
        "one@1",
        "--org",
        "acme",
        "--collected",
        "2022-03-02",
    ]);
    let report = env.json(&["report"]);
    let finding = |ds: &str, verdict: &str| -> serde_json::Value {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["dataset"] == ds && f["verdict"] == verdict)
            .cloned()
            .unwrap_or_else(|| panic!("no {verdict} finding for {ds} in {report}"))
    };
    let denied = finding("one@1", "use-denied");
    assert_eq!(
        (denied["shards"].as_u64(), denied["records"].as_u64()),
        (Some(1), Some(40))
    );
    let unknown = finding("one@1", "unknown-provenance");
    assert_eq!(
        (unknown["shards"].as_u64(), unknown["records"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(
        env.query_i64("SELECT COUNT(*) FROM dataset_shards WHERE CAST(dup AS INTEGER) = 1"),
        1
    );
    // A registry of schema version 3 (members without the mark) is migrated: the mark is
    // computed for what it holds, and the counts stay the same.
    env.tamper(
        "DROP VIEW version_content; DROP VIEW version_unattributed; \
         DROP TABLE declarations; DROP TABLE dataset_part_declarations; \
         CREATE TABLE ds3 (dataset_id INTEGER NOT NULL REFERENCES datasets(id), \
         path BLOB NOT NULL, shard_id INTEGER NOT NULL REFERENCES shards(id), \
         PRIMARY KEY (dataset_id, path)) STRICT, WITHOUT ROWID; \
         INSERT INTO ds3 SELECT dataset_id, path, shard_id FROM dataset_shards; \
         DROP TABLE dataset_shards; ALTER TABLE ds3 RENAME TO dataset_shards; \
         CREATE INDEX dataset_shards_by_shard ON dataset_shards(shard_id); \
         DROP TABLE application_uses; DROP TABLE retractions; DROP TABLE record_prints; \
         DROP TABLE shard_hosts; DROP TABLE crawlers; DROP TABLE source_kinds; \
         DROP TABLE optouts; PRAGMA user_version = 3;",
        "DROP VIEW version_content; DROP VIEW version_unattributed; \
         DROP TABLE declarations; DROP TABLE dataset_part_declarations; \
         ALTER TABLE dataset_shards DROP COLUMN dup; DROP TABLE application_uses; \
         DROP TABLE retractions; DROP FUNCTION provtrack_retractions_final; \
         DROP TABLE record_prints; DROP TABLE shard_hosts; DROP TABLE crawlers; \
         DROP TABLE source_kinds; DROP TABLE optouts; UPDATE provtrack_schema SET version = 3",
    );
    assert_eq!(env.json(&["report"]), report);
    assert_eq!(
        env.query_i64("SELECT COUNT(*) FROM dataset_shards WHERE CAST(dup AS INTEGER) = 1"),
        1
    );
    // 40 records in March: under the cap of 50, though the shard is held twice.
    assert!(
        !report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["verdict"] == "volume-exceeded"),
        "{report}"
    );

    // A later version of the same org holds the shard again (not counted again: first
    // collected in March) and 20 new tweets collected in March too: 60 > 50.
    env.write("two/a.jsonl", &shard);
    env.write(
        "two/b.jsonl",
        common::records("twitter.com", 60)
            .lines()
            .skip(40)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    env.ok(&[
        "scan",
        env.path("two").to_str().unwrap(),
        "--dataset",
        "two@1",
        "--org",
        "acme",
        "--collected",
        "2022-03-20",
    ]);
    let report = env.json(&["report"]);
    let exceeded: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["verdict"] == "volume-exceeded")
        .collect();
    // Each version once for the model trained on it and once as a collection.
    assert_eq!(exceeded.len(), 4, "{report}");
    for f in exceeded {
        assert!(
            f["detail"]
                .as_str()
                .unwrap()
                .contains("collected 60 tw records in 2022-03"),
            "{f}"
        );
    }
    let two = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["dataset"] == "two@1" && f["verdict"] == "use-denied")
        .unwrap();
    assert_eq!(
        (two["shards"].as_u64(), two["records"].as_u64()),
        (Some(2), Some(60))
    );
}

#[test]
fn audit_csv_is_one_rectangular_table() {
    let env = story();
    let out = env.ok(&["audit", "twitter", "--format", "csv"]);
    let mut r = csv::Reader::from_reader(out.as_bytes());
    let headers = r.headers().unwrap().clone();
    assert_eq!(&headers[0], "section");
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert!(rows.iter().all(|x| x.len() == headers.len()));
    let sections: std::collections::BTreeSet<&str> =
        rows.iter().map(|x| x.get(0).unwrap()).collect();
    for s in [
        "totals", "grants", "volume", "datasets", "models", "findings",
    ] {
        assert!(sections.contains(s), "{s} missing: {sections:?}");
    }
    assert!(!out.contains("\n#"), "{out}");
}
