//! Hostile shards, generated at test time and scanned under a memory limit (`prlimit
//! --data`): a line longer than the record limit, an unclosed CSV quote, a decompression
//! bomb, and Parquet footers that lie (a 5,000-deep schema, `num_children = 2^31-1`,
//! `num_rows = i64::MAX`). Each must end as a per-shard problem with the shard's bytes
//! counted as unattributed, never an abort, and leave `report` and `gate` working.

mod common;

use std::io::Write;
use std::process::{Command, Output};

use common::Env;

const POLICY: &str = "[[source]]\nid = \"twitter\"\ndomains = [\"twitter.com\"]\n";

/// The memory a scan may use: far below the hostile sizes (hundreds of MB to GB).
const DATA_LIMIT: u64 = 200 * 1024 * 1024;

/// Runs provtrack under `prlimit --data`, as `Env::run` does otherwise.
fn run_limited(env: &Env, args: &[&str]) -> Output {
    Command::new("prlimit")
        .arg(format!("--data={DATA_LIMIT}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_provtrack"))
        .args(common::scan_defaults(args))
        .arg("--registry")
        .arg(&env.registry)
        .current_dir(env.dir.path())
        .env_remove("PROVTRACK_REGISTRY")
        .env_remove("PROVTRACK_ORG")
        .env("PROVTRACK_ACTOR", "tester")
        .env("NO_COLOR", "1")
        .output()
        .expect("prlimit (util-linux) runs provtrack")
}

/// Runs a scan under the memory limit; asserts exit 0 and returns the JSON summary.
fn scan_limited(env: &Env, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["scan", "ds", "--format", "json"];
    a.extend_from_slice(args);
    let out = run_limited(env, &a);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("memory"),
        "{err}"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn setup() -> Env {
    let env = Env::new();
    env.write("p.toml", POLICY);
    env.ok(&["apply", "p.toml"]);
    std::fs::create_dir_all(env.path("ds")).unwrap();
    env
}

/// `head`, then `n` bytes of `fill`, then `tail`, zstd-compressed while streaming.
fn zstd_of(head: &[u8], fill: u8, n: usize, tail: &[u8]) -> Vec<u8> {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.write_all(head).unwrap();
    let chunk = vec![fill; 1 << 20];
    let mut left = n;
    while left > 0 {
        let k = left.min(chunk.len());
        enc.write_all(&chunk[..k]).unwrap();
        left -= k;
    }
    enc.write_all(tail).unwrap();
    enc.finish().unwrap()
}

fn problem<'a>(s: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    s["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == path)
        .unwrap_or_else(|| panic!("no problem for {path}: {s}"))
}

#[test]
fn an_overlong_line_or_field_is_skipped_in_bounded_memory() {
    let env = setup();
    // A 300 MB line inside a ~10 KB .zst, then a good record.
    let line = zstd_of(
        br#"{"url":"https://twitter.com/1","text":""#,
        b'a',
        300 << 20,
        b"\"}\n{\"url\":\"https://twitter.com/2\"}\n",
    );
    env.write("ds/long.jsonl.zst", &line);
    // An unclosed quote swallowing 40 MB of a CSV, then a newline and a good record.
    let mut csv = b"url,text\nhttps://twitter.com/3,\"unclosed".to_vec();
    csv.extend(std::iter::repeat_n(b'b', 40 << 20));
    csv.extend_from_slice(b"\nhttps://twitter.com/4,ok\n");
    env.write(
        "ds/quote.csv.zst",
        zstd::stream::encode_all(&csv[..], 3).unwrap(),
    );
    let s = scan_limited(
        &env,
        &[
            "--dataset",
            "d@1",
            "--max-expansion",
            "1000000",
            "--max-record-bytes",
            "1048576",
        ],
    );
    // Each file: one good twitter record, one malformed over-long record.
    assert_eq!(s["records"], 4, "{s}");
    assert_eq!(s["sources"]["twitter"]["records"], 2, "{s}");
    for path in ["long.jsonl.zst", "quote.csv.zst"] {
        let p = problem(&s, path);
        assert_eq!(p["malformed"], 1, "{s}");
        assert!(
            p["error"].as_str().unwrap().contains("--max-record-bytes"),
            "{s}"
        );
    }
}

