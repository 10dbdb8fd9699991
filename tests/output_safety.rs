//! Names from hostile files, policies and command lines are shown, never executed: no raw
//! control byte reaches a terminal, CSV cells cannot start a formula, Markdown cells carry
//! no markup, and JUnit reports stay well-formed XML.

mod common;

use common::{Env, records};

/// ESC/OSC (retitles the terminal), CSI (clears it), CR, LF and 0x01.
const HOSTILE: &str = "ev\x1b]0;pwned\x07il\r\nna\x01me\x1b[2J";

/// The same, as a TOML basic string's escapes.
const HOSTILE_TOML: &str = "ev\\u001b]0;pwned\\u0007il\\r\\nna\\u0001me\\u001b[2J";

/// Asserts that no control byte but the line ends of the output itself is in `bytes`.
fn no_raw_controls(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for (i, line) in text.split('\n').enumerate() {
        assert!(
            !line.chars().any(|c| c.is_control()),
            "{what}: control character in line {i}: {line:?}"
        );
    }
}

fn with_source_named(name_toml: &str) -> Env {
    let env = Env::new();
    env.write(
        "policy.toml",
        format!(
            "[[source]]\nid = \"evil\"\nname = \"{name_toml}\"\ndomains = [\"evil.example\"]\n"
        ),
    );
    env.ok(&["apply", "policy.toml"]);
    env
}

#[test]
fn terminal_tables_show_control_characters_escaped() {
    let env = with_source_named(HOSTILE_TOML);
    let out = env.run(&["source", "list"]);
    assert!(out.status.success());
    no_raw_controls("source list", &out.stdout);
    no_raw_controls("source list stderr", &out.stderr);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 2, "one header, one row: {stdout}");
    assert!(
        stdout.contains("ev\\u{1b}]0;pwned\\u{7}il\\u{d}\\u{a}na\\u{1}me\\u{1b}[2J"),
        "{stdout}"
    );
    // JSON keeps the name exactly, escaped by JSON's own rules.
    let json = env.json(&["source", "list"]);
    assert_eq!(json[0]["name"], HOSTILE);

    // A file name inside a scanned directory is free bytes.
    env.write(&format!("data/{HOSTILE}.jsonl"), records("evil.example", 2));
    let out = env.run(&["scan", "data", "--dataset", "d@1", "--org", "acme"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_raw_controls("scan stderr", &out.stderr);
    let out = env.run(&["dataset", "show", "d@1"]);
    assert!(out.status.success());
    no_raw_controls("dataset show", &out.stdout);
    no_raw_controls("dataset show stderr", &out.stderr);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\\u{1b}]0;pwned"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Colour the tool itself asks for still reaches the terminal.
    let out = env.run(&["source", "list", "--color", "always"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("\x1b[1mID\x1b[0m"));
}

#[test]
fn log_shows_a_hostile_actor_escaped() {
    let env = Env::new();
    env.write(
        "policy.toml",
        "[[source]]\nid = \"ok\"\ndomains = [\"ok.example\"]\n",
    );
    env.ok(&["apply", "policy.toml", "--actor", HOSTILE]);
    let out = env.run(&["log"]);
    assert!(out.status.success());
    no_raw_controls("log", &out.stdout);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.contains("ev\\u{1b}]0;pwned"), "{stdout}");
}

#[test]
fn error_lines_show_control_characters_escaped() {
    let env = Env::new();
    // A library error quoting the argument.
    let args = [
        "train",
        HOSTILE,
        "--org",
        "acme",
        "--date",
        "2023-01-01",
        "--dataset",
        "d@1",
    ];
    let line = env.fails(&args);
    assert!(line.contains("ev\\u{1b}]0;pwned"), "{line}");
    no_raw_controls("train error", env.run(&args).stderr.as_slice());
    // A usage error quoting the argument (clap's message, printed by main).
    let args = ["report", "--format", HOSTILE];
    let line = env.fails(&args);
    assert!(line.contains("for '--format <FORMAT>'"), "{line}");
    no_raw_controls("usage error", env.run(&args).stderr.as_slice());
}

#[test]
fn csv_cells_cannot_start_a_formula() {
    let env = with_source_named("=HYPERLINK(\\\"http://evil.example\\\",\\\"click\\\")");
    let csv = env.ok(&["source", "list", "--format", "csv"]);
    assert_eq!(
        csv,
        "id,name,domains\r\nevil,\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",evil.example\r\n"
    );
    // The "none" placeholder is left as it is.
    env.write("data/a.jsonl", records("evil.example", 1));
    env.ok(&["scan", "data", "--dataset", "d@1", "--org", "acme"]);
    env.ok(&[
        "train",
        "m",
        "--org",
        "acme",
        "--date",
        "2023-01-01",
        "--dataset",
        "d@1",
    ]);
    let report = env.ok(&["report", "--format", "csv"]);
    assert!(report.contains(",-,"), "{report}");
    assert!(!report.contains(",'-,"), "{report}");
}

#[test]
fn markdown_cells_carry_no_markup() {
    let env = with_source_named("<script>alert(1)</script> | `x` & y");
    let md = env.ok(&["source", "list", "--format", "md"]);
    assert_eq!(
        md,
        "| id | name | domains |\n|---|---|---|\n\
         | evil | &lt;script&gt;alert(1)&lt;/script&gt; \\| \\`x\\` &amp; y | evil.example |\n"
    );
}

#[test]
fn junit_of_a_hostile_directory_is_well_formed_xml() {
    let env = Env::new();
    env.ok(&["init"]);
    let dir = format!("plan{HOSTILE}");
    env.write(
        &format!("{dir}/new{HOSTILE}.dat"),
        b"opaque bytes nobody registered",
    );
    let junit = env.path("gate.xml");
    let out = env.run(&[
        "gate",
        &dir,
        "--org",
        "acme",
        "--date",
        "2023-03-01",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_raw_controls("gate", &out.stdout);
    no_raw_controls("gate stderr", &out.stderr);

    let xml = std::fs::read_to_string(&junit).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut names = Vec::new();
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e)) if e.name().0 == "testsuite" => {
                let name = e
                    .try_get_attribute("name")
                    .unwrap()
                    .expect("testsuite name")
                    .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .unwrap()
                    .into_owned();
                names.push(name);
            }
            Ok(_) => {}
            Err(e) => panic!(
                "not well-formed XML at {}: {e}\n{xml}",
                reader.error_position()
            ),
        }
    }
    assert_eq!(names.len(), 1, "{xml}");
    // Characters XML cannot hold are shown; the rest is kept, escaped by the writer.
    assert!(names[0].starts_with("plan"), "{}", names[0]);
    assert!(
        names[0].contains("ev\\u{1b}]0;pwned\\u{7}il\r\nna\\u{1}me"),
        "{:?}",
        names[0]
    );
    // The reader is lenient about characters: check XML 1.0's Char production strictly.
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
            || c >= '\u{10000}'
    };
    assert!(xml.chars().all(allowed), "{xml:?}");
}
