//! PostgreSQL specifics through the built binary, on a throw-away server the tests start:
//! `registry copy` round trips with equal chain heads, concurrent writers keeping one
//! chain, concurrent migrations, and connection errors that name no secret. (The rest of
//! the suite runs on PostgreSQL too with `PROVTRACK_TEST_POSTGRES=1`.) Needs the
//! `postgres` feature (on by default); `tests/lean.rs` covers a build without it.

#![cfg(feature = "postgres")]

mod common;

use std::process::{Command, Output};

use common::pg::{self, PASSWORD, PASSWORD_USER};
use common::{Env, records};

/// The test server, or `None` (with a notice) where PostgreSQL is not installed; CI asks
/// for it with `PROVTRACK_TEST_POSTGRES=1` and then a missing server fails the test.
fn server() -> Option<&'static pg::Server> {
    let s = pg::server();
    if s.is_none() {
        assert!(
            !pg::enabled(),
            "PROVTRACK_TEST_POSTGRES=1 but PostgreSQL is not installed"
        );
        eprintln!("notice: PostgreSQL is not installed (apt-get install postgresql); skipped");
    }
    s
}

fn provtrack(registry: &str, args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provtrack"))
        .arg("--registry")
        .arg(registry)
        .args(common::scan_defaults(args))
        .current_dir(dir)
        .env_remove("PROVTRACK_REGISTRY")
        .env("PROVTRACK_ACTOR", "tester")
        .output()
        .unwrap()
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(registry: &str, args: &[&str], dir: &std::path::Path) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    serde_json::from_str(&ok(&provtrack(registry, &a, dir), &format!("{args:?}"))).unwrap()
}

#[test]
fn registry_copy_round_trips_sqlite_postgres_sqlite_with_equal_chain_heads() {
    if server().is_none() {
        return;
    }
    // A SQLite registry with the whole sample story, a staged part and scan state.
    let env = Env::new();
    let sqlite = env.path("original.db");
    let sqlite = sqlite.to_str().unwrap();
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let dir = env.dir.path();
    ok(
        &provtrack(
            sqlite,
            &["apply", samples.join("policy.toml").to_str().unwrap()],
            dir,
        ),
        "apply",
    );
    for args in common::story_scans() {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&provtrack(sqlite, &args, dir), "scan");
    }
    env.write("big/a.jsonl", records("twitter.com", 3));
    env.write("big/b.jsonl", records("en.wikipedia.org", 3));
    ok(
        &provtrack(
            sqlite,
            &["scan", "big", "--dataset", "big@1", "--partition", "1/2"],
            dir,
        ),
        "part",
    );
    // A gate event too (the verdict is "blocked": exit 1).
    let gate = provtrack(
        sqlite,
        &["gate", "--dataset", "web-mix@2022", "--org", "acme"],
        dir,
    );
    assert_eq!(gate.status.code(), Some(1));

    let pg = pg::fresh_database();
    let copied = json(sqlite, &["registry", "copy", sqlite, &pg], dir);
    let back = env.path("back.db");
    let back = back.to_str().unwrap();
    json(sqlite, &["registry", "copy", &pg, back], dir);
    let heads: Vec<serde_json::Value> = [sqlite, pg.as_str(), back]
        .iter()
        .map(|r| {
            let v = json(r, &["verify"], dir);
            assert_eq!(v["ok"], true, "{r}: {v}");
            v["chain_head"].clone()
        })
        .collect();
    assert_eq!(heads[0], copied["chain_head"]);
    assert!(heads.iter().all(|h| *h == heads[0]), "{heads:?}");
    // Same answers everywhere, and the staged part is still there to finish.
    for args in [
        vec!["report"],
        vec!["audit", "twitter"],
        vec!["lineage", "acme-chat-1"],
        vec!["dataset", "list"],
        vec!["log"],
    ] {
        let a = json(sqlite, &args, dir);
        assert_eq!(a, json(&pg, &args, dir), "{args:?} on PostgreSQL");
        assert_eq!(a, json(back, &args, dir), "{args:?} after the round trip");
    }
    ok(
        &provtrack(
            &pg,
            &["scan", "big", "--dataset", "big@1", "--partition", "2/2"],
            dir,
        ),
        "part 2 on the copy",
    );
    let sealed = json(&pg, &["dataset", "seal", "big@1"], dir);
    let whole = json(back, &["scan", "big", "--dataset", "whole@1"], dir);
    assert_eq!(sealed["root"], whole["root"]);

    // Copying into a registry that holds something is refused, and changes nothing.
    let before = pg::dump(&pg);
    let out = provtrack(sqlite, &["registry", "copy", sqlite, &pg], dir);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds data"));
    assert_eq!(pg::dump(&pg), before);
}

