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
    // Deleting the last event leaves a valid but shorter chain (the recorded head differs),
    // whose last state is not the rows': what the deleted event did is unexplained.
    let env = story();
    let head = env.json(&["verify"])["chain_head"].clone();
    tamper(&env, "DELETE FROM events WHERE seq = 4;");
    let v = mismatch(&env, &[]);
    assert_ne!(v["chain_head"], head);
    assert!(
        v["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["check"] == "state" || m["check"] == "dataset"),
        "{v}"
    );
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

/// The verdict inputs an attacker with write access to the storage would edit (triggers
/// off), each caught by `verify` naming the table.
#[test]
fn every_edit_of_a_verdict_input_is_caught_naming_the_table() {
    let edits: &[(&str, &str, &str)] = &[
        (
            "licence_terms",
            "DELETE FROM licence_terms WHERE licence_id = 'twitter-free-api' AND kind = 'deny';",
            "DELETE FROM licence_terms WHERE licence_id = 'twitter-free-api' AND kind = 'deny';",
        ),
        (
            "grants",
            "UPDATE grants SET cap_records = NULL, cap_per = NULL;",
            "UPDATE grants SET cap_records = NULL, cap_per = NULL;",
        ),
        (
            "grants",
            "UPDATE grants SET licence_id = 'CC0-1.0' WHERE id = 'twitter-free-tier';",
            "UPDATE grants SET licence_id = 'CC0-1.0' WHERE id = 'twitter-free-tier';",
        ),
        (
            "grants",
            "INSERT INTO grants (id, source_id, licence_id, grantee, valid_from) \
             VALUES ('cc0', 'twitter', 'CC0-1.0', '*', '2000-01-01');",
            "INSERT INTO grants (id, source_id, licence_id, grantee, valid_from) \
             VALUES ('cc0', 'twitter', 'CC0-1.0', '*', '2000-01-01');",
        ),
        (
            "grants",
            "UPDATE grants SET valid_until = '2030-01-01';",
            "UPDATE grants SET valid_until = '2030-01-01';",
        ),
        (
            "training_runs",
            "DELETE FROM training_uses WHERE model = 'acme-chat-2'; \
             DELETE FROM training_datasets WHERE model = 'acme-chat-2'; \
             DELETE FROM training_runs WHERE model = 'acme-chat-2';",
            "DELETE FROM training_uses WHERE model = 'acme-chat-2'; \
             DELETE FROM training_datasets WHERE model = 'acme-chat-2'; \
             DELETE FROM training_runs WHERE model = 'acme-chat-2';",
        ),
        (
            "training_runs",
            "UPDATE training_runs SET date = '2022-01-01';",
            "UPDATE training_runs SET date = '2022-01-01';",
        ),
        (
            "datasets",
            "UPDATE datasets SET org = 'someone-else' WHERE name = 'tw-pull';",
            "UPDATE datasets SET org = 'someone-else' WHERE name = 'tw-pull';",
        ),
        (
            "disclosures",
            "DELETE FROM disclosures;",
            "DELETE FROM disclosures;",
        ),
        (
            "applications",
            "UPDATE applications SET disclosed = 1;",
            "UPDATE applications SET disclosed = TRUE;",
        ),
    ];
    for (table, sqlite, postgres) in edits {
        let env = story();
        env.tamper(sqlite, postgres);
        let v = mismatch(&env, &[]);
        let named = v["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["check"] == "state" && m["subject"] == *table);
        assert!(named, "{table}: {sqlite}: {v}");
        // A provtrack write after the edit does not absorb it: its event names the table.
        let gate = gate_crawl(&env);
        assert!(matches!(gate.status.code(), Some(0 | 1)), "{gate:?}");
        let v = mismatch(&env, &[]);
        let detail = v["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["check"] == "state" && m["subject"].as_str().unwrap().starts_with("event"))
            .unwrap_or_else(|| panic!("{table}: no event names the edit: {v}"))["detail"]
            .clone();
        assert!(detail.as_str().unwrap().contains(table), "{detail}");
    }
    // A version's row against the event that registered it.
    let env = story();
    env.tamper(
        "UPDATE datasets SET collected = '2030-01-01' WHERE name = 'web-mix';",
        "UPDATE datasets SET collected = '2030-01-01' WHERE name = 'web-mix';",
    );
    let v = mismatch(&env, &[]);
    assert!(
        v["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["check"] == "dataset"
                && m["subject"] == "web-mix@2022"
                && m["detail"].as_str().unwrap().contains("collected")),
        "{v}"
    );
    // The apply event carries what the policy declared, not only counts.
    let log = story().json(&["log"]);
    let payload: Value = match &log[0]["payload"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        v => v.clone(),
    };
    assert_eq!(
        payload["policy"]["grants"].as_array().map(Vec::len),
        Some(4),
        "{payload}"
    );
    assert!(
        payload["state"]["tables"]["grants"].is_string(),
        "{payload}"
    );
    // An intact registry's state is checked and its root printed.
    let v = story().json(&["verify"]);
    assert_eq!(v["state_checked"], true, "{v}");
    assert_eq!(v["state_root"].as_str().unwrap().len(), 64);
}

/// The sample crawl gated for display by acme.
fn gate_crawl(env: &Env) -> std::process::Output {
    env.run(&[
        "-q",
        "gate",
        "--dataset",
        "web-mix@2022",
        "--org",
        "acme",
        "--use",
        "display",
    ])
}

/// Edits of the big tables (attributions, shard counts) change a version's content per
/// source: `verify` compares it with what the last event recorded of it.
#[test]
fn attribution_edits_are_caught_and_a_scan_that_changes_other_versions_names_them() {
    for sql in [
        "UPDATE attributions SET source_id = 'wikipedia' WHERE source_id = 'twitter';",
        "DELETE FROM attributions WHERE source_id = 'twitter';",
        "UPDATE shards SET unattributed_records = 0;",
        "INSERT INTO declarations (dataset_id, shard_id, source_id, method) \
         SELECT dataset_id, shard_id, 'wikipedia', 'declared' FROM dataset_shards;",
    ] {
        let env = story();
        env.tamper(sql, sql);
        let v = mismatch(&env, &[]);
        assert!(
            v["mismatches"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["check"] == "attributions"),
            "{sql}: {v}"
        );
    }
    // Records moved from one shard of the tweet pull to the other keep its sums per source:
    // the digest of its content shard by shard, which its event recorded, catches it.
    let env = story();
    let pull = "(SELECT shard_id FROM dataset_shards WHERE dataset_id = \
                (SELECT id FROM datasets WHERE name = 'tw-pull'))";
    let sql = format!(
        "UPDATE attributions SET records = records + 1 WHERE source_id = 'twitter' AND \
         shard_id = (SELECT MIN(shard_id) FROM {pull} p); \
         UPDATE attributions SET records = records - 1 WHERE source_id = 'twitter' AND \
         shard_id = (SELECT MAX(shard_id) FROM {pull} p);"
    );
    env.tamper(&sql, &sql);
    let v = mismatch(&env, &[]);
    let m = v["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["check"] == "attributions")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(m["subject"], "tw-pull@2022-03", "{v}");
    assert!(
        m["detail"].as_str().unwrap().contains("shard by shard"),
        "{v}"
    );

    // Through the CLI, the laundering scans: another org scans a copy of the crawl declaring
    // its content wikipedia's, and a copy of the tweet pull reading no URL field and
    // declaring wikipedia. A declaration holds for its own version: the crawl's and the
    // pull's counts, findings and gate stay as they were, and the events name no change.
    let env = story();
    let show = |d: &str| env.json(&["dataset", "show", d])["sources"].clone();
    let findings = || env.json(&["report"])["findings"].clone();
    let gate_code = || gate_crawl(&env).status.code();
    let (crawl, pull, found, gated) = (
        show("web-mix@2022"),
        show("tw-pull@2022-03"),
        findings(),
        gate_code(),
    );
    assert!(
        crawl
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["source"].is_null()),
        "the crawl has unattributed content: {crawl}"
    );
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/datasets");
    let copy = |from: &str, to: &str| {
        let cp = std::process::Command::new("cp")
            .arg("-r")
            .arg(samples.join(from))
            .arg(env.path(to))
            .status()
            .unwrap();
        assert!(cp.success());
        env.path(to).to_str().unwrap().to_string()
    };
    let launder = |dir: &str, dataset: &str, extra: &[&str]| {
        let mut args = vec![
            "scan",
            dir,
            "--dataset",
            dataset,
            "--org",
            "someone-else",
            "--collected",
            "2024-01-01",
            "--source",
            "wikipedia",
        ];
        args.extend(extra);
        env.ok(&args);
        let log = env.json(&["log", "--limit", "1"]);
        let last = log.as_array().unwrap().last().unwrap().clone();
        match &last["payload"] {
            Value::String(s) => serde_json::from_str::<Value>(s).unwrap(),
            v => v.clone(),
        }
    };
    let web = copy("web-mix", "copy");
    let p1 = launder(&web, "throwaway@1", &[]);
    let tw = copy("tw-pull", "copy2");
    let p2 = launder(&tw, "throwaway@2", &["--url-field", "no.such.field"]);
    for p in [&p1, &p2] {
        assert!(p.get("changed").is_none(), "{p}");
    }
    assert_eq!(show("web-mix@2022"), crawl);
    assert_eq!(show("tw-pull@2022-03"), pull);
    let throwaway = show("throwaway@1");
    assert!(
        throwaway
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["source"] == "wikipedia"),
        "the declaration holds for its own version: {throwaway}"
    );
    let strip = |v: Value| -> Vec<Value> {
        v.as_array()
            .unwrap()
            .iter()
            .filter(|f| !f["dataset"].as_str().unwrap().starts_with("throwaway@"))
            .cloned()
            .collect()
    };
    assert_eq!(strip(findings()), strip(found));
    assert_eq!(gate_code(), gated);
    env.ok(&["verify"]);
    // The schema's views, for auditors' own SQL, count as provtrack does.
    for d in [
        "web-mix@2022",
        "throwaway@1",
        "throwaway@2",
        "tw-pull@2022-03",
    ] {
        let (name, version) = d.split_once('@').unwrap();
        let id =
            format!("(SELECT id FROM datasets WHERE name = '{name}' AND version = '{version}')");
        let in_view = env.query_i64(&format!(
            "SELECT CAST(COALESCE(SUM(records), 0) AS BIGINT) FROM version_content WHERE dataset_id = {id}"
        )) + env.query_i64(&format!(
            "SELECT CAST(COALESCE(SUM(records), 0) AS BIGINT) FROM version_unattributed WHERE dataset_id = {id}"
        ));
        let shown: u64 = show(d)
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["records"].as_u64().unwrap())
            .sum();
        assert_eq!(in_view as u64, shown, "{d}");
    }

    // An observation does hold for every version holding the bytes: a later scan that reads
    // URLs an earlier one could not changes the earlier version's counts, and its event
    // names that version, which `log --dataset` then shows.
    let hrefs: String = (0..4)
        .map(|i| format!("{{\"href\":\"https://twitter.com/u/status/{i}\",\"text\":\"t{i}\"}}\n"))
        .collect();
    env.write("obs/a.jsonl", &hrefs);
    env.write("obs2/a.jsonl", &hrefs);
    env.ok(&[
        "scan",
        env.path("obs").to_str().unwrap(),
        "--dataset",
        "obs@1",
        "--org",
        "acme",
    ]);
    let before = show("obs@1");
    env.ok(&[
        "scan",
        env.path("obs2").to_str().unwrap(),
        "--dataset",
        "obs@2",
        "--org",
        "acme",
        "--url-field",
        "href",
    ]);
    let after = show("obs@1");
    assert_ne!(before, after);
    assert!(
        after
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["source"] == "twitter" && u["records"] == 4),
        "{after}"
    );
    let log = env.json(&["log"]);
    let last = log.as_array().unwrap().last().unwrap();
    let payload: Value = match &last["payload"] {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        v => v.clone(),
    };
    assert!(payload["changed"]["obs@1"].is_object(), "{payload}");
    env.ok(&["verify"]);
    let about = env.json(&["log", "--dataset", "obs@1"]);
    let seqs: Vec<u64> = about
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.contains(&last["seq"].as_u64().unwrap()), "{about}");
    assert_eq!(seqs.len(), 2, "{about}");
    let err = env.fails(&["log", "--dataset", "web-mx@2022"]);
    assert!(err.contains("did you mean 'web-mix@2022'"), "{err}");
}

