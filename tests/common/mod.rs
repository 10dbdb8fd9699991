//! Shared helpers for the integration tests: a temp workspace, the built binary, and a
//! content dump of a registry for before/after comparisons. With
//! `PROVTRACK_TEST_POSTGRES=1` every `Env` gets a fresh database on a throw-away PostgreSQL
//! server started by the tests themselves (see `pg`), so the same suite runs on both
//! backends.

#![allow(dead_code)]

pub mod pg;
pub mod s3;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary workspace with a registry inside it: a SQLite file, or a database of the
/// test PostgreSQL server.
pub struct Env {
    pub dir: tempfile::TempDir,
    /// The SQLite file (unused on PostgreSQL).
    pub db: PathBuf,
    /// What `--registry` gets: the file's path or a `postgres://` URL.
    pub registry: String,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("reg.db");
        let registry = if pg::enabled() {
            pg::fresh_database()
        } else {
            db.display().to_string()
        };
        Env { dir, db, registry }
    }

    /// Whether this Env's registry is on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.registry.starts_with("postgres")
    }

    /// True (with a notice) when the test is about the SQLite file itself and the suite is
    /// running on PostgreSQL.
    pub fn sqlite_only(&self, what: &str) -> bool {
        if self.is_postgres() {
            eprintln!("notice: {what}: a SQLite-file test, not run on PostgreSQL");
        }
        self.is_postgres()
    }

    /// Every row of every table of this registry.
    pub fn dump(&self) -> Vec<String> {
        if self.is_postgres() {
            pg::dump(&self.registry)
        } else {
            dump(&self.db)
        }
    }

    /// Runs SQL directly on the registry with the event log's append-only triggers off, as
    /// an attacker with write access to the storage would: `sqlite` on SQLite, `postgres`
    /// on PostgreSQL.
    pub fn tamper(&self, sqlite: &str, postgres: &str) {
        if self.is_postgres() {
            pg::execute(
                &self.registry,
                &format!(
                    "ALTER TABLE events DISABLE TRIGGER USER; {postgres}; ALTER TABLE events ENABLE TRIGGER USER;"
                ),
            )
            .unwrap();
        } else {
            let conn = rusqlite::Connection::open(&self.db).unwrap();
            conn.execute_batch(&format!(
                "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete; {sqlite}"
            ))
            .unwrap();
        }
    }

    /// The first column of a query's rows, as bytes (same SQL on both backends).
    pub fn query_bytes(&self, sql: &str) -> Vec<Vec<u8>> {
        if self.is_postgres() {
            let mut c = postgres::Client::connect(&self.registry, postgres::NoTls).unwrap();
            c.query(sql, &[])
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect()
        } else {
            let conn = rusqlite::Connection::open(&self.db).unwrap();
            let mut stmt = conn.prepare(sql).unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
        }
    }

    /// A query's single integer (same SQL on both backends).
    pub fn query_i64(&self, sql: &str) -> i64 {
        if self.is_postgres() {
            let mut c = postgres::Client::connect(&self.registry, postgres::NoTls).unwrap();
            c.query_one(sql, &[]).unwrap().get(0)
        } else {
            let conn = rusqlite::Connection::open(&self.db).unwrap();
            conn.query_row(sql, [], |r| r.get(0)).unwrap()
        }
    }

    /// Runs SQL directly on the registry (triggers on); whether it succeeded.
    pub fn sql_ok(&self, sql: &str) -> bool {
        if self.is_postgres() {
            pg::execute(&self.registry, sql).is_ok()
        } else {
            rusqlite::Connection::open(&self.db)
                .unwrap()
                .execute_batch(sql)
                .is_ok()
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file (creating parents) and returns its path.
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Runs provtrack with this registry (a scan gets [`scan_defaults`]).
    pub fn run(&self, args: &[&str]) -> Output {
        let args = scan_defaults(args);
        Command::new(env!("CARGO_BIN_EXE_provtrack"))
            .args(&args)
            .arg("--registry")
            .arg(&self.registry)
            .current_dir(self.dir.path())
            .env_remove("PROVTRACK_REGISTRY")
            .env_remove("PROVTRACK_ORG")
            .env_remove("PROVTRACK_EXPECT_HEAD")
            .env("PROVTRACK_ACTOR", "tester")
            .env("NO_COLOR", "1")
            .output()
            .expect("run provtrack")
    }

    /// Runs and asserts exit 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "provtrack {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs with `--format json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        serde_json::from_str(&self.ok(&a)).expect("JSON on stdout")
    }

    /// Runs and asserts exit 2 with one `provtrack: ` line on stderr; returns that line.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "provtrack {args:?}: {err}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.contains("warning:")).collect();
        assert_eq!(lines.len(), 1, "expected one error line, got: {err}");
        assert!(lines[0].starts_with("provtrack: "), "{err}");
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{err}"
        );
        lines[0].to_string()
    }
}

