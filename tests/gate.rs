//! `provtrack gate` (DIR and --dataset) through the built binary: exit codes,
//! --allow-unknown, JUnit XML, and the one event it writes.

mod common;

use common::{Env, records, story};

fn gate(env: &Env, args: &[&str]) -> (i32, serde_json::Value) {
    let mut a = vec!["gate", "--format", "json"];
    a.extend_from_slice(args);
    let out = env.run(&a);
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "gate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, serde_json::from_slice(&out.stdout).unwrap())
}

/// Checks that `xml` is well formed enough for a CI system: declaration, every tag closed
/// in order, attributes quoted.
fn well_formed(xml: &str) {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unclosed tag") + start;
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().unwrap().to_string());
        }
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unquoted attribute in <{tag}>"
        );
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

#[test]
fn gate_blocks_passes_and_explains() {
    let env = story();
    let before: Vec<String> = env
        .dump()
        .into_iter()
        .filter(|r| !r.starts_with("events:"))
        .collect();
    let junit = env.path("gate.xml");
    let (code, r) = gate(
        &env,
        &[
            "--dataset",
            "web-mix@2022",
            "--org",
            "acme",
            "--date",
            "2023-03-01",
            "--use",
            "commercial",
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(r["pass"], false);
    let verdicts: Vec<(String, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["verdict"].as_str().unwrap().into(),
                f["source"].as_str().unwrap_or("-").into(),
            )
        })
        .collect();
    assert!(
        verdicts.contains(&("no-licence".into(), "reddit".into())),
        "{verdicts:?}"
    );
    assert!(
        verdicts.contains(&("use-denied".into(), "twitter".into())),
        "{verdicts:?}"
    );
    assert!(
        verdicts.contains(&("unknown-provenance".into(), "-".into())),
        "{verdicts:?}"
    );

    let xml = std::fs::read_to_string(&junit).unwrap();
    well_formed(&xml);
    assert!(xml.contains("failures=\"3\""), "{xml}");
    for failing in ["reddit", "twitter", "unknown"] {
        assert!(
            xml.contains(&format!("name=\"{failing}\">\n      <failure")),
            "{failing} not failing in {xml}"
        );
    }
    assert!(xml.contains("name=\"wikipedia\"/>"), "{xml}");

    // The gate wrote its event and nothing else.
    let after: Vec<String> = env
        .dump()
        .into_iter()
        .filter(|r| !r.starts_with("events:"))
        .collect();
    assert_eq!(before, after);
    let log = env.json(&["log", "--limit", "1"]);
    assert_eq!(log[0]["kind"], "gate");
    assert!(
        log[0]["payload"]
            .as_str()
            .unwrap()
            .contains("\"pass\":false")
    );
    assert_eq!(env.json(&["verify"])["ok"], true);
}

#[test]
fn gate_passes_clean_content_and_honours_allow_unknown() {
    let env = story();
    env.write("wiki/a.jsonl", records("en.wikipedia.org", 5));
    env.ok(&["scan", "wiki", "--dataset", "wiki@1", "--org", "acme"]);
    let (code, r) = gate(
        &env,
        &[
            "--dataset",
            "wiki@1",
            "--org",
            "acme",
            "--use",
            "commercial",
        ],
    );
    assert_eq!((code, r["pass"].as_bool()), (0, Some(true)), "{r}");

    env.write("mixed/a.jsonl", records("en.wikipedia.org", 5));
    env.write("mixed/b.jsonl", records("somewhere.net", 2));
    env.ok(&["scan", "mixed", "--dataset", "mixed@1", "--org", "acme"]);
    let (code, _) = gate(&env, &["--dataset", "mixed@1", "--org", "acme"]);
    assert_eq!(code, 1);
    let (code, r) = gate(
        &env,
        &["--dataset", "mixed@1", "--org", "acme", "--allow-unknown"],
    );
    assert_eq!(code, 0, "{r}");
    // The unknown content is still reported, just not blocking.
    assert_eq!(r["findings"][0]["verdict"], "unknown-provenance");
}

#[test]
fn gate_errors_exit_2() {
    let env = story();
    assert!(
        env.fails(&["gate", "--dataset", "ghost@1", "--org", "acme"])
            .contains("not registered")
    );
    assert!(env.fails(&["gate", "--org", "acme"]).contains("--dataset"));
    let missing = env.fails(&["gate", "somedir", "--org", "acme"]);
    assert!(missing.contains("somedir"), "{missing}");
    env.write("plain.txt", "x");
    let file = env.path("plain.txt");
    assert!(
        env.fails(&["gate", file.to_str().unwrap(), "--org", "acme"])
            .contains("plain.txt")
    );
    assert!(
        env.fails(&[
            "gate",
            "somedir",
            "--dataset",
            "web-mix@2022",
            "--org",
            "acme"
        ])
        .contains("--dataset")
    );
    assert!(
        env.fails(&["gate", "--dataset", "web-mix@2022"])
            .contains("--org")
    );
}

