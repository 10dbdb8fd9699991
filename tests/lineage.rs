//! `provtrack lineage ID` through the built binary on the sample story.

mod common;

use std::collections::BTreeSet;

use common::story;
use serde_json::Value;

fn ids(g: &Value) -> BTreeSet<String> {
    g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn lineage_of_a_model_goes_up_to_sources_and_down_to_applications() {
    let env = story();
    let g = env.json(&["lineage", "acme-chat-1"]);
    assert_eq!(g["root"], "model:acme-chat-1");
    assert_eq!(
        ids(&g),
        set(&[
            "model:acme-chat-1",
            "dataset:tw-pull@2022-03",
            "dataset:web-mix@2022",
            "source:twitter",
            "source:reddit",
            "source:wikipedia",
            "app:acme-search",
            "app:acme-assistant",
        ])
    );
    let search = g["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "app:acme-search")
        .unwrap();
    assert_eq!(search["disclosed"], false);
    let trained: Vec<&Value> = g["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "trained")
        .collect();
    assert_eq!(trained.len(), 2);
    assert!(trained.iter().all(|e| e["blocked"] == true), "{trained:?}");

    let up = env.json(&["lineage", "acme-search", "--direction", "up"]);
    assert!(!ids(&up).contains("app:acme-assistant"));
    assert!(ids(&up).contains("source:reddit"));
    let down = env.json(&["lineage", "reddit", "--direction", "down"]);
    assert_eq!(
        ids(&down),
        set(&[
            "source:reddit",
            "dataset:web-mix@2022",
            "model:acme-chat-1",
            "app:acme-search",
            "app:acme-assistant"
        ])
    );
    // Getty content went into the vision model only.
    let getty = env.json(&["lineage", "getty-images", "--direction", "down"]);
    assert!(ids(&getty).contains("model:acme-vision-1"));
    assert!(!ids(&getty).contains("model:acme-chat-1"));
}

#[test]
fn lineage_of_a_shard_and_of_a_derived_dataset() {
    let env = story();
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples/datasets/tw-pull/part-0000.jsonl"),
    )
    .unwrap();
    let hash = blake3::hash(&bytes).to_hex().to_string();
    let g = env.json(&["lineage", &hash]);
    // The same bytes sit in both datasets: the shard leads to both, and up to twitter.
    let got = ids(&g);
    assert!(got.contains(&format!("shard:{hash}")));
    for n in [
        "source:twitter",
        "dataset:tw-pull@2022-03",
        "dataset:web-mix@2022",
        "model:acme-chat-2",
    ] {
        assert!(got.contains(n), "{n} missing from {got:?}");
    }

    env.write("thumbs/t.jpg", "thumbnail");
    env.ok(&[
        "scan",
        "thumbs",
        "--dataset",
        "thumbs@1",
        "--derived-from",
        "getty-images@2021",
    ]);
    let d = env.json(&["lineage", "thumbs@1", "--direction", "up"]);
    assert!(
        d["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "derived"
                && e["from"] == "dataset:getty-images@2021"
                && e["to"] == "dataset:thumbs@1")
    );
    let down = env.json(&["lineage", "getty-images@2021", "--direction", "down"]);
    assert!(ids(&down).contains("dataset:thumbs@1"));
}

#[test]
fn lineage_formats_and_errors() {
    let env = story();
    let tree = env.ok(&["lineage", "acme-chat-1"]);
    assert!(tree.starts_with("model acme-chat-1\n"), "{tree}");
    assert!(
        tree.contains("  ↑ dataset tw-pull@2022-03  [blocked: findings]\n    ↑ source twitter\n"),
        "{tree}"
    );
    assert!(
        tree.contains("↓ application acme-search (undisclosed)"),
        "{tree}"
    );
    let dot = env.ok(&["lineage", "acme-chat-1", "--format", "dot"]);
    assert!(
        dot.starts_with("digraph lineage {")
            && dot.contains("\"dataset:web-mix@2022\" -> \"model:acme-chat-1\"")
    );
    assert!(
        dot.contains("style=dashed, color=red"),
        "undisclosed app not marked: {dot}"
    );
    let mermaid = env.ok(&["lineage", "acme-chat-1", "--format", "mermaid"]);
    assert!(mermaid.starts_with("graph LR\n") && mermaid.contains("-. blocked .->"));
    let csv = env.ok(&["lineage", "acme-chat-1", "--format", "csv"]);
    assert!(csv.starts_with("from,to,kind,blocked\r\n"));

    assert!(
        env.fails(&["lineage", "nothing-here"])
            .contains("not a source, dataset")
    );
    assert!(
        env.fails(&["lineage", &"0".repeat(64)])
            .contains("no shard")
    );
    // Graph formats are refused by other commands before they do anything.
    let before = env.dump();
    env.write("more/x.jsonl", "{}\n");
    assert!(
        env.fails(&["scan", "more", "--dataset", "more@1", "--format", "dot"])
            .contains("--format")
    );
    assert_eq!(env.dump(), before);
}

#[test]
fn a_shard_is_found_by_the_hash_prefix_dataset_show_prints() {
    let env = story();
    let show = env.ok(&["dataset", "show", "tw-pull@2022-03"]);
    // The 16-digit prefix of the first shard row of the table.
    let prefix = show
        .lines()
        .skip_while(|l| !l.starts_with("PATH"))
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .to_string();
    assert_eq!(prefix.len(), 16, "{show}");
    let by_prefix = env.json(&["lineage", &prefix]);
    let shown = env.json(&["dataset", "show", "tw-pull@2022-03"]);
    let full = shown["shards"][0]["hash"].as_str().unwrap();
    assert!(full.starts_with(&prefix));
    assert_eq!(by_prefix, env.json(&["lineage", full]));
    assert_eq!(by_prefix, env.json(&["lineage", &prefix.to_uppercase()]));
    let err = env.fails(&["lineage", "0000000000000000"]);
    assert!(
        err.contains("no registered shard hash starts with these digits"),
        "{err}"
    );
}
