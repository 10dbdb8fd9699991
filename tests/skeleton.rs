//! End-to-end tests of the walking skeleton through the built binary: apply → scan →
//! report per verdict, idempotent apply, bad policy files, schema versions, demo.

mod common;

use std::collections::BTreeSet;

use common::{Env, gzip, records};
use serde_json::Value;

const POLICY: &str = r#"
[[source]]
id = "open"
domains = ["open.org"]

[[source]]
id = "nogrant"
domains = ["nogrant.com"]

[[source]]
id = "denied"
domains = ["denied.com"]

[[source]]
id = "old"
domains = ["old.com"]

[[source]]
id = "future"
domains = ["future.com"]

[[source]]
id = "silent"
domains = ["silent.com"]

[[source]]
id = "elsewhere"
domains = ["elsewhere.org"]

[[licence]]
id = "no-training"
allow = ["display"]
deny = ["ai-training", "government-sharing"]

[[grant]]
source = "open"
licence = "CC-BY-4.0"
grantee = "*"
from = "2020-01-01"

[[grant]]
source = "denied"
licence = "no-training"
grantee = "acme"
from = "2020-01-01"

[[grant]]
source = "old"
licence = "CC0-1.0"
grantee = "acme"
from = "2010-01-01"
until = "2020-01-01"

[[grant]]
source = "future"
licence = "CC0-1.0"
grantee = "acme"
from = "2030-01-01"

[[grant]]
source = "silent"
licence = "unknown"
grantee = "acme"
from = "2020-01-01"

[[grant]]
source = "elsewhere"
licence = "CC0-1.0"
grantee = "globex"
from = "2020-01-01"

[[training]]
model = "m1"
org = "acme"
date = "2023-01-01"
datasets = ["mix@1"]
"#;

/// Applies POLICY and scans one file per source (3 records each, plus 2 of no source).
fn setup() -> Env {
    let env = Env::new();
    env.write("policy.toml", POLICY);
    env.ok(&["apply", "policy.toml"]);
    for host in [
        "open.org",
        "nogrant.com",
        "denied.com",
        "old.com",
        "future.com",
        "silent.com",
        "elsewhere.org",
    ] {
        env.write(
            &format!("mix/{host}.jsonl"),
            records(&format!("www.{host}"), 3),
        );
    }
    env.write("mix/mystery.jsonl", records("mystery.net", 2));
    env.ok(&[
        "scan",
        "mix",
        "--dataset",
        "mix@1",
        "--org",
        "acme",
        "--collected",
        "2022-06-01",
    ]);
    env
}

fn verdicts(report: &Value) -> BTreeSet<(String, String, u64)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["verdict"].as_str().unwrap().to_string(),
                f["source"].as_str().unwrap_or("-").to_string(),
                f["records"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, u64)]) -> BTreeSet<(String, String, u64)> {
    items
        .iter()
        .map(|(a, b, n)| (a.to_string(), b.to_string(), *n))
        .collect()
}