#[test]
fn concurrent_writers_keep_one_chain() {
    if server().is_none() {
        return;
    }
    let env = Env::new();
    let reg = pg::fresh_database();
    let dir = env.dir.path();
    env.write(
        "policy.toml",
        "[[source]]\nid = \"twitter\"\ndomains = [\"twitter.com\"]\n\
         [[source]]\nid = \"wikipedia\"\ndomains = [\"wikipedia.org\"]\n",
    );
    ok(&provtrack(&reg, &["apply", "policy.toml"], dir), "apply");
    for d in 0..8 {
        for i in 0..50 {
            let host = if i % 2 == 0 {
                "twitter.com"
            } else {
                "en.wikipedia.org"
            };
            // Some files shared between datasets: the same shard from several writers.
            let n = if i < 5 { 1 } else { 2 + i + d * 100 };
            env.write(&format!("d{d}/f{i}.jsonl"), records(host, n));
        }
    }
    let outs: Vec<Output> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for d in 0..8 {
            let (reg, dir) = (&reg, dir);
            handles.push(s.spawn(move || {
                provtrack(
                    reg,
                    &[
                        "-q",
                        "scan",
                        &format!("d{d}"),
                        "--dataset",
                        &format!("d{d}@1"),
                    ],
                    dir,
                )
            }));
        }
        for _ in 0..2 {
            let (reg, dir) = (&reg, dir);
            handles.push(s.spawn(move || provtrack(reg, &["-q", "apply", "policy.toml"], dir)));
            handles.push(s.spawn(move || {
                provtrack(
                    reg,
                    &["-q", "gate", "d0", "--org", "acme", "--allow-unknown"],
                    dir,
                )
            }));
        }
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (k, out) in outs.iter().enumerate() {
        assert!(
            matches!(out.status.code(), Some(0) | Some(1)),
            "writer {k}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v = json(&reg, &["verify"], dir);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["events"], 1 + 8 + 2 + 2);
    assert_eq!(
        json(&reg, &["dataset", "list"], dir)
            .as_array()
            .unwrap()
            .len(),
        8
    );
    let log = json(&reg, &["log"], dir);
    for w in log.as_array().unwrap().windows(2) {
        assert_eq!(w[1]["prev"], w[0]["hash"], "the chain forked");
    }
}

#[test]
fn processes_migrating_at_once_all_succeed() {
    if server().is_none() {
        return;
    }
    let env = Env::new();
    let reg = pg::fresh_database();
    let dir = env.dir.path();
    let outs: Vec<Output> = std::thread::scope(|s| {
        (0..6)
            .map(|_| s.spawn(|| provtrack(&reg, &["init"], dir)))
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect()
    });
    for out in &outs {
        ok(out, "init");
    }
    let version = format!(
        "provtrack_schema: {{\"version\":{}}}",
        provtrack::registry::SCHEMA_VERSION
    );
    assert!(pg::dump(&reg).contains(&version));
}

#[test]
fn migrations_create_exactly_the_registry_tables() {
    if server().is_none() {
        return;
    }
    let reg = pg::fresh_database();
    provtrack::registry::open(&reg).unwrap();
    let mut c = postgres::Client::connect(&reg, postgres::NoTls).unwrap();
    let tables: Vec<String> = c
        .query(
            "SELECT tablename::TEXT FROM pg_tables WHERE schemaname = current_schema() \
             ORDER BY tablename",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // What `registry copy` carries, and the schema version: a table added by a migration
    // must be added to TABLES too, or copies would silently drop it.
    let mut expected: Vec<&str> = provtrack::registry::TABLES
        .iter()
        .map(|(t, _)| *t)
        .collect();
    expected.push("provtrack_schema");
    expected.sort_unstable();
    assert_eq!(expected.len(), 31);
    assert_eq!(tables, expected);
    let version: i64 = c
        .query_one("SELECT version FROM provtrack_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, provtrack::registry::SCHEMA_VERSION);
}

#[test]
fn connection_errors_are_one_line_and_name_no_secret() {
    let Some(server) = server() else { return };
    let env = Env::new();
    let dir = env.dir.path();
    let secret = "Wr0ng-horse-stapler";
    let cases = [
        // Wrong password for a password role.
        format!(
            "postgres://{PASSWORD_USER}:{secret}@127.0.0.1:{}/postgres?sslmode=disable",
            server.port
        ),
        // Nothing listens there.
        format!("postgresql://someone:{secret}@127.0.0.1:1/reg?sslmode=disable"),
        // The password as a parameter; TLS asked of a server without it.
        format!(
            "postgres://{PASSWORD_USER}@127.0.0.1:{}/postgres?password={secret}&sslmode=require",
            server.port
        ),
    ];
    for url in &cases {
        let out = provtrack(url, &["report"], dir);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("provtrack: registry postgres"), "{err}");
        assert!(!err.contains(secret), "the password leaked: {err}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains(secret));
    }
    // The right password works.
    let db = pg::fresh_database();
    let name = db.rsplit('/').next().unwrap().split('?').next().unwrap();
    let url = format!(
        "postgres://{PASSWORD_USER}:{PASSWORD}@127.0.0.1:{}/{name}?sslmode=disable",
        server.port
    );
    let out = provtrack(&url, &["-v", "init"], dir);
    ok(&out, "init with the right password");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(PASSWORD));
}
