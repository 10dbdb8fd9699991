//! Concurrency and faults through the built binary: two scans and a gate from three
//! processes at once; a registry on a read-only file system; truncated and foreign files.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Env, records, story};

fn provtrack(env: &Env, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provtrack"))
        .arg("--registry")
        .arg(&env.registry)
        .args(common::scan_defaults(args))
        .current_dir(env.dir.path())
        .env_remove("PROVTRACK_REGISTRY")
        .env("PROVTRACK_ACTOR", "tester")
        .output()
        .unwrap()
}

#[test]
fn two_scans_and_a_gate_from_three_processes_at_once() {
    let env = story();
    for i in 0..400 {
        env.write(&format!("a/f{i}.jsonl"), records("twitter.com", 2));
        env.write(&format!("b/f{i}.jsonl"), records("en.wikipedia.org", 2));
    }
    for round in 0..3 {
        let (a, b, g) = std::thread::scope(|s| {
            let a = s.spawn(|| {
                provtrack(
                    &env,
                    &["-q", "scan", "a", "--dataset", &format!("a@{round}")],
                )
            });
            let b = s.spawn(|| {
                provtrack(
                    &env,
                    &["-q", "scan", "b", "--dataset", &format!("b@{round}")],
                )
            });
            let g = s.spawn(|| {
                provtrack(
                    &env,
                    &[
                        "-q",
                        "gate",
                        "a",
                        "--org",
                        "acme",
                        "--date",
                        "2023-03-01",
                        "--format",
                        "json",
                    ],
                )
            });
            (a.join().unwrap(), b.join().unwrap(), g.join().unwrap())
        });
        for (what, out, want) in [("scan a", &a, 0), ("scan b", &b, 0), ("gate", &g, 1)] {
            assert_eq!(
                out.status.code(),
                Some(want),
                "{what} in round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let r: serde_json::Value = serde_json::from_slice(&g.stdout).unwrap();
        assert_eq!(r["pass"], false);
    }
    let list = env.json(&["dataset", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 3 + 6);
    // One linear chain: verify walks it from genesis.
    let v = env.json(&["verify"]);
    assert_eq!(v["ok"], true, "{v}");
    let kinds: Vec<String> = env.json(&["log"]).as_array().unwrap()[..]
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds.iter().filter(|k| *k == "gate").count(), 3);
    assert_eq!(kinds.iter().filter(|k| *k == "scan").count(), 3 + 6);
}

/// Runs `provtrack` with the directory holding `db` mounted read-only, in a private mount
/// namespace; `None` where this machine does not allow that.
fn on_read_only_fs(db: &Path, args: &[&str]) -> Option<Output> {
    let dir = db.parent().unwrap();
    let script =
        r#"mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" || exit 97; shift; exec "$@""#;
    let out = Command::new("unshare")
        .args(["-rm", "sh", "-c", script, "sh"])
        .arg(dir)
        .arg(env!("CARGO_BIN_EXE_provtrack"))
        .arg("--registry")
        .arg(db)
        .args(args)
        .env_remove("PROVTRACK_REGISTRY")
        .env("PROVTRACK_ACTOR", "tester")
        .output()
        .ok()?;
    if out.status.code() == Some(97) || String::from_utf8_lossy(&out.stderr).contains("unshare:") {
        return None;
    }
    Some(out)
}

#[test]
fn a_registry_on_a_read_only_file_system_serves_reads_and_refuses_writes() {
    let env = story();
    if env.sqlite_only("read-only file system") {
        return;
    }
    let report = env.json(&["report"]);
    // The registry alone in a directory that will be mounted read-only.
    let ro = env.path("ro");
    std::fs::create_dir(&ro).unwrap();
    let db = ro.join("reg.db");
    std::fs::copy(&env.db, &db).unwrap();
    let before = std::fs::read(&db).unwrap();

    let Some(out) = on_read_only_fs(&db, &["report", "--format", "json"]) else {
        eprintln!("notice: read-only file system test skipped: unshare/mount not permitted here");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got, report);

    let out = on_read_only_fs(
        &db,
        &[
            "gate",
            "--dataset",
            "web-mix@2022",
            "--org",
            "acme",
            "--format",
            "json",
        ],
    )
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not recorded"), "{err}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["recorded"], false);

    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/policy.toml");
    for args in [
        vec!["apply", policy.to_str().unwrap()],
        vec![
            "train",
            "m",
            "--org",
            "acme",
            "--date",
            "2024-01-01",
            "--dataset",
            "web-mix@2022",
        ],
    ] {
        let out = on_read_only_fs(&db, &args).unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("read-only"), "{err}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), before, "the registry changed");
}

#[test]
fn truncated_and_foreign_registries_are_refused_untouched() {
    let env = story();
    if env.sqlite_only("truncated file") {
        return;
    }
    let full = std::fs::read(&env.db).unwrap();
    assert!(full.len() > 8192);
    for (what, bytes) in [
        ("truncated", full[..full.len() / 2].to_vec()),
        ("header only", full[..100].to_vec()),
        ("shorter than a header", full[..60].to_vec()),
    ] {
        std::fs::write(&env.db, &bytes).unwrap();
        for args in [vec!["report"], vec!["log"], vec!["verify"]] {
            let line = env.fails(&args);
            assert!(
                line.contains("reg.db") && line.contains("truncated"),
                "{what}: {line}"
            );
        }
        assert_eq!(std::fs::read(&env.db).unwrap(), bytes, "{what}: changed");
    }
    std::fs::write(&env.db, b"PAR1 not a database at all").unwrap();
    assert!(env.fails(&["report"]).contains("not an SQLite database"));
    std::fs::write(&env.db, &full).unwrap();
    assert!(env.dump().len() > 10);
    assert_eq!(env.json(&["verify"])["ok"], true);
}
