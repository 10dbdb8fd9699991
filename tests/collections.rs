//! Collection-side findings through the built binary (semantics step 7): pulls after an
//! agreement ended, an over-cap month nobody trained on, content kept past the end of an
//! agreement that requires deletion, and a disclosure that covers only what was collected by
//! its date. Runs on both backends.

mod common;

use common::{Env, records};

const POLICY: &str = r#"
[[source]]
id = "streamy"
domains = ["streamy.example"]

[[licence]]
id = "streamy-api"
allow = ["display", "analytics"]
deny = ["ai-training", "third-party-sharing"]
delete_on_end = true

[[grant]]
id = "streamy-api-2022"
source = "streamy"
licence = "streamy-api"
grantee = "acme"
from = "2022-01-01"
until = "2023-02-09"
cap = { records = 5, per = "month" }

[[disclosure]]
source = "streamy"
org = "acme"
recipient = "partner-co"
kind = "partner"
date = "2023-01-15"
"#;

/// `scan DIR --dataset DATASET --org acme --collected DATE` and `extra`, as arguments.
fn scan_args(env: &Env, dir: &str, dataset: &str, date: &str, extra: &[&str]) -> Vec<String> {
    let a: Vec<String> = [
        "scan",
        env.path(dir).to_str().unwrap(),
        "--dataset",
        dataset,
    ]
    .into_iter()
    .chain(["--org", "acme", "--collected", date])
    .chain(extra.iter().copied())
    .map(String::from)
    .collect();
    a
}

fn as_strs(a: &[String]) -> Vec<&str> {
    a.iter().map(String::as_str).collect()
}

fn story() -> Env {
    let env = Env::new();
    env.write("p.toml", POLICY);
    env.ok(&["apply", env.path("p.toml").to_str().unwrap()]);
    for (name, n, date) in [
        ("jan-a", 3, "2023-01-10"),
        ("jan-b", 4, "2023-01-20"),
        ("mar", 2, "2023-03-01"),
    ] {
        env.write(&format!("{name}/s.jsonl"), records("streamy.example", n));
        env.ok(&as_strs(&scan_args(
            &env,
            name,
            &format!("{name}@1"),
            date,
            &[],
        )));
    }
    env
}

