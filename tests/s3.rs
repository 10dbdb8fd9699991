//! `scan`, `gate` and `verify --path` of `s3://bucket/prefix` through the built binary,
//! against a real S3-compatible server the tests start (moto's, see `common::s3`): the
//! same files give the same root hash, counts and problems from a bucket as from disk, in
//! every format the scanner reads; an unchanged re-scan lists and compares only; Parquet is
//! attributed by ranged reads; an object replaced after the listing, wrong credentials,
//! denied access and a missing bucket fail in one line naming the place, with no secret
//! and nothing registered; partitioned scans seal to the same root. Needs the `s3` feature.

#![cfg(feature = "s3")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::Env;
use common::s3::{self, Server};

/// Runs provtrack on `env`'s registry with `vars` as its AWS environment.
fn run(env: &Env, vars: &[(String, String)], args: &[&str]) -> Output {
    let args = common::scan_defaults(args);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_provtrack"));
    cmd.args(&args)
        .arg("--registry")
        .arg(&env.registry)
        .current_dir(env.dir.path())
        .env_remove("PROVTRACK_REGISTRY")
        .env_remove("PROVTRACK_ORG")
        .env("PROVTRACK_ACTOR", "tester")
        .env("NO_COLOR", "1");
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(vars.iter().cloned());
    cmd.output().expect("run provtrack")
}

