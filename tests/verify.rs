//! `provtrack verify` through the built binary: the event chain against edits, deletions
//! and reordering done behind provtrack's back, root hashes, and `--path` re-hashing.

mod common;

use common::{Env, records, story};
use serde_json::Value;

/// Runs verify expecting exit 1; returns its JSON.
fn mismatch(env: &Env, args: &[&str]) -> Value {
    let mut a = vec!["verify", "--format", "json"];
    a.extend_from_slice(args);
    let out = env.run(&a);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs SQL on the registry directly, with the append-only triggers off (as an attacker
/// with write access to the storage would); the same SQL on both backends.
fn tamper(env: &Env, sql: &str) {
    env.tamper(sql, sql);
}

#[test]
fn an_intact_registry_verifies_and_prints_its_chain_head() {
    let env = story();
    let v = env.json(&["verify"]);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["events"], 4);
    assert_eq!(v["datasets"], 3);
    let log = env.json(&["log"]);
    assert_eq!(
        v["chain_head"],
        log.as_array().unwrap().last().unwrap()["hash"]
    );
    // The storage itself refuses to rewrite history.
    assert!(!env.sql_ok("UPDATE events SET actor = 'x' WHERE seq = 1"));
    assert!(!env.sql_ok("DELETE FROM events WHERE seq = 1"));
}

#[test]
fn an_edited_event_is_caught_at_its_sequence_number() {
    let env = story();
    tamper(
        &env,
        "UPDATE events SET payload = replace(payload, '1200', '12') WHERE seq = 2;",
    );
    let v = mismatch(&env, &[]);
    assert_eq!(v["mismatches"][0]["check"], "event");
    assert_eq!(v["mismatches"][0]["subject"], "2");
    assert!(
        v["mismatches"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("edited")
    );
}

#[test]
fn a_deleted_event_is_caught_where_the_gap_is() {
    let env = story();
    tamper(&env, "DELETE FROM events WHERE seq = 3;");
    let v = mismatch(&env, &[]);
    assert_eq!(v["mismatches"][0]["subject"], "4");
    // Deleting the last event leaves a valid but shorter chain: the recorded head differs.
    let env = story();
    let head = env.json(&["verify"])["chain_head"].clone();
    tamper(&env, "DELETE FROM events WHERE seq = 4;");
    assert_ne!(env.json(&["verify"])["chain_head"], head);
}

#[test]
fn swapped_events_are_caught() {
    let env = story();
    tamper(
        &env,
        "CREATE TEMP TABLE t AS SELECT * FROM events WHERE seq IN (2, 3);
         UPDATE events SET time = (SELECT time FROM t WHERE seq = 3), actor = (SELECT actor FROM t WHERE seq = 3),
           kind = (SELECT kind FROM t WHERE seq = 3), payload = (SELECT payload FROM t WHERE seq = 3),
           prev = (SELECT prev FROM t WHERE seq = 3), hash = (SELECT hash FROM t WHERE seq = 3) WHERE seq = 2;
         UPDATE events SET time = (SELECT time FROM t WHERE seq = 2), actor = (SELECT actor FROM t WHERE seq = 2),
           kind = (SELECT kind FROM t WHERE seq = 2), payload = (SELECT payload FROM t WHERE seq = 2),
           prev = (SELECT prev FROM t WHERE seq = 2), hash = (SELECT hash FROM t WHERE seq = 2) WHERE seq = 3;",
    );
    let v = mismatch(&env, &[]);
    assert_eq!(v["mismatches"][0]["subject"], "2", "{v}");
}

#[test]
fn a_tampered_shard_list_breaks_the_root_hash() {
    let env = story();
    env.tamper(
        "DELETE FROM dataset_shards WHERE dataset_id = (SELECT id FROM datasets WHERE name = 'web-mix') \
         AND path = CAST('web/crawl-000.jsonl' AS BLOB);",
        "DELETE FROM dataset_shards WHERE dataset_id = (SELECT id FROM datasets WHERE name = 'web-mix') \
         AND path = convert_to('web/crawl-000.jsonl', 'UTF8');",
    );
    let v = mismatch(&env, &[]);
    let roots: Vec<&Value> = v["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["check"] == "root")
        .collect();
    assert_eq!(roots.len(), 1, "{v}");
    assert_eq!(roots[0]["subject"], "web-mix@2022");
}

#[test]
fn verify_path_names_added_missing_and_changed_files() {
    let env = Env::new();
    env.write("ds/a.jsonl", records("x.com", 2));
    env.write("ds/b.bin", "bee");
    env.write("ds/sub/c.bin", "sea");
    env.ok(&["scan", "ds", "--dataset", "d@1"]);
    let ok = env.json(&["verify", "--dataset", "d@1", "--path", "ds"]);
    assert_eq!(
        (ok["ok"].as_bool(), ok["files"].as_u64()),
        (Some(true), Some(3))
    );

    env.write("ds/new.bin", "new");
    std::fs::remove_file(env.path("ds/b.bin")).unwrap();
    env.write("ds/sub/c.bin", "SEA");
    let v = mismatch(&env, &["--dataset", "d@1", "--path", "ds"]);
    let got: Vec<(String, String)> = v["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["subject"].as_str().unwrap().into(),
                m["detail"]
                    .as_str()
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .into(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("new.bin".to_string(), "added".to_string()),
            ("sub/c.bin".to_string(), "changed".to_string()),
            ("b.bin".to_string(), "missing".to_string()),
        ]
    );
    assert!(env.fails(&["verify", "--path", "ds"]).contains("--dataset"));
    assert!(
        env.fails(&["verify", "--dataset", "nope@1"])
            .contains("not registered")
    );
    assert!(
        env.fails(&["verify", "--dataset", "d@1", "--path", "missing-dir"])
            .contains("missing-dir")
    );
}