fn verdicts(r: &serde_json::Value) -> Vec<(String, String, u64)> {
    let mut v: Vec<(String, String, u64)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["verdict"].as_str().unwrap().into(),
                f["source"].as_str().unwrap_or("-").into(),
                f["records"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

fn without_events(env: &Env) -> Vec<String> {
    env.dump()
        .into_iter()
        .filter(|r| !r.starts_with("events:"))
        .collect()
}

#[test]
fn gate_dir_of_a_registered_version_is_judged_as_that_version() {
    let env = story();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/datasets/web-mix");
    let before = without_events(&env);
    let plan = [
        "--org",
        "acme",
        "--date",
        "2023-03-01",
        "--use",
        "commercial",
    ];
    let mut args = vec![dir.to_str().unwrap()];
    args.extend(plan);
    let (code, by_dir) = gate(&env, &args);
    let mut args = vec!["--dataset", "web-mix@2022"];
    args.extend(plan);
    let (code2, by_name) = gate(&env, &args);
    assert_eq!((code, code2), (1, 1));
    assert_eq!(verdicts(&by_dir), verdicts(&by_name));
    assert_eq!(by_dir["dir"]["matches"], "web-mix@2022");
    assert_eq!(by_dir["root"], by_name["root"]);
    // Warm state cache: every file's facts were reused, none re-read.
    assert_eq!(by_dir["dir"]["rehashed"], 0, "{}", by_dir["dir"]);
    assert_eq!(by_dir["dir"]["reused"], by_dir["dir"]["files"]);
    assert_eq!(before, without_events(&env));
    let log = env.json(&["log", "--limit", "2"]);
    assert_eq!(log[0]["kind"], "gate");
    assert!(
        log[0]["payload"]
            .as_str()
            .unwrap()
            .contains("\"matches\":\"web-mix@2022\"")
    );
}

#[test]
fn gate_dir_uses_registered_attributions_and_attributes_new_shards() {
    let env = story();
    let blob: Vec<u8> = (0..4000u32).map(|i| (i * 7 % 251) as u8).collect();
    env.write("pics/a.bin", &blob);
    env.write("pics/wiki.jsonl", records("en.wikipedia.org", 3));
    // pics@1 declares its bytes wikipedia's, which no URL could tell of a.bin.
    env.ok(&[
        "scan",
        "pics",
        "--dataset",
        "pics@1",
        "--org",
        "acme",
        "--source",
        "wikipedia",
    ]);
    env.write("plan/copy.bin", &blob);
    env.write("plan/wiki.jsonl", records("en.wikipedia.org", 3));
    env.write("plan/more.jsonl", records("en.wikipedia.org", 5));
    let before = without_events(&env);
    let plan = ["--org", "acme", "--date", "2023-03-01"];
    let mut args = vec!["plan"];
    args.extend(plan);
    // A declaration holds for the version that made it: the copied blob is unknown here,
    // and the gate names the version that declared it.
    let out = env.run(&["gate", "plan", "--org", "acme", "--date", "2023-03-01"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("declared by pics@1"), "{err}");
    let (code, r) = gate(&env, &args);
    assert_eq!(code, 1, "{r}");
    assert_eq!(
        r["dir"]["declared_elsewhere"],
        serde_json::json!(["pics@1"])
    );
    assert_eq!(
        verdicts(&r),
        vec![("unknown-provenance".into(), "-".into(), 1)]
    );
    // What bytes show carries over: the registered wiki shard (by URL), and a new one.
    std::fs::remove_file(env.path("plan/copy.bin")).unwrap();
    let (code, r) = gate(&env, &args);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["dir"]["registered_shards"], 1, "{}", r["dir"]);
    assert_eq!(r["dir"]["new_shards"], 1);
    assert_eq!(r["dir"]["matches"], serde_json::Value::Null);
    assert!(r["dir"].get("declared_elsewhere").is_none(), "{}", r["dir"]);

    // New content with twitter URLs is attributed like scan would, and blocks.
    env.write("plan/tw.jsonl", records("twitter.com", 4));
    let (code, r) = gate(&env, &args);
    assert_eq!(code, 1);
    let v = verdicts(&r);
    assert!(v.iter().any(|(_, s, n)| s == "twitter" && *n == 4), "{v:?}");
    assert!(v.iter().all(|(_, s, _)| s != "-"), "{v:?}");

    // A new file no URL attributes is unknown provenance: blocks unless --allow-unknown.
    std::fs::remove_file(env.path("plan/tw.jsonl")).unwrap();
    env.write("plan/new.dat", b"opaque bytes nobody registered");
    let junit = env.path("plan.xml");
    let mut with_junit = args.clone();
    with_junit.extend(["--junit", junit.to_str().unwrap()]);
    let (code, r) = gate(&env, &with_junit);
    assert_eq!(code, 1);
    assert_eq!(
        verdicts(&r),
        vec![("unknown-provenance".into(), "-".into(), 1)]
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    well_formed(&xml);
    assert!(xml.contains("name=\"unknown\">\n      <failure"), "{xml}");
    assert!(xml.contains("name=\"wikipedia\"/>"), "{xml}");
    args.push("--allow-unknown");
    let (code, r) = gate(&env, &args);
    assert_eq!(code, 0, "{r}");

    // Only gate events were written: no shard, no dataset, no scan state.
    assert_eq!(before, without_events(&env));
    assert_eq!(env.json(&["verify"])["ok"], true);
}

#[test]
fn a_pass_says_so_and_lists_what_the_licences_ask() {
    let env = common::Env::new();
    env.write(
        "p.toml",
        r#"
[[source]]
id = "open"
domains = ["open.example"]

[[grant]]
source = "open"
licence = "CC-BY-SA-4.0"
grantee = "*"
from = "2020-01-01"
"#,
    );
    env.ok(&["apply", env.path("p.toml").to_str().unwrap()]);
    env.write("d/s.jsonl", common::records("open.example", 4));
    env.ok(&[
        "scan",
        env.path("d").to_str().unwrap(),
        "--dataset",
        "open@1",
        "--org",
        "acme",
        "--collected",
        "2024-01-01",
    ]);
    let args = [
        "gate",
        "--dataset",
        "open@1",
        "--org",
        "acme",
        "--use",
        "commercial",
    ];
    let table = env.ok(&args);
    assert!(table.starts_with("RESULT\nVERDICT"), "{table}");
    assert!(
        table.contains("PASS") && table.contains("open@1"),
        "{table}"
    );
    assert!(table.contains("\nOBLIGATIONS\n"), "{table}");
    assert!(table.contains("attribution share-alike"), "{table}");
    let j = env.json(&args);
    assert_eq!(j["pass"], true);
    let obligations = j["obligations"].as_array().unwrap();
    assert_eq!(obligations.len(), 2, "{j}"); // ai-training and commercial
    assert_eq!(obligations[0]["licence"], "CC-BY-SA-4.0");
}

#[test]
fn gate_dir_hashes_a_shard_rewritten_in_place_with_its_size_and_mtime_kept() {
    let env = story();
    // Wikipedia content (CC-BY-SA-4.0: ai-training and commercial allowed), and the same
    // number of bytes of tweets (the twitter grants deny ai-training).
    let wiki = records("en.wikipedia.org", 20);
    let tweets = records("twitter.com/abcd", 20);
    assert_eq!(wiki.len(), tweets.len());
    let shard = env.write("c/shard.jsonl", &wiki);
    env.write("c/other.jsonl", records("en.wikipedia.org", 3));
    env.ok(&["scan", "c", "--dataset", "c@1", "--org", "acme"]);
    let plan = [
        "--org",
        "acme",
        "--date",
        "2024-06-01",
        "--use",
        "commercial",
    ];
    let dir = env.path("c").display().to_string();
    let with = |extra: &[&'static str]| {
        let mut a = vec![dir.as_str()];
        a.extend(plan);
        a.extend(extra);
        gate(&env, &a)
    };
    let (code, r) = with(&[]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["dir"]["matches"], "c@1");
    // Unchanged bytes: hashed, but their records are not read again.
    assert_eq!(r["dir"]["reused"], 2, "{}", r["dir"]);
    assert_eq!(r["dir"]["trusted_cache"], false);

    // Rewritten in place (same inode, same size), its mtime put back.
    let mtime = std::fs::metadata(&shard).unwrap().modified().unwrap();
    std::fs::write(&shard, &tweets).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&shard)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(
        std::fs::metadata(&shard).unwrap().modified().unwrap(),
        mtime
    );

    // By default the gate trusts bytes: the new content is read and blocks.
    let (code, r) = with(&[]);
    assert_eq!(code, 1, "{r}");
    assert!(r["dir"]["matches"].is_null(), "{}", r["dir"]);
    assert_eq!(
        (r["dir"]["reused"].as_u64(), r["dir"]["rehashed"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(
        verdicts(&r).iter().any(|(_, s, _)| s == "twitter"),
        "{:?}",
        verdicts(&r)
    );
    // --trust-cache takes unchanged metadata for unchanged bytes: it passes, wrongly, as
    // exactly c@1. This is the risk the flag's help and the README describe.
    let (code, r) = with(&["--trust-cache"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["dir"]["matches"], "c@1");
    assert_eq!(r["dir"]["trusted_cache"], true);
    // verify --path reads the bytes too.
    let out = env.run(&["verify", "--dataset", "c@1", "--path", &dir]);
    assert_eq!(out.status.code(), Some(1));
}