#[test]
fn report_names_one_verdict_per_case() {
    let env = setup();
    // The collection, judged on its own: collected where no grant covered acme then.
    assert_eq!(
        verdicts(&env.json(&["report", "--use", "collection"])),
        set(&[
            ("collected-without-grant", "nogrant", 3),
            ("collected-without-grant", "elsewhere", 3),
            ("collected-without-grant", "old", 3),
            ("collected-without-grant", "future", 3),
        ])
    );
    let r = env.json(&["report", "--use", "ai-training"]);
    assert_eq!(
        verdicts(&r),
        set(&[
            ("no-licence", "nogrant", 3),
            ("no-licence", "elsewhere", 3),
            ("use-denied", "denied", 3),
            ("expired", "old", 3),
            ("not-yet-valid", "future", 3),
            ("unspecified", "silent", 3),
            ("unknown-provenance", "-", 2),
        ])
    );
    let f = r["findings"].as_array().unwrap();
    let denied = f.iter().find(|f| f["verdict"] == "use-denied").unwrap();
    for key in [
        "verdict", "use", "source", "dataset", "model", "grant", "licence", "shards", "records",
        "bytes", "detail",
    ] {
        assert!(denied.get(key).is_some(), "finding lacks {key}");
    }
    assert_eq!(denied["model"], "m1");
    assert_eq!(denied["dataset"], "mix@1");
    assert_eq!(denied["licence"], "no-training");
    assert_eq!(denied["use"], "ai-training");
    assert_eq!(r["summary"]["findings"], 7);
    assert_eq!(r["summary"]["datasets"], 1);
    assert_eq!(r["summary"]["models"], 1);

    let relaxed = env.json(&["report", "--unspecified", "allow"]);
    assert!(
        !verdicts(&relaxed)
            .iter()
            .any(|(v, _, _)| v == "unspecified")
    );
    assert_eq!(
        verdicts(&env.json(&["report", "--verdict", "expired"])),
        set(&[("expired", "old", 3)])
    );
    assert_eq!(
        verdicts(&env.json(&["report", "--source", "denied"])),
        set(&[("use-denied", "denied", 3)])
    );
    // Names the registry does not know are errors naming the nearest one, never "0 findings".
    for (args, want) in [
        (
            vec!["--model", "nope"],
            "--model: unknown model 'nope' (known: m1)",
        ),
        (
            vec!["--model", "m2"],
            "unknown model 'm2'; did you mean 'm1'?",
        ),
        (
            vec!["--dataset", "mix@2"],
            "unknown dataset 'mix@2'; did you mean 'mix@1'?",
        ),
        (
            vec!["--source", "denyed"],
            "unknown source 'denyed'; did you mean 'denied'?",
        ),
        (
            vec!["--use", "comercial"],
            "unknown use 'comercial'; did you mean 'commercial'?",
        ),
    ] {
        let mut all = vec!["report"];
        all.extend(args);
        let err = env.fails(&all);
        assert!(err.contains(want), "{all:?}: {err}");
    }
    assert!(
        env.fails(&["report", "--verdict", "bogus"])
            .contains("unknown verdict")
    );

    // The open source's CC-BY-4.0 grant permits training, with attribution owed.
    let obligations = r["obligations"].as_array().unwrap();
    assert_eq!(obligations.len(), 1, "{obligations:?}");
    assert_eq!(obligations[0]["source"], "open");
    assert_eq!(obligations[0]["licence"], "CC-BY-4.0");
    assert_eq!(
        obligations[0]["conditions"],
        serde_json::json!(["attribution"])
    );

    let table = env.ok(&["report"]);
    assert!(table.starts_with("FINDINGS\nVERDICT"), "{table}");
    assert!(table.contains("\nOBLIGATIONS\nMODEL"), "{table}");
    assert!(table.contains("use-denied") && table.contains("not-yet-valid"));
    let csv = env.ok(&["report", "--format", "csv", "--use", "ai-training"]);
    assert!(csv.starts_with("verdict,use,source,dataset,model,licence,shards,records,detail\r\n"));
    assert_eq!(csv.lines().count(), 8);
    let md = env.ok(&["report", "--format", "md"]);
    assert!(md.starts_with("## findings\n\n| verdict | use |"), "{md}");
    assert!(md.contains("## obligations"), "{md}");
}

#[test]
fn training_runs_recorded_by_command_are_reported_with_their_uses() {
    let env = setup();
    env.ok(&[
        "train",
        "m2",
        "--org",
        "acme",
        "--date",
        "2023-05-01",
        "--dataset",
        "mix@1",
        "--use",
        "commercial",
    ]);
    let r = env.json(&["report", "--model", "m2", "--source", "open"]);
    // CC-BY-4.0 allows both uses: nothing to report for the open source.
    assert_eq!(r["summary"]["findings"], 0);
    let r = env.json(&["report", "--model", "m2", "--source", "silent"]);
    let uses: BTreeSet<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["use"].as_str().unwrap())
        .collect();
    assert_eq!(uses, BTreeSet::from(["ai-training", "commercial"]));
    // A run on a dataset that was never scanned is flagged, not silently passed.
    env.ok(&[
        "train",
        "m3",
        "--org",
        "acme",
        "--date",
        "2023-05-01",
        "--dataset",
        "ghost@1",
    ]);
    let r = env.json(&["report", "--model", "m3"]);
    assert_eq!(r["findings"][0]["verdict"], "unknown-provenance");
    assert!(
        r["findings"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("not registered")
    );
    assert!(
        env.fails(&[
            "train",
            "m4",
            "--org",
            "acme",
            "--date",
            "2023-02-30",
            "--dataset",
            "mix@1"
        ])
        .contains("invalid date")
    );
}