/// Every row of every table, in a stable order: the registry's content.
pub fn dump(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open registry");
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    tables.retain(|t| !t.starts_with("sqlite_"));
    let mut out = Vec::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut cells = Vec::new();
                for i in 0..n {
                    cells.push(format!("{:?}", r.get_ref(i)?));
                }
                Ok(format!("{t}: {}", cells.join(" | ")))
            })
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        rows.sort();
        out.extend(rows);
    }
    out
}

/// A command line as the tests mean it: a `scan` that names no org or collection date
/// (both are required) gets the tests' own, `--org acme --collected today`; a test about
/// either flag names it. Other commands are left as they are.
pub fn scan_defaults<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut out = args.to_vec();
    // The subcommand: the first word that is neither a flag nor a global flag's value.
    let mut k = 0;
    while k < args.len() && args[k].starts_with('-') {
        let takes_value = matches!(args[k], "--registry" | "--format" | "--color" | "--actor");
        k += if takes_value { 2 } else { 1 };
    }
    if args.get(k) == Some(&"scan") {
        if !args.contains(&"--org") {
            out.extend(["--org", "acme"]);
        }
        if !args.contains(&"--collected") {
            out.extend(["--collected", "today"]);
        }
    }
    out
}

/// A JSONL line with a URL.
/// The row of `path` in `dataset show --format json` output (`show`); panics naming the
/// path when it is not there.
pub fn shard_row<'a>(show: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    show["shards"]
        .as_array()
        .expect("dataset show has a shards array")
        .iter()
        .find(|x| x["path"] == path)
        .unwrap_or_else(|| panic!("no shard row for {path}: {show}"))
}

pub fn rec(url: &str) -> String {
    format!("{{\"text\":\"hello\",\"url\":\"{url}\"}}\n")
}

/// `n` JSONL records pointing at `host`.
pub fn records(host: &str, n: usize) -> String {
    (0..n)
        .map(|i| rec(&format!("https://{host}/item/{i}")))
        .collect()
}

/// gzip-compresses bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The sample story's `scan` command lines (the demo's scan list), as the README tour runs
/// them.
pub fn story_scans() -> Vec<Vec<String>> {
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    provtrack::demo::SCANS
        .iter()
        .map(|s| {
            let dir = samples.join("datasets").join(s.dir);
            let mut args: Vec<String> = [
                "scan",
                dir.to_str().unwrap(),
                "--dataset",
                s.dataset,
                "--org",
                provtrack::demo::ORG,
                "--collected",
                s.collected,
            ]
            .map(String::from)
            .into();
            for src in s.sources {
                args.extend(["--source".to_string(), src.to_string()]);
            }
            args
        })
        .collect()
}

/// The bundled sample story registered as the README tour does it (the demo's scan list).
pub fn story() -> Env {
    let env = Env::new();
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let policy = samples.join("policy.toml");
    env.ok(&["apply", policy.to_str().unwrap()]);
    for args in story_scans() {
        env.ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }
    env
}
