//! Shared helpers for the integration tests: a temp workspace, the built binary, and a
//! content dump of a registry for before/after comparisons.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary workspace with a registry path inside it.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("reg.db");
        Env { dir, db }
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

    /// Runs provtrack with this registry.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_provtrack"))
            .args(args)
            .arg("--registry")
            .arg(&self.db)
            .current_dir(self.dir.path())
            .env_remove("PROVTRACK_REGISTRY")
            .env_remove("PROVTRACK_ORG")
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

/// A JSONL line with a URL.
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

/// The bundled sample story registered as the README tour does it (the demo's scan list).
pub fn story() -> Env {
    let env = Env::new();
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let policy = samples.join("policy.toml");
    env.ok(&["apply", policy.to_str().unwrap()]);
    for s in provtrack::demo::SCANS {
        let dir = samples.join("datasets").join(s.dir);
        let mut args = vec![
            "scan",
            dir.to_str().unwrap(),
            "--dataset",
            s.dataset,
            "--org",
            provtrack::demo::ORG,
            "--collected",
            s.collected,
        ];
        for src in s.sources {
            args.extend(["--source", src]);
        }
        env.ok(&args);
    }
    env
}