fn json(env: &Env, vars: &[(String, String)], args: &[&str]) -> serde_json::Value {
    let mut a = args.to_vec();
    a.extend(["--format", "json"]);
    let out = run(env, vars, &a);
    assert!(
        out.status.success(),
        "provtrack {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Exit 2 with one line on stderr; returns it.
fn fails(env: &Env, vars: &[(String, String)], args: &[&str]) -> String {
    let out = run(env, vars, args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(out.stdout.is_empty(), "nothing on stdout: {err}");
    err
}

/// A bucket name of its own for each test.
fn bucket(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A registry with the sample policy applied.
fn env_with_policy(server: &Server) -> Env {
    let env = Env::new();
    let p = repo("samples/policy.toml").display().to_string();
    json(&env, &server.vars(), &["apply", &p]);
    env
}

/// The parts of a scan summary that say what was found.
fn found(v: &serde_json::Value) -> serde_json::Value {
    let keys = [
        "root",
        "files",
        "bytes",
        "records",
        "sources",
        "unattributed_records",
        "skipped",
        "problems",
        "no_url_field",
    ];
    serde_json::Value::Object(keys.iter().map(|k| (k.to_string(), v[k].clone())).collect())
}

#[test]
fn a_bucket_scans_as_the_same_files_on_disk_in_every_format_and_rescans_by_listing() {
    let Some(server) = s3::server() else { return };
    let dir = repo("tests/fixtures/formats");
    let b = bucket("formats");
    server.upload_dir(&b, "data/v1", &dir);
    let url = format!("s3://{b}/data/v1");
    let vars = server.vars();

    let disk_env = env_with_policy(server);
    let disk = json(
        &disk_env,
        &vars,
        &["scan", dir.to_str().unwrap(), "--dataset", "f@1"],
    );
    let env = env_with_policy(server);
    let first = json(&env, &vars, &["scan", &url, "--dataset", "f@1"]);
    assert_eq!(found(&first), found(&disk));
    assert!(disk["files"].as_u64().unwrap() > 20, "{disk}");
    // Every format of the fixtures was read as on disk: Parquet, Arrow, tar, gz, zst, xz…
    let remote = &first["remote"];
    assert_eq!(remote["listed"], disk["files"]);
    assert_eq!(remote["fetched"], disk["files"]);
    assert_eq!(remote["streamed_bytes"], disk["bytes"]);
    assert!(remote["ranged_objects"].as_u64().unwrap() >= 2, "{remote}");
    assert!(disk["sources"]["twitter"]["records"].as_u64().unwrap() > 0);

    // Unchanged: listed and compared, nothing fetched. (The first re-scan after a
    // registration re-reads everything, on disk as here: the records' prints registered by
    // it change what may be attributed by print, see `prints`; the next lists only.)
    json(&env, &vars, &["scan", &url, "--dataset", "f@1"]);
    let again = json(&env, &vars, &["scan", &url, "--dataset", "f@1"]);
    assert_eq!(again["status"], "unchanged");
    for k in ["root", "files", "bytes", "records", "sources"] {
        assert_eq!(again[k], disk[k], "{k}");
    }
    assert_eq!(again["remote"]["fetched"], 0);
    assert_eq!(again["remote"]["ranged_requests"], 0);
    assert_eq!(again["reused"], disk["files"]);

    // One object replaced: only it is fetched, and the version differs.
    let new = env.write("new.jsonl", common::records("reddit.com", 3));
    server.put(&b, &[("data/v1/no-url/data.jsonl".to_string(), Some(&new))]);
    let changed = json(&env, &vars, &["scan", &url, "--dataset", "f@2"]);
    assert_eq!(changed["remote"]["fetched"], 1);
    assert_ne!(changed["root"], disk["root"]);
    assert_eq!(
        changed["files"], disk["files"],
        "same keys, one replaced: {changed}"
    );
}

/// A Parquet file of `rows` rows as image datasets store them: the image bytes (large,
/// read by no reader), a short caption and the URL.
fn big_parquet(rows: usize) -> Vec<u8> {
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;
    use std::sync::Arc;
    let schema = Arc::new(
        parse_message_type(
            "message doc { REQUIRED BYTE_ARRAY jpg; REQUIRED BYTE_ARRAY caption (UTF8); \
             REQUIRED BYTE_ARRAY url (UTF8); }",
        )
        .unwrap(),
    );
    let mut out = Vec::new();
    let props = Arc::new(WriterProperties::builder().build());
    let mut w = SerializedFileWriter::new(&mut out, schema, props).unwrap();
    let mut rg = w.next_row_group().unwrap();
    // Bytes that do not compress away: each row's own BLAKE3 output stream.
    let images: Vec<ByteArray> = (0..rows)
        .map(|i| {
            let mut img = vec![0u8; 2048];
            blake3::Hasher::new()
                .update(&i.to_le_bytes())
                .finalize_xof()
                .fill(&mut img);
            ByteArray::from(img)
        })
        .collect();
    let captions: Vec<ByteArray> = (0..rows)
        .map(|i| ByteArray::from(format!("a photo, number {i}").as_str()))
        .collect();
    let urls: Vec<ByteArray> = (0..rows)
        .map(|i| {
            let host = if i % 3 == 0 {
                "reddit.com"
            } else {
                "twitter.com"
            };
            ByteArray::from(format!("https://{host}/p/{i}").as_str())
        })
        .collect();
    for values in [&images, &captions, &urls] {
        let mut col = rg.next_column().unwrap().unwrap();
        col.typed::<ByteArrayType>()
            .write_batch(values, None, None)
            .unwrap();
        col.close().unwrap();
    }
    rg.close().unwrap();
    w.close().unwrap();
    out
}

#[test]
fn parquet_in_a_bucket_is_attributed_by_ranged_reads() {
    let Some(server) = s3::server() else { return };
    let vars = server.vars();
    let env = env_with_policy(server);
    let file = env.write("pq/part-0.parquet", big_parquet(3000));
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 4_000_000, "{size}");
    let b = bucket("parquet");
    server.put(&b, &[("pq/part-0.parquet".into(), Some(&file))]);
    let disk = json(&env, &vars, &["scan", "pq", "--dataset", "pq@disk"]);
    let s3 = json(
        &env,
        &vars,
        &["scan", &format!("s3://{b}/pq"), "--dataset", "pq@s3"],
    );
    assert_eq!(s3["root"], disk["root"]);
    assert_eq!(s3["sources"]["reddit"]["records"], 1000);
    assert_eq!(s3["sources"]["twitter"]["records"], 2000);
    let r = &s3["remote"];
    assert_eq!(r["ranged_objects"], 1);
    assert_eq!(r["ranged_object_bytes"], size);
    let ranged = r["ranged_bytes"].as_u64().unwrap();
    assert!(
        ranged > 0 && ranged < size / 4,
        "read {ranged} of {size} by range"
    );
}

#[test]
fn wrong_credentials_denied_access_and_a_missing_bucket_fail_in_one_line_registering_nothing() {
    let Some(server) = s3::auth_server() else {
        return;
    };
    let env = env_with_policy(server);
    let b = bucket("creds");
    let f = env.write("a.jsonl", common::records("twitter.com", 2));
    server.put(&b, &[("p/a.jsonl".into(), Some(&f))]);
    // The whole bucket: see `common::s3` on moto and prefixes.
    let url = format!("s3://{b}/");
    // The right credentials work.
    let out = run(&env, &server.vars(), &["gate", &url, "--org", "acme"]);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = env.dump();
    let secret = "wrong-secret-Zq81xk";
    let err = fails(
        &env,
        &server.vars_as(&server.key.0, secret),
        &["scan", &url, "--dataset", "c@1"],
    );
    assert!(
        err.contains(&b) && err.contains("credentials refused"),
        "{err}"
    );
    for s in [secret, server.key.1.as_str(), server.key.0.as_str()] {
        assert!(!err.contains(s), "a credential in: {err}");
    }
    let (dk, ds) = &server.denied;
    let err = fails(
        &env,
        &server.vars_as(dk, ds),
        &["scan", &url, "--dataset", "c@1"],
    );
    assert!(err.contains("access denied"), "{err}");
    assert!(
        !err.contains(ds.as_str()) && !err.contains(dk.as_str()),
        "{err}"
    );
    let vars = server.vars();
    let err = fails(
        &env,
        &vars,
        &["scan", &format!("s3://{b}-missing"), "--dataset", "c@1"],
    );
    assert!(err.contains("no such bucket"), "{err}");
    let empty = format!("{b}-empty");
    server.put(&empty, &[]);
    let err = fails(
        &env,
        &vars,
        &["scan", &format!("s3://{empty}"), "--dataset", "c@1"],
    );
    assert!(err.contains("no objects under this prefix"), "{err}");
    let err = fails(&env, &vars, &["scan", "gs://b/x", "--dataset", "c@1"]);
    assert!(err.contains("only s3://"), "{err}");
    assert_eq!(env.dump(), before, "nothing registered");
}

#[test]
fn an_object_replaced_or_deleted_after_the_listing_is_refused_naming_its_key() {
    use provtrack::remote::Store;
    use std::io::Read;
    let Some(server) = s3::server() else { return };
    let env = Env::new();
    let b = bucket("replaced");
    let a = env.write("a.jsonl", common::records("twitter.com", 5));
    let c = env.write("c.parquet", big_parquet(10));
    server.put(
        &b,
        &[
            ("p/a.jsonl".into(), Some(&a)),
            ("p/c.parquet".into(), Some(&c)),
        ],
    );
    let url = match provtrack::scan::input_of(Path::new(&format!("s3://{b}/p"))).unwrap() {
        provtrack::scan::Input::Object(u) => u,
        provtrack::scan::Input::Dir(_) => unreachable!(),
    };
    let store = Store::connect_with(&url, 2, &server.vars()).unwrap();
    // The list phase, then a real replacement, then the read phase.
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 2);
    let other = env.write("b.jsonl", common::records("reddit.com", 5));
    server.put(
        &b,
        &[
            ("p/a.jsonl".into(), Some(&other)),
            ("p/c.parquet".into(), Some(&other)),
        ],
    );
    let whole = store.open(&listed[0]).and_then(|mut r| {
        let mut v = Vec::new();
        r.read_to_end(&mut v).map(|_| v)
    });
    let err = whole
        .expect_err("a replaced object must not be read")
        .to_string();
    assert!(err.contains("changed since it was listed"), "{err}");
    let ranged = store.ranged(&listed[1]).fetch(0, 4);
    let err = ranged.expect_err("nor read by range").to_string();
    assert!(err.contains("changed since it was listed"), "{err}");
    // Deleted after the listing.
    server.put(&b, &[("p/a.jsonl".into(), None)]);
    let err = store.open(&listed[0]).err().expect("deleted").to_string();
    assert!(err.contains("not found"), "{err}");
}

#[test]
fn partitioned_bucket_scans_seal_to_the_root_of_one_scan() {
    let Some(server) = s3::server() else { return };
    let vars = server.vars();
    let env = env_with_policy(server);
    let dir = repo("samples/datasets/web-mix");
    let b = bucket("parts");
    server.upload_dir(&b, "mix", &dir);
    let whole = json(
        &env,
        &vars,
        &["scan", dir.to_str().unwrap(), "--dataset", "whole@1"],
    );
    let url = format!("s3://{b}/mix");
    for k in 1..=3 {
        let part = json(
            &env,
            &vars,
            &[
                "scan",
                &url,
                "--dataset",
                "mix@1",
                "--partition",
                &format!("{k}/3"),
            ],
        );
        assert_eq!(part["status"], "staged");
    }
    let sealed = json(&env, &vars, &["dataset", "seal", "mix@1"]);
    assert_eq!(sealed["root"], whole["root"]);
    assert_eq!(sealed["files"], whole["files"]);
    assert_eq!(sealed["records"], whole["records"]);
}

#[test]
fn gate_and_verify_read_a_bucket_as_the_directory() {
    let Some(server) = s3::server() else { return };
    let vars = server.vars();
    let env = env_with_policy(server);
    let dir = repo("samples/datasets/web-mix");
    let b = bucket("gate");
    server.upload_dir(&b, "mix", &dir);
    let url = format!("s3://{b}/mix");
    let gate = |target: &str| {
        let out = run(
            &env,
            &vars,
            &[
                "gate",
                target,
                "--org",
                "acme",
                "--use",
                "commercial",
                "--format",
                "json",
            ],
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), v)
    };
    let (disk_code, disk) = gate(dir.to_str().unwrap());
    let (s3_code, s3) = gate(&url);
    assert_eq!(s3_code, disk_code);
    assert_eq!(disk_code, Some(1), "the sample web mix is blocked: {disk}");
    assert_eq!(s3["pass"], disk["pass"]);
    assert_eq!(s3["root"], disk["root"]);
    // The same findings, each naming the place as given.
    let without_place = |v: &serde_json::Value| {
        let mut f = v["findings"].clone();
        for x in f.as_array_mut().unwrap() {
            x.as_object_mut().unwrap().remove("dataset");
        }
        f
    };
    assert_eq!(without_place(&s3), without_place(&disk));
    assert!(!without_place(&disk).as_array().unwrap().is_empty());
    assert_eq!(s3["sources"], disk["sources"]);

    json(&env, &vars, &["scan", &url, "--dataset", "mix@1"]);
    let ok = json(
        &env,
        &vars,
        &["verify", "--dataset", "mix@1", "--path", &url],
    );
    assert_eq!(ok["ok"], true, "{ok}");
    assert_eq!(ok["files"], 4);
    let f = env.write("changed.jsonl", common::records("reddit.com", 1));
    server.put(&b, &[("mix/forums/reddit-000.jsonl".into(), Some(&f))]);
    let out = run(
        &env,
        &vars,
        &[
            "verify",
            "--dataset",
            "mix@1",
            "--path",
            &url,
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = v["mismatches"].to_string();
    assert!(
        m.contains("forums/reddit-000.jsonl") && m.contains("changed"),
        "{m}"
    );
}