/// A registry of schema 8 stored declared attributions with the shard (so in every version
/// holding it): migrated, each becomes a declaration of the versions that held the shard,
/// and no count, finding or check changes.
#[test]
fn declarations_stored_with_the_shard_by_schema_8_migrate_without_changing_a_count() {
    let env = story();
    let report = env.json(&["report"]);
    let getty = env.json(&["dataset", "show", "getty-images@2021"])["sources"].clone();
    assert!(
        getty
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["source"] == "getty-images"),
        "{getty}"
    );
    let back = "DROP VIEW version_content; DROP VIEW version_unattributed; \
         INSERT INTO attributions (shard_id, source_id, records, bytes, method) \
         SELECT d.shard_id, d.source_id, s.unattributed_records, s.unattributed_bytes, d.method \
         FROM declarations d JOIN shards s ON s.id = d.shard_id \
         WHERE s.unattributed_records > 0; \
         UPDATE shards SET unattributed_records = 0, unattributed_bytes = 0 \
         WHERE id IN (SELECT shard_id FROM declarations); \
         DROP TABLE declarations; DROP TABLE dataset_part_declarations";
    env.tamper(
        &format!("{back}; PRAGMA user_version = 8;"),
        &format!("{back}; UPDATE provtrack_schema SET version = 8"),
    );
    assert_eq!(env.json(&["report"]), report);
    assert_eq!(
        env.query_i64("SELECT COUNT(*) FROM attributions WHERE method = 'declared'"),
        0,
        "migrated on open"
    );
    assert!(env.query_i64("SELECT COUNT(*) FROM declarations") > 0);
    assert_eq!(
        env.json(&["dataset", "show", "getty-images@2021"])["sources"],
        getty
    );
    env.ok(&["verify"]);
}