fn findings(env: &Env, args: &[&str]) -> Vec<(String, String, String, u64)> {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    let r = env.json(&all);
    let mut out: Vec<(String, String, String, u64)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["verdict"].as_str().unwrap().to_string(),
                f["use"].as_str().unwrap().to_string(),
                f["dataset"].as_str().unwrap_or("-").to_string(),
                f["records"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn row(v: &str, u: &str, d: &str, n: u64) -> (String, String, String, u64) {
    (v.into(), u.into(), d.into(), n)
}

#[test]
fn collections_are_judged_whether_or_not_anyone_trained_on_them() {
    let env = story();
    // Nothing was trained: every finding is about the collections and the disclosure.
    assert_eq!(
        findings(&env, &[]),
        vec![
            // The March pull came after the agreement ended.
            row("collected-without-grant", "collection", "mar@1", 2),
            // The partner share of 2023-01-15 covered the 3 records collected by then, not
            // the 4 collected on 2023-01-20.
            row("unauthorised-sharing", "third-party-sharing", "-", 3),
            // January: 3 + 4 = 7 against a cap of 5, for both versions collected then.
            row("volume-exceeded", "collection", "jan-a@1", 3),
            row("volume-exceeded", "collection", "jan-b@1", 4),
            // The licence requires deletion when the grant ends; both January pulls remain.
            row("retained-after-end", "retention", "jan-a@1", 3),
            row("retained-after-end", "retention", "jan-b@1", 4),
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    let r = env.json(&["report", "--use", "collection"]);
    let details: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["detail"].as_str().unwrap())
        .collect();
    assert!(
        details
            .iter()
            .any(|d| d.contains("after grant streamy-api-2022 ended 2023-02-09")),
        "{details:?}"
    );
    assert!(
        details
            .iter()
            .any(|d| d.contains("against a cap of 5 per month") && d.contains(": 2 over")),
        "{details:?}"
    );
    // The gate of a version sees its collection findings too.
    let gate = env.run(&[
        "gate",
        "--dataset",
        "mar@1",
        "--org",
        "acme",
        "--use",
        "display",
        "--format",
        "json",
    ]);
    assert_eq!(gate.status.code(), Some(1));
    let g: serde_json::Value = serde_json::from_slice(&gate.stdout).unwrap();
    assert!(
        g["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["verdict"] == "collected-without-grant"),
        "{g}"
    );
}

#[test]
fn the_audit_counts_periods_over_the_whole_history_and_flags_pulls_outside_any_grant() {
    let env = story();
    let month = |a: &serde_json::Value, period: &str| -> serde_json::Value {
        a["volume"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["per"] == "month" && v["period"] == period)
            .cloned()
            .unwrap_or_else(|| panic!("no {period} in {a}"))
    };
    let all = env.json(&["audit", "streamy"]);
    let jan = month(&all, "2023-01");
    assert_eq!(
        (
            jan["records"].as_u64(),
            jan["cap"].as_u64(),
            jan["over"].as_u64()
        ),
        (Some(7), Some(5), Some(2)),
        "{jan}"
    );
    assert_eq!(jan["exceeded"], true);
    assert_eq!(jan["outside_grant"], 0);
    // March: pulled after the agreement ended, under no grant and no cap.
    let mar = month(&all, "2023-03");
    assert_eq!(
        (mar["records"].as_u64(), mar["outside_grant"].as_u64()),
        (Some(2), Some(2))
    );
    assert!(mar["grant"].is_null(), "{mar}");
    // A window chooses which periods are shown, never what they count.
    let window = env.json(&[
        "audit",
        "streamy",
        "--from",
        "2023-01-15",
        "--to",
        "2023-01-31",
    ]);
    assert_eq!(month(&window, "2023-01")["records"], 7);
    assert!(
        window["volume"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["period"] != "2023-03"),
        "{window}"
    );
    // The partner share of 2023-01-15 covered what acme collected by then: in the whole
    // audit, not in a window that starts after it.
    assert_eq!(all["disclosures"].as_array().unwrap().len(), 1, "{all}");
    let later = env.json(&["audit", "streamy", "--from", "2023-01-16"]);
    assert!(
        later["disclosures"].as_array().unwrap().is_empty(),
        "{later}"
    );
    // The audit's findings hold the collection findings of the audited versions.
    let verdicts: std::collections::BTreeSet<String> = all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["verdict"].as_str().unwrap().to_string())
        .collect();
    for v in [
        "collected-without-grant",
        "volume-exceeded",
        "retained-after-end",
    ] {
        assert!(verdicts.contains(v), "{v} missing: {verdicts:?}");
    }
}

#[test]
fn the_html_report_draws_pulls_outside_any_grant_in_red() {
    let env = story();
    let out = env.path("r.html");
    env.ok(&["html-report", "--out", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(out).unwrap();
    assert!(
        html.contains("2023-03: 2 records — 2 collected outside any grant"),
        "{html}"
    );
    assert!(html.contains("2023-01: 7 records, cap 5 (streamy-api-2022) — EXCEEDED by 2"));
    let march = html
        .split("<rect ")
        .find(|r| r.contains("<title>2023-03:"))
        .unwrap();
    assert!(march.contains("fill=\"#b3261e\""), "{march}");
}

#[test]
fn applications_carry_their_purposes_and_typos_in_them_are_errors() {
    let env = story();
    env.write(
        "apps.toml",
        r#"
[[training]]
model = "streamy-ranker"
org = "acme"
date = "2023-04-01"
datasets = ["jan-a@1"]

[[application]]
id = "ads"
org = "acme"
models = ["streamy-ranker"]
uses = ["advertising", "analytics"]
disclosed = false
"#,
    );
    env.ok(&["apply", env.path("apps.toml").to_str().unwrap()]);
    let audit = env.json(&["audit", "streamy"]);
    let app = &audit["applications"][0];
    assert_eq!(app["id"], "ads");
    assert_eq!(app["uses"], serde_json::json!(["advertising", "analytics"]));
    let table = env.ok(&["audit", "streamy"]);
    assert!(table.contains("advertising analytics"), "{table}");
    env.write(
        "typo.toml",
        "[[application]]\nid = \"ads\"\norg = \"acme\"\nuses = [\"advertisng\"]\n",
    );
    let err = env.fails(&["apply", env.path("typo.toml").to_str().unwrap()]);
    assert!(
        err.contains("typo.toml:4: unknown use 'advertisng'; did you mean 'advertising'?"),
        "{err}"
    );
}

/// The story with a version scanned by mistake (from the wrong bucket, in January), then
/// retracted.
fn story_with_a_mistake() -> Env {
    let env = story();
    env.write("wrong/s.jsonl", records("streamy.example", 6));
    env.ok(&as_strs(&scan_args(
        &env,
        "wrong",
        "wrong@1",
        "2023-01-25",
        &[],
    )));
    env
}

/// `value` with every retraction time replaced by `TIME` (it is the wall clock's).
fn without_times(mut value: serde_json::Value) -> serde_json::Value {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                if m.contains_key("reason")
                    && let Some(t) = m.get_mut("time")
                {
                    *t = serde_json::json!("TIME");
                }
                m.values_mut().for_each(walk);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut value);
    value
}

fn golden(name: &str, got: &serde_json::Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("PROVTRACK_BLESS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(got).unwrap() + "\n").unwrap();
    }
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        got,
        &want,
        "differs from {} (PROVTRACK_BLESS=1 rewrites it)",
        path.display()
    );
}

#[test]
fn a_retracted_version_stays_in_history_and_leaves_every_count_and_verdict() {
    let clean = story();
    let env = story_with_a_mistake();
    // Before the retraction the mistaken pull counts: January is 13 records, not 7.
    let before = findings(&env, &[]);
    assert!(
        before.contains(&row("volume-exceeded", "collection", "wrong@1", 6)),
        "{before:?}"
    );
    let events = env.query_i64("SELECT COUNT(*) FROM events");
    let out = env.ok(&[
        "dataset",
        "retract",
        "wrong@1",
        "--reason",
        "scanned the wrong bucket",
    ]);
    assert!(out.contains("scanned the wrong bucket"), "{out}");
    assert_eq!(env.query_i64("SELECT COUNT(*) FROM events"), events + 1);
    // Every verdict and count is what it is without the mistake.
    assert_eq!(findings(&env, &[]), findings(&clean, &[]));
    let report = env.json(&["report"]);
    assert_eq!(report, clean.json(&["report"]));
    let audit = without_times(env.json(&["audit", "streamy"]));
    let mut clean_audit = clean.json(&["audit", "streamy"]);
    clean_audit["retracted"] = audit["retracted"].clone();
    assert_eq!(audit, clean_audit);
    // The audit shows it as retracted, with what it held; the report and audit are pinned.
    assert_eq!(
        audit["retracted"],
        serde_json::json!([{
            "dataset": "wrong@1", "org": "acme", "collected": "2023-01-25", "records": 6,
            "reason": "scanned the wrong bucket", "time": "TIME"
        }])
    );
    golden("report-collections.json", &report);
    golden("audit-streamy-retracted.json", &audit);
    // It stays in the history: listed and shown as retracted, in the log.
    let list = env.json(&["dataset", "list"]);
    let wrong = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dataset"] == "wrong@1")
        .unwrap();
    assert_eq!(wrong["retracted"]["reason"], "scanned the wrong bucket");
    assert_eq!(wrong["records"], 6);
    let table = env.ok(&["dataset", "list"]);
    assert!(table.contains("(scanned the wrong bucket)"), "{table}");
    let show = env.json(&["dataset", "show", "wrong@1"]);
    assert_eq!(show["retracted"]["reason"], "scanned the wrong bucket");
    assert_eq!(show["findings"], serde_json::json!([]));
    let log = env.json(&["log"]);
    let last = log.as_array().unwrap().last().unwrap();
    assert_eq!(last["kind"], "retract");
    assert!(last["payload"].to_string().contains("wrong@1"), "{last}");
    env.ok(&["verify"]);
    // Asking about it, gating or exporting it, scanning into it: errors that say so.
    for args in [
        &["report", "--dataset", "wrong@1"][..],
        &[
            "gate",
            "--dataset",
            "wrong@1",
            "--org",
            "acme",
            "--use",
            "display",
        ],
        &["export", "wrong@1", "--format", "spdx3"],
        &["dataset", "retract", "wrong@1", "--reason", "again"],
    ] {
        let err = env.fails(args);
        assert!(err.contains("retracted"), "{args:?}: {err}");
    }
    let err = env.fails(&as_strs(&scan_args(
        &env,
        "wrong",
        "wrong@1",
        "2023-01-25",
        &[],
    )));
    assert!(err.contains("is retracted"), "{err}");
    let derived = scan_args(
        &env,
        "jan-a",
        "jan-a@2",
        "2023-01-10",
        &["--derived-from", "wrong@1"],
    );
    let err = env.fails(&as_strs(&derived));
    assert!(err.contains("is retracted"), "{err}");
    // A version something trained on cannot be retracted: its findings would vanish.
    env.write(
        "train.toml",
        "[[training]]\nmodel = \"ranker\"\norg = \"acme\"\ndate = \"2023-04-01\"\ndatasets = [\"jan-a@1\"]\n",
    );
    env.ok(&["apply", env.path("train.toml").to_str().unwrap()]);
    let events = env.query_i64("SELECT COUNT(*) FROM events");
    let err = env.fails(&["dataset", "retract", "jan-a@1", "--reason", "oops"]);
    assert!(err.contains("trained on by ranker"), "{err}");
    let err = env.fails(&["dataset", "retract", "jan-z@1", "--reason", "oops"]);
    assert!(err.contains("not registered"), "{err}");
    let err = env.fails(&["dataset", "retract", "mar@1", "--reason", "  "]);
    assert!(err.contains("--reason"), "{err}");
    assert_eq!(env.query_i64("SELECT COUNT(*) FROM events"), events);
    // A run recorded later on the retracted version is flagged, never silently clean.
    env.write(
        "late.toml",
        "[[training]]\nmodel = \"late\"\norg = \"acme\"\ndate = \"2023-05-01\"\ndatasets = [\"wrong@1\"]\n",
    );
    env.ok(&["apply", env.path("late.toml").to_str().unwrap()]);
    let late = env.json(&["report", "--model", "late"]);
    assert_eq!(
        late["findings"][0]["verdict"], "unknown-provenance",
        "{late}"
    );
    assert!(
        late["findings"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("was retracted"),
        "{late}"
    );
    // A retraction is final: the storage refuses to change or remove it.
    assert!(!env.sql_ok("DELETE FROM retractions"));
}