#[test]
fn caps_and_disclosures() {
    let env = setup();
    env.write(
        "more.toml",
        r#"
[[source]]
id = "capped"
domains = ["capped.com"]

[[grant]]
source = "capped"
licence = "CC0-1.0"
grantee = "acme"
from = "2020-01-01"
cap = { records = 4, per = "month" }

[[training]]
model = "m-cap"
org = "acme"
date = "2023-01-01"
datasets = ["cap@1"]

[[disclosure]]
dataset = "mix@1"
recipient = "agency-x"
kind = "government"
date = "2022-07-01"

[[disclosure]]
dataset = "mix@1"
recipient = "partner-co"
kind = "partner"
date = "2022-07-01"
"#,
    );
    env.ok(&["apply", "more.toml"]);
    env.write("cap/a.jsonl", records("capped.com", 4));
    env.ok(&[
        "scan",
        "cap",
        "--dataset",
        "cap@1",
        "--org",
        "acme",
        "--collected",
        "2022-03-01",
    ]);
    // Exactly at the cap: nothing.
    assert_eq!(
        env.json(&["report", "--model", "m-cap"])["summary"]["findings"],
        0
    );
    // One over, in the same month, in another dataset: exceeded for both datasets' runs.
    env.write("cap2/b.jsonl", records("sub.capped.com", 1));
    env.ok(&[
        "scan",
        "cap2",
        "--dataset",
        "cap@2",
        "--org",
        "acme",
        "--collected",
        "2022-03-31",
    ]);
    env.ok(&[
        "train",
        "m-cap",
        "--org",
        "acme",
        "--date",
        "2023-01-01",
        "--dataset",
        "cap@1",
        "--dataset",
        "cap@2",
    ]);
    let r = env.json(&["report", "--model", "m-cap", "--verdict", "volume-exceeded"]);
    assert_eq!(r["summary"]["findings"], 2, "{r}");
    assert!(
        r["findings"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("5 capped records in 2022-03")
    );
    // A different month is its own period.
    env.write(
        "cap3/c.jsonl",
        records("capped.com", 4).replace("item", "other"),
    );
    env.ok(&[
        "scan",
        "cap3",
        "--dataset",
        "cap@3",
        "--org",
        "acme",
        "--collected",
        "2022-04-01",
    ]);
    env.ok(&[
        "train",
        "m-cap",
        "--org",
        "acme",
        "--date",
        "2023-01-01",
        "--dataset",
        "cap@3",
    ]);
    assert_eq!(
        env.json(&["report", "--model", "m-cap"])["summary"]["findings"],
        0
    );

    // Disclosures: the government recipient needs government-sharing, the partner
    // third-party-sharing; CC-BY-4.0 (open) allows both, no-training (denied) neither.
    let r = env.json(&["report", "--verdict", "unauthorised-sharing"]);
    let got: BTreeSet<(String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["use"].as_str().unwrap().into(),
                f["source"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        got.contains(&("government-sharing".into(), "denied".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("third-party-sharing".into(), "denied".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("government-sharing".into(), "nogrant".into())),
        "{got:?}"
    );
    assert!(!got.iter().any(|(_, s)| s == "open"), "{got:?}");
}

#[test]
fn apply_is_idempotent_and_logged() {
    let env = Env::new();
    env.write("policy.toml", POLICY);
    env.ok(&["apply", "policy.toml"]);
    let first: Vec<String> = env
        .dump()
        .into_iter()
        .filter(|r| !r.starts_with("events:"))
        .collect();
    env.ok(&["apply", "policy.toml"]);
    let second: Vec<String> = env
        .dump()
        .into_iter()
        .filter(|r| !r.starts_with("events:"))
        .collect();
    assert_eq!(first, second);
    let log = env.json(&["log"]);
    let events = log.as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["kind"], "apply");
    assert_eq!(events[0]["actor"], "tester");
    assert_eq!(events[1]["prev"], events[0]["hash"]);
    // The chain hash is recomputable from the stored fields.
    for e in events {
        let h = provtrack::events::chain_hash(
            e["prev"].as_str().unwrap(),
            e["seq"].as_u64().unwrap(),
            e["time"].as_str().unwrap(),
            e["actor"].as_str().unwrap(),
            e["kind"].as_str().unwrap(),
            e["payload"].as_str().unwrap(),
        );
        assert_eq!(e["hash"].as_str().unwrap(), h);
    }
    let sources = env.json(&["source", "list"]);
    assert_eq!(sources.as_array().unwrap().len(), 7);
    let licences = env.json(&["licence", "list"]);
    let ids: BTreeSet<&str> = licences
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    for id in [
        "CC0-1.0",
        "CC-BY-SA-4.0",
        "ODbL-1.0",
        "proprietary",
        "unknown",
        "no-training",
    ] {
        assert!(ids.contains(id), "{id} missing from licence list");
    }
}

#[test]
fn bad_policy_files_change_nothing_and_name_the_line() {
    let env = Env::new();
    env.write("policy.toml", POLICY);
    env.ok(&["apply", "policy.toml"]);
    let before = env.dump();
    let cases = [
        (
            "syntax.toml",
            "[[source]]\nid = \"x\"\ndomains = [\"a.com\"\n",
            "syntax.toml:3:",
        ),
        (
            "type.toml",
            "[[source]]\nid = \"x\"\n\n[[grant]]\nsource = \"x\"\nlicence = \"MIT\"\ngrantee = \"*\"\nfrom = \"2020-01-01\"\ncap = { records = \"many\", per = \"month\" }\n",
            "type.toml:9:",
        ),
        (
            "dangling.toml",
            "[[source]]\nid = \"x\"\n\n[[grant]]\nsource = \"y\"\nlicence = \"MIT\"\ngrantee = \"*\"\nfrom = \"2020-01-01\"\n",
            "dangling.toml:5:",
        ),
        (
            "licence.toml",
            "[[grant]]\nsource = \"open\"\nlicence = \"NO-SUCH\"\ngrantee = \"*\"\nfrom = \"2020-01-01\"\n",
            "licence.toml:3:",
        ),
        (
            "unknown-key.toml",
            "[[source]]\nid = \"x\"\ncolour = \"red\"\n",
            "unknown-key.toml:3:",
        ),
        (
            "domain.toml",
            "[[source]]\nid = \"x\"\ndomains = [\"denied.com\"]\n",
            "domain.toml:3:",
        ),
        (
            "model.toml",
            "[[application]]\nid = \"app\"\norg = \"acme\"\nmodels = [\"ghost\"]\n",
            "model.toml:4:",
        ),
        (
            "window.toml",
            "[[grant]]\nsource = \"open\"\nlicence = \"MIT\"\ngrantee = \"*\"\nfrom = \"2020-01-01\"\nuntil = \"2019-01-01\"\n",
            "window.toml:6:",
        ),
    ];
    for (name, text, prefix) in cases {
        env.write(name, text);
        let err = env.fails(&["apply", name]);
        assert!(
            err.starts_with(&format!("provtrack: {prefix}")),
            "{name}: {err}"
        );
        assert_eq!(env.dump(), before, "{name} changed the registry");
    }
    let err = env.fails(&["apply", "missing.toml"]);
    assert!(err.contains("missing.toml"), "{err}");
    assert_eq!(env.dump(), before);
}

#[test]
fn registry_newer_than_the_binary_is_refused() {
    let env = Env::new();
    env.ok(&["init"]);
    let (set, get) = if env.is_postgres() {
        (
            "UPDATE provtrack_schema SET version = 99",
            "SELECT version FROM provtrack_schema",
        )
    } else {
        ("PRAGMA user_version = 99", "PRAGMA user_version")
    };
    assert!(env.sql_ok(set));
    let before = env.dump();
    let err = env.fails(&["source", "list"]);
    assert!(err.contains("schema version 99 is newer"), "{err}");
    assert_eq!(env.query_i64(get), 99, "the registry was downgraded");
    assert_eq!(env.dump(), before);
}

#[test]
fn files_that_are_not_registries_are_refused_untouched() {
    let env = Env::new();
    if env.is_postgres() {
        // A database of another program.
        assert!(env.sql_ok("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');"));
        let before = env.dump();
        let err = env.fails(&["init"]);
        assert!(err.contains("another program"), "{err}");
        assert_eq!(env.dump(), before);
        return;
    }
    let junk = b"this is not a database, just some text that happens to be here\n".repeat(100);
    std::fs::write(&env.db, &junk).unwrap();
    let err = env.fails(&["source", "list"]);
    assert!(err.contains("not an SQLite database"), "{err}");
    assert_eq!(std::fs::read(&env.db).unwrap(), junk);

    // An SQLite database of another program.
    std::fs::remove_file(&env.db).unwrap();
    rusqlite::Connection::open(&env.db)
        .unwrap()
        .execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');")
        .unwrap();
    let err = env.fails(&["init"]);
    assert!(err.contains("another program"), "{err}");
    assert_eq!(
        env.dump(),
        vec!["notes: Text([109, 105, 110, 101])".to_string()]
    );
}

#[test]
fn scan_fingerprints_and_attributes_real_files() {
    let env = Env::new();
    env.write(
        "p.toml",
        "[[source]]\nid = \"twitter\"\ndomains = [\"twitter.com\", \"x.com\"]\n[[source]]\nid = \"wiki\"\ndomains = [\"wikipedia.org\"]\n",
    );
    env.ok(&["apply", "p.toml"]);
    let plain = format!(
        "{}{}{}\n{}",
        records("mobile.twitter.com", 3),
        records("notx.com", 2),
        "{broken json",
        records("x.com", 1)
    );
    let gz = gzip(records("en.wikipedia.org", 5).as_bytes());
    let img = vec![7u8; 10_000];
    env.write("ds/a/tweets.jsonl", &plain);
    env.write("ds/b/wiki.jsonl.gz", &gz);
    env.write("ds/img.bin", &img);
    let s = env.json(&[
        "scan",
        "ds",
        "--dataset",
        "d@1",
        "--org",
        "acme",
        "--collected",
        "2024-01-01",
    ]);
    for key in [
        "dataset",
        "root",
        "files",
        "bytes",
        "records",
        "sources",
        "unattributed_records",
        "skipped",
    ] {
        assert!(s.get(key).is_some(), "scan JSON lacks {key}: {s}");
    }
    assert_eq!(s["dataset"], "d@1");
    assert_eq!(s["files"], 3);
    assert_eq!(s["bytes"], (plain.len() + gz.len() + img.len()) as u64);
    // 3 + 2 + 1 malformed + 1 tweets, 5 wiki records, 1 opaque file.
    assert_eq!(s["records"], 13);
    assert_eq!(s["sources"]["twitter"]["records"], 4);
    assert_eq!(s["sources"]["wiki"]["records"], 5);
    assert_eq!(s["unattributed_records"], 4);
    assert_eq!(s["problems"][0]["path"], "a/tweets.jsonl");
    assert_eq!(s["problems"][0]["malformed"], 1);

    let expected_root = {
        let mut lines = [
            ("a/tweets.jsonl", blake3::hash(plain.as_bytes())),
            ("b/wiki.jsonl.gz", blake3::hash(&gz)),
            ("img.bin", blake3::hash(&img)),
        ];
        lines.sort_by(|a, b| a.0.cmp(b.0));
        let text: String = lines
            .iter()
            .map(|(p, h)| format!("{p}\0{}\n", h.to_hex()))
            .collect();
        blake3::hash(text.as_bytes())
    };
    assert_eq!(s["root"], expected_root.to_hex().as_str());

    let show = env.json(&["dataset", "show", "d@1"]);
    assert_eq!(show["root"], expected_root.to_hex().as_str());
    let shards = show["shards"].as_array().unwrap();
    assert_eq!(shards[1]["path"], "b/wiki.jsonl.gz");
    assert_eq!(shards[1]["hash"], blake3::hash(&gz).to_hex().as_str());
    assert_eq!(shards[1]["format"], "jsonl.gz");
    assert_eq!(shards[2]["format"], "binary");
    let list = env.json(&["dataset", "list"]);
    assert_eq!(list[0]["dataset"], "d@1");
    assert_eq!(list[0]["org"], "acme");

    // Re-scanning identical content is a no-op with the same summary.
    let events_before = env.json(&["log"]).as_array().unwrap().len();
    let again = env.json(&[
        "scan",
        "ds",
        "--dataset",
        "d@1",
        "--org",
        "acme",
        "--collected",
        "2024-01-01",
    ]);
    assert_eq!(again["status"], "unchanged");
    assert_eq!(again["root"], s["root"]);
    assert_eq!(again["sources"], s["sources"]);
    assert_eq!(env.json(&["log"]).as_array().unwrap().len(), events_before);

    // Different content under the same version is an error naming the file; nothing changes.
    let before = env.dump();
    env.write(
        "ds/b/wiki.jsonl.gz",
        gzip(records("en.wikipedia.org", 6).as_bytes()),
    );
    env.write("ds/new.jsonl", records("x.com", 1));
    let err = env.fails(&["scan", "ds", "--dataset", "d@1", "--org", "acme"]);
    assert!(
        err.contains("changed: b/wiki.jsonl.gz") && err.contains("added: new.jsonl"),
        "{err}"
    );
    assert_eq!(env.dump(), before);
}

#[test]
fn a_declaration_holds_for_its_version_and_what_bytes_show_for_every_version() {
    let env = Env::new();
    env.write(
        "p.toml",
        "[[source]]\nid = \"getty\"\ndomains = [\"gettyimages.com\"]\n",
    );
    env.ok(&["apply", "p.toml"]);
    let photo = vec![42u8; 5000];
    env.write("one/photo.jpg", &photo);
    let s1 = env.json(&["scan", "one", "--dataset", "one@1", "--source", "getty"]);
    assert_eq!(s1["sources"]["getty"]["records"], 1);
    // The same bytes in another version: one@1's declaration is not two@1's.
    env.write("two/renamed/copy.jpg", &photo);
    env.write("two/other.jpg", vec![1u8; 10]);
    let s2 = env.json(&["scan", "two", "--dataset", "two@1"]);
    assert!(s2["sources"].get("getty").is_none(), "{s2}");
    assert_eq!(s2["inherited_shards"], 0);
    assert_eq!(s2["unattributed_records"], 2);
    // Derived from one@1, a version inherits its sources, for its own content only.
    env.write("three/copy.jpg", &photo);
    let s3 = env.json(&[
        "scan",
        "three",
        "--dataset",
        "three@1",
        "--derived-from",
        "one@1",
    ]);
    assert_eq!(s3["sources"]["getty"]["records"], 1, "{s3}");
    assert_eq!(s3["unattributed_records"], 0);
    // `dataset show` counts as scan does; one@1 is unchanged by the later scans.
    let records_of = |d: &str, source: Option<&str>| {
        let v = env.json(&["dataset", "show", d]);
        v["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["source"].as_str() == source)
            .map(|u| u["records"].as_u64().unwrap())
    };
    assert_eq!(records_of("two@1", None), Some(2));
    assert_eq!(records_of("two@1", Some("getty")), None);
    assert_eq!(records_of("one@1", Some("getty")), Some(1));
    assert_eq!(records_of("one@1", None), None);
    assert_eq!(records_of("three@1", Some("getty")), Some(1));

    // What a scan observed in the bytes (their URLs) holds for every version holding them,
    // even one whose scan could not see it.
    env.write("four/links.jsonl", records("gettyimages.com", 3));
    let s4 = env.json(&["scan", "four", "--dataset", "four@1"]);
    assert_eq!(s4["sources"]["getty"]["records"], 3, "{s4}");
    env.write("five/links.jsonl", records("gettyimages.com", 3));
    let s5 = env.json(&[
        "scan",
        "five",
        "--dataset",
        "five@1",
        "--url-field",
        "no.such.field",
    ]);
    assert_eq!(s5["sources"]["getty"]["records"], 3, "{s5}");
    assert_eq!(s5["inherited_shards"], 1);
}

#[test]
fn bad_scan_input_is_a_clear_error() {
    let env = Env::new();
    env.ok(&["init"]);
    let before = env.dump();
    assert!(
        env.fails(&["scan", "nope", "--dataset", "a@1"])
            .contains("nope")
    );
    env.write("file.txt", "x");
    assert!(
        env.fails(&["scan", "file.txt", "--dataset", "a@1"])
            .contains("not a directory")
    );
    env.write("d/x.jsonl", "{}\n");
    assert!(
        env.fails(&["scan", "d", "--dataset", "a@1", "--source", "ghost"])
            .contains("unknown source 'ghost'")
    );
    assert!(
        env.fails(&["scan", "d", "--dataset", "a@1", "--derived-from", "p@1"])
            .contains("p@1 is not registered")
    );
    let out = env.run(&["scan", "d", "--dataset", "no-version"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAME@VERSION"));
    assert_eq!(env.dump(), before);
    let out = env.run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn demo_prints_the_expected_findings() {
    let env = Env::new();
    let r = env.json(&["demo"]);
    let found = verdicts(&r);
    let has = |v: &str, s: &str| found.iter().any(|(fv, fs, _)| fv == v && fs == s);
    assert!(has("use-denied", "twitter"), "{found:?}");
    assert!(has("no-licence", "reddit"), "{found:?}");
    assert!(has("use-denied", "getty-images"), "{found:?}");
    assert!(has("expired", "twitter"), "{found:?}");
    assert!(has("volume-exceeded", "twitter"), "{found:?}");
    assert!(has("unauthorised-sharing", "twitter"), "{found:?}");
    assert!(has("unknown-provenance", "-"), "{found:?}");
    assert!(
        !found.iter().any(|(_, s, _)| s == "wikipedia"),
        "CC-BY-SA content was flagged: {found:?}"
    );
    // The demo never touches a registry in the working directory.
    assert!(!env.db.exists());
    let table = env.ok(&["demo"]);
    assert!(
        table.contains("use-denied") && table.contains("no-licence") && table.contains("reddit")
    );
}

#[test]
fn help_and_version() {
    let env = Env::new();
    let help = env.ok(&["--help"]);
    // The command names as `--help` lists them: the first word of each line of its
    // `Commands:` section that starts a command (continuation lines are indented further).
    let listed: Vec<&str> = help
        .split("Commands:\n")
        .nth(1)
        .expect("--help has a Commands section")
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let spec = [
        "init",
        "apply",
        "scan",
        "source",
        "licence",
        "registry",
        "dataset",
        "train",
        "report",
        "audit",
        "lineage",
        "gate",
        "match",
        "verify",
        "log",
        "export",
        "import-card",
        "html-report",
        "demo",
        "key",
        "optout",
        "summary",
    ];
    for cmd in spec {
        assert!(
            listed.contains(&cmd),
            "--help does not list {cmd}: {listed:?}"
        );
        let sub = env.ok(&[cmd, "--help"]);
        assert!(
            sub.contains(&format!("Usage: provtrack {cmd}")),
            "{cmd} --help:\n{sub}"
        );
    }
    let unlisted: Vec<&&str> = listed
        .iter()
        .filter(|c| **c != "help" && !spec.contains(*c))
        .collect();
    assert!(
        unlisted.is_empty(),
        "commands the test does not know: {unlisted:?}"
    );
    let version = env.ok(&["--version"]);
    assert_eq!(
        version.trim(),
        format!("provtrack {}", env!("CARGO_PKG_VERSION")),
        "{version}"
    );
}

#[test]
fn caps_per_year_and_total_and_public_disclosures() {
    let env = Env::new();
    env.write(
        "p.toml",
        r#"
[[source]]
id = "yearly"
domains = ["yearly.com"]

[[source]]
id = "lifetime"
domains = ["lifetime.com"]

[[grant]]
source = "yearly"
licence = "CC0-1.0"
grantee = "acme"
from = "2020-01-01"
cap = { records = 5, per = "year" }

[[grant]]
source = "lifetime"
licence = "CC-BY-4.0"
grantee = "acme"
from = "2020-01-01"
until = "2030-01-01"
cap = { records = 8, per = "total" }

[[training]]
model = "m"
org = "acme"
date = "2024-01-01"
datasets = ["y@1", "y@2", "y@3"]

[[disclosure]]
source = "lifetime"
org = "acme"
recipient = "everyone"
kind = "public"
date = "2023-01-01"
"#,
    );
    env.ok(&["apply", "p.toml"]);
    // 3 + 3 records in 2022 (two datasets, distinct shards), 3 in 2023; the same for the
    // lifetime source, whose total is then 9.
    for (dir, ds, date, tag) in [
        ("a", "y@1", "2022-01-10", "a"),
        ("b", "y@2", "2022-12-20", "b"),
        ("c", "y@3", "2023-02-01", "c"),
    ] {
        let body = format!(
            "{}{}",
            common::records(&format!("{tag}.yearly.com"), 3),
            common::records(&format!("{tag}.lifetime.com"), 3)
        );
        env.write(&format!("{dir}/x.jsonl"), body);
        env.ok(&[
            "scan",
            dir,
            "--dataset",
            ds,
            "--org",
            "acme",
            "--collected",
            date,
        ]);
    }
    let r = env.json(&["report", "--verdict", "volume-exceeded"]);
    let got: BTreeSet<(String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["source"].as_str().unwrap().into(),
                f["dataset"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("yearly", "y@1"),
        ("yearly", "y@2"),
        ("lifetime", "y@1"),
        ("lifetime", "y@2"),
        ("lifetime", "y@3"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want, "{r}");
    let detail = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "yearly")
        .unwrap()["detail"]
        .clone();
    assert!(
        detail
            .as_str()
            .unwrap()
            .contains("6 yearly records in 2022 against a cap of 5 per year"),
        "{detail}"
    );
    // CC-BY-4.0 allows third-party sharing: the public disclosure is no finding.
    assert_eq!(
        env.json(&["report", "--verdict", "unauthorised-sharing"])["summary"]["findings"],
        0
    );
    let audit = env.json(&["audit", "lifetime"]);
    assert_eq!(audit["disclosures"][0]["verdict"], "permitted");
    assert_eq!(audit["disclosures"][0]["kind"], "public");
}

#[test]
fn reading_commands_on_a_missing_registry_are_errors_that_create_nothing() {
    // No file on SQLite; on PostgreSQL an empty database, without provtrack's schema.
    let env = Env::new();
    let exists = |env: &Env| {
        if env.is_postgres() {
            env.query_i64(
                "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() \
                 AND tablename = 'provtrack_schema'",
            ) > 0
        } else {
            env.db.exists()
        }
    };
    for args in [
        vec!["report"],
        vec!["verify"],
        vec!["log"],
        vec!["audit", "twitter"],
        vec!["dataset", "list"],
        vec!["source", "list"],
        vec!["lineage", "twitter"],
        vec![
            "gate",
            "--dataset",
            "d@1",
            "--org",
            "acme",
            "--use",
            "research",
        ],
        vec![
            "train",
            "m",
            "--org",
            "acme",
            "--date",
            "2024-01-01",
            "--dataset",
            "d@1",
        ],
    ] {
        let err = env.fails(&args);
        assert!(
            err.contains("no registry here; create it with `provtrack init` or `provtrack apply`"),
            "{args:?}: {err}"
        );
        assert!(!exists(&env), "{args:?} created a registry");
    }
    env.ok(&["init"]);
    assert!(exists(&env));
    assert!(env.ok(&["report"]).contains("VERDICT"));
}

#[test]
fn scan_requires_an_org_and_a_collection_date() {
    let env = Env::new();
    env.write("d/s.jsonl", records("twitter.com", 2));
    // Run without the tests' defaults (Env::run would add both).
    for (args, flag) in [
        (vec!["--collected", "2024-01-01"], "--org"),
        (vec!["--org", "acme"], "--collected"),
    ] {
        let mut all = vec!["--registry", "x.db", "scan", "d", "--dataset", "d@1"];
        all.extend(args);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_provtrack"))
            .args(&all)
            .current_dir(env.dir.path())
            .env_remove("PROVTRACK_ORG")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(flag), "{flag}: {err}");
        assert!(!env.path("x.db").exists(), "a registry was created");
    }
    // `today` is accepted when said; PROVTRACK_ORG stands for --org.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provtrack"))
        .args([
            "--registry",
            "y.db",
            "--format",
            "json",
            "scan",
            "d",
            "--dataset",
            "d@1",
        ])
        .args(["--collected", "today"])
        .current_dir(env.dir.path())
        .env("PROVTRACK_ORG", "acme")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let show = std::process::Command::new(env!("CARGO_BIN_EXE_provtrack"))
        .args([
            "--registry",
            "y.db",
            "--format",
            "json",
            "dataset",
            "show",
            "d@1",
        ])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(v["org"], "acme");
    assert_eq!(v["collected"], provtrack::types::Date::today().to_string());
}
