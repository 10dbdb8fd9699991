//! Partitioned scans through the built binary: N slices scanned (at once, from N
//! processes), staged invisibly, sealed into one version with the same root hash as one
//! scan of the whole tree; missing, duplicate and mismatched parts are clear errors.

mod common;

use std::process::Command;

use common::{Env, gzip, records};

fn tree(env: &Env) {
    env.write(
        "policy.toml",
        "[[source]]\nid = \"twitter\"\ndomains = [\"twitter.com\"]\n\
         [[source]]\nid = \"wikipedia\"\ndomains = [\"wikipedia.org\"]\n",
    );
    env.ok(&["apply", "policy.toml"]);
    for i in 0..60 {
        env.write(
            &format!("data/d{}/t{i}.jsonl", i % 5),
            records("twitter.com", 1 + i % 4),
        );
        env.write(
            &format!("data/d{}/w{i}.jsonl.gz", i % 3),
            gzip(records("en.wikipedia.org", 2).as_bytes()),
        );
    }
    env.write("data/blob.bin", vec![7u8; 5000]);
    env.write("data/copy/t0.jsonl", records("twitter.com", 1));
}

fn part(env: &Env, k: usize, n: usize) -> serde_json::Value {
    let p = format!("{k}/{n}");
    let args = vec![
        "scan",
        "data",
        "--dataset",
        "big@1",
        "--org",
        "acme",
        "--collected",
        "2024-01-01",
        "--partition",
        &p,
    ];
    env.json(&args)
}

#[test]
fn four_parts_at_once_seal_to_the_single_scan_root() {
    let env = Env::new();
    tree(&env);
    let whole = env.json(&[
        "scan",
        "data",
        "--dataset",
        "whole@1",
        "--org",
        "acme",
        "--collected",
        "2024-01-01",
    ]);
    let outs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..=4)
            .map(|k| {
                let env = &env;
                s.spawn(move || {
                    Command::new(env!("CARGO_BIN_EXE_provtrack"))
                        .arg("--registry")
                        .arg(&env.registry)
                        .args(["-q", "--format", "json", "scan", "data"])
                        .args(["--dataset", "big@1", "--org", "acme"])
                        .args(["--collected", "2024-01-01"])
                        .args(["--partition", &format!("{k}/4")])
                        .current_dir(env.dir.path())
                        .output()
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut files = 0;
    for (k, out) in outs.iter().enumerate() {
        assert!(
            out.status.success(),
            "part {}: {}",
            k + 1,
            String::from_utf8_lossy(&out.stderr)
        );
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(s["status"], "staged");
        assert_eq!(s["partition"], format!("{}/4", k + 1));
        assert!(s["files"].as_u64().unwrap() > 0, "empty part {s}");
        files += s["files"].as_u64().unwrap();
    }
    assert_eq!(files, whole["files"].as_u64().unwrap());

    // Staged parts are invisible to every query.
    let names: Vec<String> = env.json(&["dataset", "list"]).as_array().unwrap()[..]
        .iter()
        .map(|d| format!("{}@{}", d["dataset"]["name"], d["dataset"]["version"]))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    env.fails(&["dataset", "show", "big@1"]);

    let sealed = env.json(&["dataset", "seal", "big@1"]);
    assert_eq!(sealed["root"], whole["root"]);
    assert_eq!(sealed["files"], whole["files"]);
    assert_eq!(sealed["records"], whole["records"]);
    let a = env.json(&["dataset", "show", "big@1"]);
    let b = env.json(&["dataset", "show", "whole@1"]);
    assert_eq!(a["sources"], b["sources"]);
    assert_eq!(a["shards"], b["shards"]);
    // The staging rows are gone, the chain is whole, the root re-derives.
    assert!(!env.dump().iter().any(|r| r.starts_with("dataset_part")));
    let v = env.json(&["verify"]);
    assert_eq!(v["ok"], true, "{v}");
    let log = env.json(&["log", "--limit", "1"]);
    assert_eq!(log[0]["kind"], "seal");
    // Sealed once: a second seal, or another part, is refused.
    assert!(env.fails(&["dataset", "seal", "big@1"]).contains("already"));
    let line = env.fails(&["scan", "data", "--dataset", "big@1", "--partition", "1/4"]);
    assert!(line.contains("already registered"), "{line}");
}

#[test]
fn missing_duplicate_and_mismatched_parts_are_clear_errors() {
    let env = Env::new();
    tree(&env);
    part(&env, 1, 3);
    part(&env, 3, 3);
    let before = env.dump();
    let line = env.fails(&["dataset", "seal", "big@1"]);
    assert!(line.contains("part 2/3 missing"), "{line}");
    assert_eq!(before, env.dump(), "a failed seal changed the registry");

    // Another N for the same version.
    let line = env.fails(&[
        "scan",
        "data",
        "--dataset",
        "big@1",
        "--org",
        "acme",
        "--collected",
        "2024-01-01",
        "--partition",
        "2/4",
    ]);
    assert!(line.contains("3 parts") && line.contains("K/3"), "{line}");

    // The same part again: unchanged when identical, refused when the content differs.
    assert_eq!(part(&env, 1, 3)["status"], "unchanged");
    let mut changed = None;
    for i in 0..60 {
        let rel = format!("d{}/t{i}.jsonl", i % 5);
        if "1/3"
            .parse::<provtrack::scan::Partition>()
            .unwrap()
            .holds(rel.as_bytes())
        {
            changed = Some(format!("data/{rel}"));
            break;
        }
    }
    env.write(&changed.unwrap(), records("twitter.com", 9));
    let line = env.fails(&[
        "scan",
        "data",
        "--dataset",
        "big@1",
        "--org",
        "acme",
        "--collected",
        "2024-01-01",
        "--partition",
        "1/3",
    ]);
    assert!(
        line.contains("part 1/3") && line.contains("already staged"),
        "{line}"
    );

    // Parts that disagree on the org are not sealed.
    let line = env.fails(&["scan", "data", "--dataset", "big@1", "--partition", "0/3"]);
    assert!(line.contains("--partition"), "{line}");
    env.ok(&[
        "scan",
        "data",
        "--dataset",
        "big@1",
        "--org",
        "other",
        "--collected",
        "2024-01-01",
        "--partition",
        "2/3",
    ]);
    let line = env.fails(&["dataset", "seal", "big@1"]);
    assert!(line.contains("disagree"), "{line}");
    assert!(
        env.fails(&["dataset", "seal", "none@1"])
            .contains("no staged parts")
    );
}
