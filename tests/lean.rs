//! A build without the `postgres` feature (`cargo build --no-default-features`): a
//! PostgreSQL registry is refused in one line naming the missing feature, never a panic or
//! a silent fallback to a file. (With the feature, `tests/postgres.rs` runs instead.)

#![cfg(not(feature = "postgres"))]

#[test]
fn postgres_urls_are_refused_by_a_lean_build() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_provtrack"))
        .args(["--registry", "postgres://u:secret@127.0.0.1:1/db", "init"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("built without PostgreSQL support (cargo feature `postgres`)"),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a file was created"
    );
}

/// Without the `s3` feature an `s3://` prefix is refused in one line naming the feature,
/// never taken for a directory.
#[cfg(not(feature = "s3"))]
#[test]
fn s3_prefixes_are_refused_by_a_lean_build() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &[
            "scan",
            "s3://some-bucket/data",
            "--dataset",
            "d@1",
            "--org",
            "acme",
            "--collected",
            "today",
        ][..],
        &["gate", "s3://some-bucket/data", "--org", "acme"][..],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_provtrack"))
            .args(["--registry", "reg.db"])
            .args(args)
            .current_dir(dir.path())
            .env("AWS_SECRET_ACCESS_KEY", "lean-secret-value")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("cargo feature \"s3\""), "{err}");
        assert!(!err.contains("lean-secret-value"), "{err}");
    }
}
