//! `provtrack html-report --out FILE` on the bundled sample story: one self-contained page
//! with the counts, every finding, a chart per source and org, and the lineage graph.

mod common;

use common::{Env, story};

#[test]
fn the_report_holds_the_findings_and_an_svg_per_chart() {
    let env = story();
    let out = env.path("report.html");
    let stdout = env.ok(&["html-report", "--out", out.to_str().unwrap()]);
    assert!(stdout.is_empty(), "results go to the file: {stdout}");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));

    // Every finding of `report` is a row of the table.
    let report = env.json(&["report"]);
    let findings = report["findings"].as_array().unwrap();
    let table = &html[html.find("id=\"findings-table\"").unwrap()..];
    let rows = table[..table.find("</table>").unwrap()]
        .matches("<tr><td")
        .count();
    assert_eq!(rows, findings.len());
    for f in findings {
        assert!(html.contains(f["verdict"].as_str().unwrap()));
    }
    assert!(html.contains("volume-exceeded") && html.contains("unauthorised-sharing"));

    // One chart per source and collecting org with monthly volume, plus the lineage graph.
    let mut volume_charts = 0;
    for s in ["twitter", "reddit", "wikipedia", "getty-images"] {
        let audit = env.json(&["audit", s]);
        let orgs: std::collections::BTreeSet<&str> = audit["volume"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["per"] == "month")
            .map(|v| v["org"].as_str().unwrap())
            .collect();
        volume_charts += orgs.len();
    }
    assert!(volume_charts >= 4);
    assert_eq!(html.matches("<svg").count(), volume_charts + 1);
    assert_eq!(
        html.matches("<figure class=\"chart\"").count(),
        volume_charts
    );
    assert!(
        html.contains("EXCEEDED"),
        "the twitter cap is exceeded in the story"
    );
    // The lineage graph marks the undisclosed application and blocked training edges.
    assert!(html.contains("id=\"lineage-graph\""));
    assert!(html.contains("acme-search (undisclosed)"));
    assert!(html.contains("class=\"blocked\""));
    for node in ["twitter", "web-mix@2022", "acme-chat-1", "acme-assistant"] {
        assert!(html.contains(node), "{node} missing");
    }

    // Self-contained: nothing is fetched.
    for needle in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(!html.contains(needle), "{needle} in the page");
    }
}

#[test]
fn text_from_the_registry_is_escaped() {
    let env = Env::new();
    env.write(
        "p.toml",
        "[[source]]\nid = \"evil\"\nname = \"<script>alert(1)</script>\"\ndomains = [\"evil.example\"]\n",
    );
    env.ok(&["apply", env.path("p.toml").to_str().unwrap()]);
    env.write("ds/a.jsonl", common::records("evil.example", 3));
    env.ok(&[
        "scan",
        env.path("ds").to_str().unwrap(),
        "--dataset",
        "d@1",
        "--org",
        "o",
        "--collected",
        "2024-01-01",
    ]);
    let out = env.path("r.html");
    env.ok(&["html-report", "--out", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(!html.contains("<script>alert"), "unescaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn an_empty_registry_still_makes_a_page_and_bad_paths_fail() {
    let env = Env::new();
    env.ok(&["init"]);
    let out = env.path("r.html");
    env.ok(&["html-report", "--out", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("No findings"));
    let err = env.fails(&["html-report", "--out", "/nonexistent-dir/r.html"]);
    assert!(err.contains("/nonexistent-dir/r.html"), "{err}");
    let err = env.fails(&["html-report", "--out", "r.html", "--format", "cyclonedx"]);
    assert!(err.contains("--format"), "{err}");
}
