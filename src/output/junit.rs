//! The JUnit XML report of `gate --junit`: one test case per source of the dataset, failing
//! with its blocking findings. Written by quick-xml, which escapes markup (`& < > ' "` and
//! CR); characters XML 1.0 cannot hold are made visible first ([`escape::xml_chars`]), so a
//! directory or source named with ESC or 0x01 still yields a well-formed document.

use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::escape::xml_chars;
use crate::gate::{self, GateResult};

/// An element start with attributes, each value reduced to characters XML may hold.
fn start<'a>(name: &'a str, attrs: &[(&str, &str)]) -> BytesStart<'a> {
    let mut e = BytesStart::new(name);
    for (k, v) in attrs {
        e.push_attribute((*k, xml_chars(v).as_ref()));
    }
    e
}

/// Writes the report of a gate run.
pub fn write(r: &GateResult, allow_unknown: bool, w: &mut dyn Write) -> io::Result<()> {
    let mut x = Writer::new_with_indent(&mut *w, b' ', 2);
    let tests = r.sources.len().to_string();
    let failures = r
        .sources
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .count()
        .to_string();
    let classname = format!("provtrack.gate.{}", r.dataset);
    x.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    x.write_event(Event::Start(start(
        "testsuites",
        &[
            ("name", "provtrack gate"),
            ("tests", &tests),
            ("failures", &failures),
        ],
    )))?;
    x.write_event(Event::Start(start(
        "testsuite",
        &[
            ("name", &r.dataset),
            ("tests", &tests),
            ("failures", &failures),
        ],
    )))?;
    for (source, verdicts) in &r.sources {
        let case = start("testcase", &[("classname", &classname), ("name", source)]);
        if verdicts.is_empty() {
            x.write_event(Event::Empty(case))?;
            continue;
        }
        x.write_event(Event::Start(case))?;
        let codes: Vec<&str> = verdicts.iter().map(|v| v.code()).collect();
        let details: Vec<String> = r
            .findings
            .iter()
            .filter(|f| {
                f.source.as_deref().unwrap_or("unknown") == source && gate::blocks(f, allow_unknown)
            })
            .map(|f| {
                format!(
                    "{} {}: {} ({} records)",
                    f.verdict, f.use_, f.detail, f.records
                )
            })
            .collect();
        let message = format!("{source}: {}", codes.join(", "));
        x.write_event(Event::Start(start(
            "failure",
            &[("message", &message), ("type", codes[0])],
        )))?;
        x.write_event(Event::Text(BytesText::new(&xml_chars(&details.join("\n")))))?;
        x.write_event(Event::End(BytesEnd::new("failure")))?;
        x.write_event(Event::End(BytesEnd::new("testcase")))?;
    }
    x.write_event(Event::End(BytesEnd::new("testsuite")))?;
    x.write_event(Event::End(BytesEnd::new("testsuites")))?;
    writeln!(w)
}