#[test]
fn a_decompression_bomb_is_a_problem_and_unknown_provenance() {
    let env = setup();
    // 1 GB of newlines after one good record, in a few tens of KB.
    let bomb = zstd_of(
        b"{\"url\":\"https://twitter.com/1\"}\n",
        b'\n',
        1 << 30,
        b"",
    );
    assert!(bomb.len() < 1 << 20);
    env.write("ds/bomb.jsonl.zst", &bomb);
    let s = scan_limited(&env, &["--dataset", "d@1"]);
    let p = problem(&s, "bomb.jsonl.zst");
    assert!(
        p["error"].as_str().unwrap().contains("--max-expansion"),
        "{s}"
    );
    // The good record, and the undecoded rest as one unattributed record.
    assert_eq!(s["sources"]["twitter"]["records"], 1, "{s}");
    assert_eq!(s["unattributed_records"], 1, "{s}");
    // The gate sees content of unknown provenance.
    let out = run_limited(&env, &["gate", "ds", "--org", "acme"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("unknown-provenance"));
}

/// Thrift compact-protocol writer for hand-made Parquet footers.
#[cfg(feature = "parquet")]
#[derive(Default)]
struct Thrift(Vec<u8>, Vec<i16>);

#[cfg(feature = "parquet")]
impl Thrift {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn i64(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }
    fn field(&mut self, id: i16, ty: u8) {
        let last = *self.1.last().unwrap();
        self.0.push((((id - last) as u8) << 4) | ty);
        *self.1.last_mut().unwrap() = id;
    }
    fn begin(&mut self) {
        self.1.push(0);
    }
    fn end(&mut self) {
        self.0.push(0);
        self.1.pop();
    }
    fn list(&mut self, n: u64, ty: u8) {
        self.0.push(0xf0 | ty);
        self.varint(n);
    }
    fn element(&mut self, name: &str, children: i64) {
        self.begin();
        self.field(4, 8);
        self.varint(name.len() as u64);
        self.0.extend_from_slice(name.as_bytes());
        if children > 0 {
            self.field(5, 5);
            self.i64(children);
        }
        self.end();
    }
}

/// A Parquet file (no data pages) whose footer has `schema` elements (name, children) and
/// the given row counts.
#[cfg(feature = "parquet")]
fn parquet_with(schema: &[(String, i64)], num_rows: i64, groups: &[i64]) -> Vec<u8> {
    let mut t = Thrift::default();
    t.begin();
    t.field(1, 5);
    t.i64(1);
    t.field(2, 9);
    t.list(schema.len() as u64, 12);
    for (name, children) in schema {
        t.element(name, *children);
    }
    t.field(3, 6);
    t.i64(num_rows);
    t.field(4, 9);
    t.list(groups.len() as u64, 12);
    for g in groups {
        t.begin();
        t.field(1, 9);
        t.list(0, 12);
        t.field(2, 6);
        t.i64(0);
        t.field(3, 6);
        t.i64(*g);
        t.end();
    }
    t.end();
    let mut f = b"PAR1".to_vec();
    f.extend_from_slice(&t.0);
    f.extend_from_slice(&(t.0.len() as u32).to_le_bytes());
    f.extend_from_slice(b"PAR1");
    f
}

// The footer checks are part of the Parquet reader: only with the `parquet` feature.
#[cfg(feature = "parquet")]
#[test]
fn lying_parquet_footers_are_refused_and_the_registry_stays_usable() {
    let env = setup();
    let mut deep: Vec<(String, i64)> = (0..5000).map(|i| (format!("g{i}"), 1)).collect();
    deep.push(("url".into(), 0));
    env.write("ds/deep.parquet", parquet_with(&deep, 1, &[1]));
    let wide = vec![("root".into(), i64::from(i32::MAX)), ("url".into(), 0)];
    env.write("ds/wide.parquet", parquet_with(&wide, 1, &[1]));
    let flat = vec![("root".to_string(), 1), ("url".to_string(), 0)];
    for i in 0..3 {
        env.write(
            &format!("ds/max{i}.parquet"),
            parquet_with(&flat, i64::MAX, &[i64::MAX]),
        );
    }
    env.write("ds/mismatch.parquet", parquet_with(&flat, 10, &[3, 4]));
    let s = scan_limited(&env, &["--dataset", "d@1"]);
    assert_eq!(s["files"], 6, "{s}");
    // Each refused file is one opaque, unattributed record; the three max files hold the
    // same bytes, one shard, counted once.
    assert_eq!(s["records"], 4, "{s}");
    assert_eq!(s["unattributed_records"], 4, "{s}");
    for (path, why) in [
        ("deep.parquet", "deeper than"),
        ("wide.parquet", "more children"),
        ("max0.parquet", "more than one shard may hold"),
        ("mismatch.parquet", "differs from the row groups"),
    ] {
        let e = problem(&s, path)["error"].as_str().unwrap().to_string();
        assert!(
            e.starts_with("Parquet footer refused") && e.contains(why),
            "{e}"
        );
    }
    // Queries over the registry keep working.
    env.ok(&["report"]);
    env.ok(&["dataset", "show", "d@1"]);
    let out = run_limited(&env, &["gate", "ds", "--org", "acme"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn lying_arrow_lengths_are_refused_before_allocation() {
    let env = setup();
    // A stream whose first message claims 2 GiB of metadata.
    let mut evil = vec![0xff; 4];
    evil.extend_from_slice(&i32::MAX.to_le_bytes());
    evil.extend_from_slice(&[0u8; 64]);
    env.write("ds/evil.arrow", &evil);
    // An Arrow file whose footer says it is longer than the file.
    let mut bad_file = b"ARROW1\0\0".to_vec();
    bad_file.extend_from_slice(&[0u8; 16]);
    bad_file.extend_from_slice(&i32::MAX.to_le_bytes());
    bad_file.extend_from_slice(b"ARROW1");
    env.write("ds/bad-footer.arrow", &bad_file);
    let s = scan_limited(&env, &["--dataset", "d@1"]);
    assert_eq!(s["records"], 2, "{s}");
    assert_eq!(s["unattributed_records"], 2, "{s}");
    for (path, why) in [("evil.arrow", "metadata"), ("bad-footer.arrow", "footer")] {
        let e = problem(&s, path)["error"].as_str().unwrap().to_string();
        assert!(e.starts_with("Arrow IPC") && e.contains(why), "{e}");
    }
}

#[test]
fn a_failing_scan_saves_nothing_and_leaves_report_working() {
    let env = setup();
    env.write("ds/a.jsonl", "{\"url\":\"https://twitter.com/1\"}\n");
    env.ok(&["scan", "ds", "--dataset", "d@1"]);
    let before = env.dump();
    // Limits below their floors are refused at the door, before anything is read.
    env.fails(&["scan", "ds", "--dataset", "d@2", "--max-record-bytes", "10"]);
    env.fails(&["scan", "ds", "--dataset", "d@2", "--url-field", "#0"]);
    env.fails(&[
        "scan",
        "ds",
        "--dataset",
        "d@2",
        "--url-field",
        "#1",
        "--url-field",
        "url",
    ]);
    assert_eq!(env.dump(), before);
    env.ok(&["report"]);
}

/// A Parquet file with one row of two required byte-array columns, `url` (plain) and
/// `text`, whose single data page is zstd-compressed and decompresses to `text_len` bytes
/// of value (a few kilobytes on disk for hundreds of megabytes).
#[cfg(feature = "parquet")]
fn parquet_one_value(url: &str, text_len: usize) -> Vec<u8> {
    // PLAIN byte-array pages: a 4-byte length, then the bytes.
    let mut url_page = (url.len() as u32).to_le_bytes().to_vec();
    url_page.extend_from_slice(url.as_bytes());
    let text_page = zstd_of(&(text_len as u32).to_le_bytes(), b'a', text_len, b"");
    let header = |uncompressed: usize, compressed: usize| {
        let mut t = Thrift::default();
        t.begin();
        t.field(1, 5);
        t.i64(0); // DATA_PAGE
        t.field(2, 5);
        t.i64(uncompressed as i64);
        t.field(3, 5);
        t.i64(compressed as i64);
        t.field(5, 12);
        t.begin();
        for (id, v) in [(1, 1), (2, 0), (3, 3), (4, 3)] {
            t.field(id, 5); // num_values 1, PLAIN, RLE levels
            t.i64(v);
        }
        t.end();
        t.end();
        t.0
    };
    let mut f = b"PAR1".to_vec();
    let mut chunks = Vec::new();
    for (name, codec, page, plain) in [
        ("url", 0, &url_page, url_page.len()),
        ("text", 6, &text_page, 4 + text_len),
    ] {
        let offset = f.len();
        let h = header(plain, page.len());
        f.extend_from_slice(&h);
        f.extend_from_slice(page);
        chunks.push((name, codec, offset, h.len() + plain, h.len() + page.len()));
    }
    let mut t = Thrift::default();
    t.begin();
    t.field(1, 5);
    t.i64(1);
    t.field(2, 9);
    t.list(3, 12);
    t.element("schema", 2);
    for name in ["url", "text"] {
        t.begin();
        t.field(1, 5);
        t.i64(6); // BYTE_ARRAY
        t.field(3, 5);
        t.i64(0); // REQUIRED
        t.field(4, 8);
        t.varint(name.len() as u64);
        t.0.extend_from_slice(name.as_bytes());
        t.end();
    }
    t.field(3, 6);
    t.i64(1);
    t.field(4, 9);
    t.list(1, 12);
    t.begin();
    t.field(1, 9);
    t.list(2, 12);
    for (name, codec, offset, plain, stored) in &chunks {
        t.begin();
        t.field(2, 6);
        t.i64(*offset as i64);
        t.field(3, 12);
        t.begin();
        t.field(1, 5);
        t.i64(6);
        t.field(2, 9);
        t.list(1, 5);
        t.i64(0);
        t.field(3, 9);
        t.list(1, 8);
        t.varint(name.len() as u64);
        t.0.extend_from_slice(name.as_bytes());
        t.field(4, 5);
        t.i64(*codec);
        t.field(5, 6);
        t.i64(1);
        t.field(6, 6);
        t.i64(*plain as i64);
        t.field(7, 6);
        t.i64(*stored as i64);
        t.field(9, 6);
        t.i64(*offset as i64);
        t.end();
        t.end();
    }
    t.field(2, 6);
    t.i64((4 + text_len + url.len() + 4) as i64);
    t.field(3, 6);
    t.i64(1);
    t.end();
    t.end();
    f.extend_from_slice(&t.0);
    f.extend_from_slice(&(t.0.len() as u32).to_le_bytes());
    f.extend_from_slice(b"PAR1");
    f
}

#[cfg(feature = "parquet")]
#[test]
fn a_parquet_page_larger_than_the_record_limit_is_refused_before_it_is_decompressed() {
    let env = setup();
    // A sound small file first: the hand-made layout reads, and its text is printed.
    env.write(
        "ds/ok.parquet",
        parquet_one_value("https://twitter.com/1", 100),
    );
    // One 40 MB value (over the default 16 MiB record limit), one of 300 MB (over the
    // memory the scan may use): each a few kilobytes on disk.
    let small = parquet_one_value("https://twitter.com/2", 40 << 20);
    let big = parquet_one_value("https://twitter.com/3", 300 << 20);
    assert!(small.len() < 1 << 20 && big.len() < 1 << 20);
    env.write("ds/big40.parquet", &small);
    env.write("ds/big300.parquet", &big);
    let s = scan_limited(&env, &["--dataset", "d@1"]);
    assert_eq!(s["records"], 3, "{s}");
    // The URL column is read (one small page): the records keep their source.
    assert_eq!(s["sources"]["twitter"]["records"], 3, "{s}");
    assert!(
        s["problems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["path"] != "ok.parquet"),
        "{s}"
    );
    for path in ["big40.parquet", "big300.parquet"] {
        let e = problem(&s, path)["error"].as_str().unwrap().to_string();
        assert!(
            e.contains("column \"text\"") && e.contains("--max-record-bytes"),
            "{e}"
        );
    }
}

#[test]
fn a_large_plain_file_is_read_in_place_in_bounded_memory_as_its_compressed_copy_is() {
    let env = setup();
    // ~12 MB of JSON Lines (read from a memory map, a window at a time): records crossing
    // every window boundary, a 2 MB line over the record limit in the middle, and a last
    // record without a newline. The same bytes zstd-compressed are read as a stream.
    let line = |data: &mut Vec<u8>, k: u64, pad: usize| {
        let host = if k.is_multiple_of(3) {
            "twitter.com"
        } else {
            "example.org"
        };
        let text = "x".repeat(pad);
        writeln!(
            data,
            r#"{{"url":"https://{host}/{k}","text":"record {k} {text}"}}"#
        )
        .unwrap();
    };
    let mut data = Vec::new();
    let mut k = 0u64;
    while data.len() < 5 << 20 {
        line(&mut data, k, (k % 700) as usize);
        k += 1;
    }
    data.extend_from_slice(br#"{"url":"https://twitter.com/long","text":""#);
    data.extend(std::iter::repeat_n(b'y', 2 << 20));
    data.extend_from_slice(b"\"}\n");
    while data.len() < 12 << 20 {
        line(&mut data, k, 0);
        k += 1;
    }
    data.extend_from_slice(br#"{"url":"https://twitter.com/last"}"#);
    let twitter = (0..k).filter(|k| k.is_multiple_of(3)).count() as u64 + 1;
    env.write("ds/big.jsonl", &data);
    env.write(
        "ds/big.jsonl.zst",
        zstd::stream::encode_all(&data[..], 1).unwrap(),
    );
    let s = scan_limited(&env, &["--dataset", "d@1", "--max-record-bytes", "1048576"]);
    // Each file: k + 2 records, one of them malformed (the long line).
    assert_eq!(s["records"], 2 * (k + 2), "{s}");
    assert_eq!(s["sources"]["twitter"]["records"], 2 * twitter, "{s}");
    for path in ["big.jsonl", "big.jsonl.zst"] {
        assert_eq!(problem(&s, path)["malformed"], 1, "{s}");
    }
    let out = env.ok(&["dataset", "show", "d@1", "--format", "json"]);
    let show: serde_json::Value = serde_json::from_str(&out).unwrap();
    let row = common::shard_row(&show, "big.jsonl");
    assert_eq!(row["hash"], blake3::hash(&data).to_hex().as_str(), "{show}");
    assert_eq!(row["size"], data.len() as u64, "{show}");
}
