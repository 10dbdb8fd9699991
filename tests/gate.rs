//! `provtrack gate --dataset` through the built binary: exit codes, --allow-unknown, JUnit
//! XML, and the one event it writes.

mod common;

use common::{Env, dump, records, story};

fn gate(env: &Env, args: &[&str]) -> (i32, serde_json::Value) {
    let mut a = vec!["gate", "--format", "json"];
    a.extend_from_slice(args);
    let out = env.run(&a);
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "gate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, serde_json::from_slice(&out.stdout).unwrap())
}

/// Checks that `xml` is well formed enough for a CI system: declaration, every tag closed
/// in order, attributes quoted.
fn well_formed(xml: &str) {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unclosed tag") + start;
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().unwrap().to_string());
        }
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unquoted attribute in <{tag}>"
        );
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

#[test]
fn gate_blocks_passes_and_explains() {
    let env = story();
    let before: Vec<String> = dump(&env.db)
        .into_iter()
        .filter(|r| !r.starts_with("events:"))
        .collect();
    let junit = env.path("gate.xml");
    let (code, r) = gate(
        &env,
        &[
            "--dataset",
            "web-mix@2022",
            "--org",
            "acme",
            "--date",
            "2023-03-01",
            "--use",
            "commercial",
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(r["pass"], false);
    let verdicts: Vec<(String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["verdict"].as_str().unwrap().into(),
                f["source"].as_str().unwrap_or("-").into(),
            )
        })
        .collect();
    assert!(
        verdicts.contains(&("no-licence".into(), "reddit".into())),
        "{verdicts:?}"
    );
    assert!(
        verdicts.contains(&("use-denied".into(), "twitter".into())),
        "{verdicts:?}"
    );
    assert!(
        verdicts.contains(&("unknown-provenance".into(), "-".into())),
        "{verdicts:?}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    well_formed(&xml);
    assert!(xml.contains("failures=\"3\""), "{xml}");
    for failing in ["reddit", "twitter", "unknown"] {
        assert!(
            xml.contains(&format!("name=\"{failing}\">\n      <failure")),
            "{failing} not failing in {xml}"
        );
    }
    assert!(xml.contains("name=\"wikipedia\"/>"), "{xml}");

    // The gate wrote its event and nothing else.
    let after: Vec<String> = dump(&env.db)
        .into_iter()
        .filter(|r| !r.starts_with("events:"))
        .collect();
    assert_eq!(before, after);
    let log = env.json(&["log", "--limit", "1"]);
    assert_eq!(log[0]["kind"], "gate");
    assert!(
        log[0]["payload"]
            .as_str()
            .unwrap()
            .contains("\"pass\":false")
    );
    assert_eq!(env.json(&["verify"])["ok"], true);
}

#[test]
fn gate_passes_clean_content_and_honours_allow_unknown() {
    let env = story();
    env.write("wiki/a.jsonl", records("en.wikipedia.org", 5));
    env.ok(&["scan", "wiki", "--dataset", "wiki@1", "--org", "acme"]);
    let (code, r) = gate(
        &env,
        &[
            "--dataset",
            "wiki@1",
            "--org",
            "acme",
            "--use",
            "commercial",
        ],
    );
    assert_eq!((code, r["pass"].as_bool()), (0, Some(true)), "{r}");

    env.write("mixed/a.jsonl", records("en.wikipedia.org", 5));
    env.write("mixed/b.jsonl", records("somewhere.net", 2));
    env.ok(&["scan", "mixed", "--dataset", "mixed@1", "--org", "acme"]);
    let (code, _) = gate(&env, &["--dataset", "mixed@1", "--org", "acme"]);
    assert_eq!(code, 1);
    let (code, r) = gate(
        &env,
        &["--dataset", "mixed@1", "--org", "acme", "--allow-unknown"],
    );
    assert_eq!(code, 0, "{r}");
    // The unknown content is still reported, just not blocking.
    assert_eq!(r["findings"][0]["verdict"], "unknown-provenance");
}

#[test]
fn gate_errors_exit_2() {
    let env = story();
    assert!(
        env.fails(&["gate", "--dataset", "ghost@1", "--org", "acme"])
            .contains("not registered")
    );
    assert!(env.fails(&["gate", "--org", "acme"]).contains("--dataset"));
    assert!(
        env.fails(&["gate", "somedir", "--org", "acme"])
            .contains("not built yet")
    );
    assert!(
        env.fails(&["gate", "--dataset", "web-mix@2022"])
            .contains("--org")
    );
}
