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
    let none = env.json(&["audit", "twitter", "--org", "globex"]);
    assert_eq!(none["totals"]["records"], 0);
    assert!(none["models"].as_array().unwrap().is_empty());
    // Reddit has no grant at all: every finding is no-licence; Wikipedia has none.
    let reddit = env.json(&["audit", "reddit"]);
    assert!(
        reddit["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["verdict"] == "no-licence")
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
