//! The scanner at full strength through the built binary: incremental re-scans, walk
//! options, odd files and names, inheritance by derivation, crash safety, concurrent writers.

mod common;

use std::process::{Command, Stdio};

use common::{Env, records};

const POLICY: &str = "[[source]]\nid = \"twitter\"\ndomains = [\"twitter.com\"]\n\
[[source]]\nid = \"getty\"\ndomains = [\"gettyimages.com\"]\n";

fn setup() -> Env {
    let env = Env::new();
    env.write("p.toml", POLICY);
    env.ok(&["apply", "p.toml"]);
    env
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

#[test]
fn incremental_rescans_reuse_unchanged_files() {
    let env = setup();
    for i in 0..20 {
        env.write(
            &format!("ds/d{}/f{i}.jsonl", i % 3),
            records("twitter.com", i + 1),
        );
    }
    let first = env.json(&["scan", "ds", "--dataset", "inc@1"]);
    assert_eq!(
        (first["rehashed"].as_u64(), first["reused"].as_u64()),
        (Some(20), Some(0))
    );

    let again = env.json(&["scan", "ds", "--dataset", "inc@1"]);
    assert_eq!(again["status"], "unchanged");
    assert_eq!(
        (again["rehashed"].as_u64(), again["reused"].as_u64()),
        (Some(0), Some(20))
    );
    assert_eq!(again["root"], first["root"]);
    assert_eq!(again["sources"], first["sources"]);
    assert_eq!(again["records"], first["records"]);

    // A touched file is re-read; its bytes did not change, so neither does the root.
    let f = env.path("ds/d0/f0.jsonl");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let touched = env.json(&["scan", "ds", "--dataset", "inc@1"]);
    assert_eq!(
        (touched["rehashed"].as_u64(), touched["reused"].as_u64()),
        (Some(1), Some(19))
    );
    assert_eq!(touched["status"], "unchanged");

    // A changed file is re-read and lands in a new version.
    env.write("ds/d1/f1.jsonl", records("twitter.com", 50));
    let changed = env.json(&["scan", "ds", "--dataset", "inc@2"]);
    assert_eq!(changed["rehashed"], 1);
    assert_ne!(changed["root"], first["root"]);

    // --rehash reads everything; the root is the same as without it.
    let forced = env.json(&["scan", "ds", "--dataset", "inc@2", "--rehash"]);
    assert_eq!(
        (forced["rehashed"].as_u64(), forced["reused"].as_u64()),
        (Some(20), Some(0))
    );
    assert_eq!(forced["root"], changed["root"]);

    // New source domains change what attribution would find: cached facts are not reused.
    env.write(
        "p2.toml",
        "[[source]]\nid = \"other\"\ndomains = [\"other.org\"]\n",
    );
    env.ok(&["apply", "p2.toml"]);
    let reconfigured = env.json(&["scan", "ds", "--dataset", "inc@2"]);
    assert_eq!(reconfigured["rehashed"], 20);
}

#[test]
fn walk_options_and_odd_files() {
    let env = setup();
    env.write("ds/keep.jsonl", records("twitter.com", 2));
    env.write("ds/scratch.tmp", "temp");
    env.write("ds/cache/blob.bin", "cached");
    env.write("ds/empty.jsonl", "");
    env.write("ds/empty.bin", "");
    let sparse = env.path("ds/sparse.bin");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(5 * 1024 * 1024 + 7)
        .unwrap();
    std::os::unix::fs::symlink(env.path("ds/keep.jsonl"), env.path("ds/link.jsonl")).unwrap();
    std::fs::create_dir_all(env.path("ds/loop")).unwrap();
    std::os::unix::fs::symlink(env.path("ds"), env.path("ds/loop/back")).unwrap();
    let fifo = env.path("ds/pipe");
    let made_fifo = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !made_fifo {
        eprintln!("note: mkfifo unavailable; the FIFO case is not exercised");
    }
    // A non-UTF-8 name, kept byte-exact.
    use std::os::unix::ffi::OsStrExt;
    let raw_name: &[u8] = b"caf\xe9.bin";
    std::fs::write(
        env.path("ds").join(std::ffi::OsStr::from_bytes(raw_name)),
        b"latin-1 name",
    )
    .unwrap();

    let s = env.json(&[
        "scan",
        "ds",
        "--dataset",
        "w@1",
        "--exclude",
        "*.tmp",
        "--exclude",
        "cache/**",
    ]);
    let skipped: Vec<String> = s["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| format!("{} {}", k["path"], k["reason"]))
        .collect();
    assert!(
        skipped
            .iter()
            .any(|k| k.contains("link.jsonl") && k.contains("symbolic link")),
        "{skipped:?}"
    );
    assert!(
        skipped.iter().any(|k| k.contains("loop/back")),
        "{skipped:?}"
    );
    if made_fifo {
        assert!(
            skipped
                .iter()
                .any(|k| k.contains("pipe") && k.contains("not a regular file")),
            "{skipped:?}"
        );
    }
    // keep.jsonl, empty.jsonl, empty.bin, sparse.bin, café.bin
    assert_eq!(s["files"], 5, "{s}");
    // 2 tweets; the empty JSON Lines file has none; each opaque file is one record.
    assert_eq!(s["records"], 5);
    let show = env.json(&["dataset", "show", "w@1"]);
    let paths: Vec<&str> = show["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["path"].as_str().unwrap())
        .collect();
    assert!(
        !paths
            .iter()
            .any(|p| p.ends_with(".tmp") || p.starts_with("cache/")),
        "{paths:?}"
    );
    let sparse_row = common::shard_row(&show, "sparse.bin");
    assert_eq!(
        sparse_row["hash"],
        blake3::hash(&vec![0u8; 5 * 1024 * 1024 + 7])
            .to_hex()
            .as_str()
    );
    let empty = common::shard_row(&show, "empty.bin");
    assert_eq!(empty["hash"], blake3::hash(b"").to_hex().as_str());

    // The raw name is stored byte-exact and is part of the root hash as bytes.
    let stored = env.query_bytes("SELECT path FROM dataset_shards ORDER BY path");
    assert!(stored.iter().any(|p| p == raw_name), "{stored:?}");
    let mut lines: Vec<(Vec<u8>, String)> = Vec::new();
    for p in &stored {
        let bytes = std::fs::read(env.path("ds").join(std::ffi::OsStr::from_bytes(p))).unwrap();
        lines.push((p.clone(), blake3::hash(&bytes).to_hex().to_string()));
    }
    lines.sort();
    let mut text = Vec::new();
    for (p, h) in &lines {
        text.extend_from_slice(p);
        text.push(0);
        text.extend_from_slice(h.as_bytes());
        text.push(b'\n');
    }
    assert_eq!(s["root"], blake3::hash(&text).to_hex().as_str());

    // Following links counts the linked file and still stops at the loop.
    let followed = env.json(&[
        "scan",
        "ds",
        "--dataset",
        "w@2",
        "--follow-links",
        "--exclude",
        "*.tmp",
        "--exclude",
        "cache/**",
        "--exclude",
        "pipe",
    ]);
    assert_eq!(followed["files"], 6, "{followed}");
    assert!(
        followed["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["reason"].as_str().unwrap().contains("loop")),
        "{followed}"
    );
}

#[test]
fn unreadable_files_fail_the_scan_unless_skipped() {
    let env = setup();
    env.write("ds/ok.jsonl", records("twitter.com", 1));
    // A dangling link is unreadable once links are followed.
    std::os::unix::fs::symlink(env.path("nowhere"), env.path("ds/dangling.jsonl")).unwrap();
    let s = env.json(&["scan", "ds", "--dataset", "u@1", "--follow-links"]);
    assert!(
        s["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("broken"),
        "{s}"
    );
    if is_root() {
        eprintln!(
            "note: running as root, permission bits do not stop reads; the EACCES case is not exercised"
        );
        return;
    }
    let locked = env.write("ds2/locked.jsonl", records("twitter.com", 1));
    env.write("ds2/ok.jsonl", records("twitter.com", 1));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let before = env.dump();
    let err = env.fails(&["scan", "ds2", "--dataset", "u@2"]);
    assert!(err.contains("locked.jsonl"), "{err}");
    assert_eq!(env.dump(), before);
    let s = env.json(&["scan", "ds2", "--dataset", "u@2", "--skip-unreadable"]);
    assert_eq!(s["files"], 1);
    assert!(
        s["skipped"][0]["path"]
            .as_str()
            .unwrap()
            .contains("locked.jsonl")
    );
}

#[test]
fn derived_datasets_inherit_their_parents_sources() {
    let env = setup();
    for i in 0..3 {
        env.write(&format!("photos/p{i}.jpg"), format!("image {i}"));
    }
    env.ok(&[
        "scan",
        "photos",
        "--dataset",
        "photos@1",
        "--source",
        "getty",
    ]);
    // Thumbnails: new bytes with no URL, derived from the photos.
    for i in 0..3 {
        env.write(&format!("thumbs/t{i}.jpg"), format!("thumb {i}"));
    }
    let plain = env.json(&["scan", "thumbs", "--dataset", "thumbs@0"]);
    assert_eq!(plain["unattributed_records"], 3);
    let derived = env.json(&[
        "scan",
        "thumbs",
        "--dataset",
        "thumbs@1",
        "--derived-from",
        "photos@1",
    ]);
    assert_eq!(derived["sources"]["getty"]["records"], 3, "{derived}");
    assert_eq!(derived["unattributed_records"], 0);
    let show = env.json(&["dataset", "show", "thumbs@1"]);
    assert_eq!(show["parents"][0], "photos@1");
}

#[test]
fn a_killed_scan_leaves_no_partial_version() {
    let env = setup();
    for i in 0..40 {
        env.write(
            &format!("big/{:02}/f{i}.bin", i % 7),
            vec![(i % 251) as u8; 64 * 1024],
        );
    }
    env.write("big/t.jsonl", records("twitter.com", 3));
    let events_before = env.json(&["log"]).as_array().unwrap().len();
    // The test hook (registry/write.rs) stops the scan after all its writes, before the
    // commit, and says so: the kill lands exactly there, not after some guessed delay.
    let (mut child, _) = paused(
        &env,
        &["-q", "scan", "big", "--dataset", "big@1"],
        "PROVTRACK_TEST_PAUSE_BEFORE_COMMIT",
        "provtrack: test hook: paused before commit",
    );
    // SIGKILL: no destructor, no rollback by the process itself.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    if !env.is_postgres() {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }
    // Nothing of the version: not listed, no members, no event, and the chain verifies.
    let list = env.json(&["dataset", "list"]);
    assert!(
        !list.to_string().contains("big@1") && !list.to_string().contains("\"big\""),
        "{list}"
    );
    let members = env.query_i64(
        "SELECT COUNT(*) FROM dataset_shards m JOIN datasets d ON d.id = m.dataset_id WHERE d.name = 'big'",
    );
    assert_eq!(members, 0);
    assert_eq!(env.json(&["log"]).as_array().unwrap().len(), events_before);
    assert_eq!(env.json(&["verify"])["ok"], true);
    // The scan run again completes.
    let s = env.json(&["scan", "big", "--dataset", "big@1"]);
    assert_eq!(s["files"], 41);
    assert_eq!(s["status"], "created");
    assert_eq!(s["sources"]["twitter"]["records"], 3);
    assert_eq!(env.json(&["verify"])["ok"], true);
}

#[test]
fn two_processes_scan_into_one_registry_at_once() {
    let env = setup();
    for i in 0..300 {
        env.write(&format!("a/f{i}.jsonl"), records("twitter.com", 3));
        env.write(&format!("b/f{i}.bin"), format!("b{i}"));
    }
    let spawn = |dir: &str, ds: &str| {
        Command::new(env!("CARGO_BIN_EXE_provtrack"))
            .args(["--registry"])
            .arg(&env.registry)
            .args(common::scan_defaults(&["-q", "scan", dir, "--dataset", ds]))
            .current_dir(env.dir.path())
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("a", "a@1"));
        let b = s.spawn(|| spawn("b", "b@1"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    let list = env.json(&["dataset", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let log = env.json(&["log"]);
    let events = log.as_array().unwrap();
    for w in events.windows(2) {
        assert_eq!(w[1]["prev"], w[0]["hash"], "the event chain forked");
    }
}

#[test]
fn scan_and_dataset_show_count_a_version_the_same_way() {
    // One file under two names (a train/test split that copied instead of splitting): the
    // same bytes, one shard, counted once by scan, dataset show and every query.
    let env = Env::new();
    env.write(
        "p.toml",
        "[[source]]\nid = \"tw\"\ndomains = [\"twitter.com\"]\n",
    );
    env.ok(&["apply", env.path("p.toml").to_str().unwrap()]);
    env.write("d/train/s.jsonl", records("twitter.com", 1000));
    env.write("d/test/s.jsonl", records("twitter.com", 1000));
    let scan = env.json(&[
        "scan",
        env.path("d").to_str().unwrap(),
        "--dataset",
        "d@1",
        "--org",
        "acme",
        "--collected",
        "2024-01-01",
    ]);
    assert_eq!(scan["files"], 2);
    assert_eq!(scan["records"], 1000, "{scan}");
    assert_eq!(scan["sources"]["tw"]["records"], 1000, "{scan}");
    let show = env.json(&["dataset", "show", "d@1"]);
    assert_eq!(show["records"], 1000, "{show}");
    assert_eq!(show["sources"][0]["records"], 1000, "{show}");
    assert_eq!(show["shards"].as_array().unwrap().len(), 2);
}

#[test]
fn a_file_truncated_while_it_is_read_through_a_map_is_one_line_and_exit_2() {
    let env = setup();
    // 5 MiB of JSON Lines: read through a memory map. The test hook (scan/read.rs) waits,
    // once the file is mapped, for the test to change its size.
    let line = r#"{"url":"https://twitter.com/1","text":"a record long enough to print"}"#;
    let mut data = String::new();
    while data.len() < 5 << 20 {
        data.push_str(line);
        data.push('\n');
    }
    env.write("ds/big.jsonl", &data);
    let events_before = env.json(&["log"]).as_array().unwrap().len();
    let (mut child, mut stderr) = paused(
        &env,
        &["scan", "ds", "--dataset", "big@1"],
        "PROVTRACK_TEST_PAUSE_MAPPED",
        "provtrack: test hook: a file is mapped",
    );
    std::fs::File::create(env.path("ds/big.jsonl")).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{rest}");
    assert_eq!(rest.lines().count(), 1, "{rest}");
    assert!(rest.contains("shrank while it was being read"), "{rest}");
    // Nothing saved, and the registry answers.
    assert!(!env.json(&["dataset", "list"]).to_string().contains("big@1"));
    assert_eq!(env.json(&["log"]).as_array().unwrap().len(), events_before);
    assert_eq!(env.json(&["verify"])["ok"], true);
    env.ok(&["report"]);
}

/// Starts provtrack with a test hook (`hook=1` in its environment) and reads its stderr
/// until the hook says `line`: the process is then paused exactly there. The caller waits
/// for the child it is handed.
#[allow(clippy::zombie_processes)]
fn paused(
    env: &Env,
    args: &[&str],
    hook: &str,
    line: &str,
) -> (
    std::process::Child,
    std::io::BufReader<std::process::ChildStderr>,
) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_provtrack"))
        .args(["--registry"])
        .arg(&env.registry)
        .args(common::scan_defaults(args))
        .current_dir(env.dir.path())
        .env(hook, "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut said = Vec::new();
    loop {
        let mut l = String::new();
        if stderr.read_line(&mut l).unwrap() == 0 {
            let _ = child.wait();
            panic!("provtrack ended before the hook paused it: {said:?}");
        }
        if l.trim_end() == line {
            return (child, stderr);
        }
        said.push(l);
    }
}
