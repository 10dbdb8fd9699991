//! Anchored heads through the built binary: `key new`, `log --checkpoint`,
//! `verify --expect-head` and `verify --checkpoint --key`, against deleted events and a
//! chain edited and then recomputed as an attacker with write access would; and `log` on an
//! edited stored hash.

mod common;

use std::process::Output;

use common::{Env, story};
use serde_json::Value;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs verify expecting `code`; returns its JSON.
fn verify(env: &Env, args: &[&str], code: i32) -> Value {
    let mut a = vec!["verify", "--format", "json"];
    a.extend_from_slice(args);
    let out = env.run(&a);
    assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A key pair in the workspace (outside the registry): the private and public key paths.
fn key_pair(env: &Env, name: &str) -> (String, String) {
    let (private, public, _) = key_pair_with_id(env, name);
    (private, public)
}

/// [`key_pair`] and the key id.
fn key_pair_with_id(env: &Env, name: &str) -> (String, String, String) {
    let private = env.path(name).display().to_string();
    let r = env.json(&["key", "new", "--out", &private]);
    assert_eq!(r["private_key"], private.as_str());
    assert_eq!(r["public_key"], format!("{private}.pub").as_str());
    let id = r["key_id"].as_str().unwrap().to_string();
    (private.clone(), format!("{private}.pub"), id)
}

/// Signs a checkpoint of the registry's head and writes it to `name`; returns its path and
/// content.
fn checkpoint(env: &Env, private: &str, name: &str) -> (String, Value) {
    let out = env.run(&["log", "--checkpoint", "--key", private]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = env.write(name, &out.stdout).display().to_string();
    (path, serde_json::from_slice(&out.stdout).unwrap())
}

/// The first `mismatches` entry's detail.
fn detail(v: &Value) -> String {
    v["mismatches"][0]["detail"].as_str().unwrap().to_string()
}

/// One text column of one event, read the same way on both backends.
fn event_field(env: &Env, field: &str, seq: i64) -> String {
    let sql = if env.is_postgres() {
        format!("SELECT convert_to({field}, 'UTF8') FROM events WHERE seq = {seq}")
    } else {
        format!("SELECT CAST({field} AS BLOB) FROM events WHERE seq = {seq}")
    };
    String::from_utf8(env.query_bytes(&sql).remove(0)).unwrap()
}

/// Recomputes the hash of event `seq` and of every event after it, as an attacker would
/// after editing event `seq`: the chain links again, and only a head recorded elsewhere
/// can tell.
fn rewrite_chain_from(env: &Env, seq: i64) {
    let n = env.query_i64("SELECT COUNT(*) FROM events");
    let mut prev = event_field(env, "prev", seq);
    let mut sql = String::new();
    for s in seq..=n {
        let field = |f: &str| event_field(env, f, s);
        let (time, actor, kind, payload) = (
            field("time"),
            field("actor"),
            field("kind"),
            field("payload"),
        );
        let hash = provtrack::events::chain_hash(&prev, s as u64, &time, &actor, &kind, &payload);
        sql.push_str(&format!(
            "UPDATE events SET prev = '{prev}', hash = '{hash}' WHERE seq = {s};"
        ));
        prev = hash;
    }
    env.tamper(&sql, &sql);
}

#[test]
fn key_new_writes_a_private_key_0600_and_a_public_key_and_never_overwrites() {
    let env = Env::new();
    let (private, public) = key_pair(&env, "keys/auditor");
    let secret = std::fs::read_to_string(&private).unwrap();
    let pubkey = std::fs::read_to_string(&public).unwrap();
    assert!(secret.contains("provtrack-ed25519-secret-key "), "{secret}");
    assert!(pubkey.contains("provtrack-ed25519-public-key "), "{pubkey}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    // Neither file is overwritten, and a refused run leaves both as they were.
    let line = env.fails(&["key", "new", "--out", &private]);
    assert!(line.contains("already exists"), "{line}");
    std::fs::remove_file(&private).unwrap();
    let line = env.fails(&["key", "new", "--out", &private]);
    assert!(
        line.contains(".pub") && line.contains("already exists"),
        "{line}"
    );
    assert!(!std::path::Path::new(&private).exists());
    assert_eq!(std::fs::read_to_string(&public).unwrap(), pubkey);
    // No registry was needed, and none was created.
    assert!(!env.db.exists());
}

#[test]
fn a_checkpoint_verifies_and_still_verifies_after_the_chain_grows() {
    let env = story();
    let (private, public) = key_pair(&env, "auditor.key");
    let (cp, doc) = checkpoint(&env, &private, "cp.json");
    assert_eq!(doc["format"], "provtrack-checkpoint/1");
    assert_eq!(doc["seq"], 4);
    let head = doc["head"].as_str().unwrap().to_string();
    let v = verify(&env, &["--checkpoint", &cp, "--key", &public], 0);
    // It vouches for the state the head event committed to: the rows' state now.
    assert_eq!(doc["state_root"], v["state_root"], "{doc}");
    assert_eq!(v["chain_head"], head.as_str());
    assert_eq!(v["anchors"][0]["check"], "checkpoint");
    assert_eq!(v["anchors"][0]["ok"], true);
    // New events extend the chain: the checkpoint and the old head still hold.
    env.ok(&[
        "train",
        "m2",
        "--org",
        "acme",
        "--date",
        "2024-01-01",
        "--dataset",
        "web-mix@2022",
    ]);
    let v = verify(
        &env,
        &[
            "--checkpoint",
            &cp,
            "--key",
            &public,
            "--expect-head",
            &head[..8],
        ],
        0,
    );
    assert!(v["events"].as_u64().unwrap() > 4, "{v}");
    assert_eq!(v["anchors"][0]["seq"], 4);
    assert_eq!(v["anchors"][1]["seq"], 4);
    // The head from the environment, as CI would pass it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provtrack"))
        .args(["verify", "--registry", &env.registry])
        .env("PROVTRACK_EXPECT_HEAD", &head)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provtrack"))
        .args(["verify", "--registry", &env.registry])
        .env("PROVTRACK_EXPECT_HEAD", "ffffffffffff")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn deleted_last_events_fail_the_expected_head_and_the_checkpoint() {
    let env = story();
    let (private, public) = key_pair(&env, "auditor.key");
    let (cp, doc) = checkpoint(&env, &private, "cp.json");
    let head = doc["head"].as_str().unwrap().to_string();
    env.tamper(
        "DELETE FROM events WHERE seq = 4;",
        "DELETE FROM events WHERE seq = 4;",
    );
    // On its own the shorter chain still links, but its last state is not the rows'.
    let v = verify(&env, &[], 1);
    assert!(
        v["mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["check"] != "event"),
        "{v}"
    );
    let v = verify(&env, &["--expect-head", &head], 1);
    assert_eq!(v["mismatches"][0]["check"], "head");
    assert!(detail(&v).contains("no event"), "{v}");
    let v = verify(&env, &["--checkpoint", &cp, "--key", &public], 1);
    assert_eq!(v["mismatches"][0]["check"], "checkpoint");
    assert!(detail(&v).contains("events were deleted"), "{v}");
    // The table names the problem on one line.
    let out = env.run(&["verify", "--checkpoint", &cp, "--key", &public]);
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        table
            .lines()
            .filter(|l| l.contains("events were deleted"))
            .count(),
        1,
        "{table}"
    );
}

#[test]
fn a_recomputed_chain_passes_alone_but_not_against_its_anchors() {
    let env = story();
    let (private, public) = key_pair(&env, "auditor.key");
    let (cp, doc) = checkpoint(&env, &private, "cp.json");
    let head = doc["head"].as_str().unwrap().to_string();
    // An edit no row contradicts (who ran the scan), so only the chain shows it.
    env.tamper(
        "UPDATE events SET actor = 'mallory' WHERE seq = 2;",
        "UPDATE events SET actor = 'mallory' WHERE seq = 2;",
    );
    verify(&env, &[], 1);
    rewrite_chain_from(&env, 2);
    // The point: a chain edited and recomputed verifies on its own ...
    let v = verify(&env, &[], 0);
    assert_ne!(v["chain_head"], head.as_str());
    // ... but not against the head an auditor kept, nor the signed checkpoint.
    let v = verify(&env, &["--expect-head", &head[..12]], 1);
    assert!(detail(&v).contains("rewritten"), "{v}");
    let v = verify(&env, &["--checkpoint", &cp, "--key", &public], 1);
    assert!(detail(&v).contains("the chain was rewritten"), "{v}");
    assert!(detail(&v).contains("event 4"), "{v}");
}

#[test]
fn an_altered_checkpoint_or_another_key_fails_the_signature() {
    let env = story();
    let (private, public) = key_pair(&env, "auditor.key");
    let (_, other_public, other_id) = key_pair_with_id(&env, "someone-else.key");
    let (cp, doc) = checkpoint(&env, &private, "cp.json");
    let v = verify(&env, &["--checkpoint", &cp, "--key", &other_public], 1);
    assert!(detail(&v).contains("signed by key"), "{v}");
    // A checkpoint moved back to an earlier event (same key): the signature breaks.
    let mut moved = doc.clone();
    moved["seq"] = 3.into();
    let moved_path = env
        .write("moved.json", moved.to_string())
        .display()
        .to_string();
    let v = verify(&env, &["--checkpoint", &moved_path, "--key", &public], 1);
    assert!(detail(&v).contains("does not verify"), "{v}");
    // A checkpoint naming the other key, checked with it: the signature is not its.
    let mut forged = doc.clone();
    forged["key_id"] = other_id.into();
    let forged_path = env
        .write("forged.json", forged.to_string())
        .display()
        .to_string();
    let v = verify(
        &env,
        &["--checkpoint", &forged_path, "--key", &other_public],
        1,
    );
    assert!(detail(&v).contains("does not verify"), "{v}");
}

#[test]
fn malformed_keys_checkpoints_and_heads_are_input_errors() {
    let env = story();
    let (private, public) = key_pair(&env, "auditor.key");
    let (cp, _) = checkpoint(&env, &private, "cp.json");
    let garbage = env
        .write("garbage", b"\x00\xffnot a key")
        .display()
        .to_string();
    let empty = env.write("empty", b"").display().to_string();
    let not_json = env
        .write("cp-bad.json", b"{\"format\": ")
        .display()
        .to_string();
    let short_sig = env
        .write(
            "cp-short.json",
            std::fs::read_to_string(&cp)
                .unwrap()
                .replace("\"signature\": \"", "\"signature\": \"00"),
        )
        .display()
        .to_string();
    let missing = env.path("nope.json").display().to_string();
    for (args, says) in [
        (
            vec!["verify", "--checkpoint", &cp, "--key", &private],
            "private key",
        ),
        (
            vec!["verify", "--checkpoint", &cp, "--key", &garbage],
            "garbage",
        ),
        (
            vec!["verify", "--checkpoint", &cp, "--key", &empty],
            "no key",
        ),
        (
            vec!["verify", "--checkpoint", &not_json, "--key", &public],
            "cp-bad.json",
        ),
        (
            vec!["verify", "--checkpoint", &short_sig, "--key", &public],
            "signature",
        ),
        (
            vec!["verify", "--checkpoint", &public, "--key", &public],
            "not a provtrack checkpoint",
        ),
        (
            vec!["verify", "--checkpoint", &missing, "--key", &public],
            "nope.json",
        ),
        (vec!["verify", "--checkpoint", &cp], "--key"),
        (vec!["verify", "--expect-head", "abc123"], "--expect-head"),
        (
            vec!["verify", "--expect-head", "not-hex-at-all"],
            "--expect-head",
        ),
        (vec!["log", "--checkpoint", "--key", &public], "public key"),
        (vec!["log", "--checkpoint", "--key", &garbage], "garbage"),
        (vec!["log", "--checkpoint"], "--key"),
    ] {
        let line = env.fails(&args);
        assert!(line.contains(says), "{args:?}: {line}");
    }
}

#[test]
fn log_survives_an_edited_short_hash_and_verify_says_the_chain_is_broken() {
    let env = story();
    env.tamper(
        "UPDATE events SET hash = 'abc' WHERE seq = 2;",
        "UPDATE events SET hash = 'abc' WHERE seq = 2;",
    );
    let out = env.run(&["log"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("abc"));
    let v = verify(&env, &[], 1);
    assert_eq!(v["mismatches"][0]["check"], "event");
    assert_eq!(v["mismatches"][0]["subject"], "2");
    // Nothing is signed over a broken chain.
    let (private, _) = key_pair(&env, "auditor.key");
    let out = env.run(&["log", "--checkpoint", "--key", &private]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("no checkpoint signed"),
        "{}",
        stderr(&out)
    );
}
