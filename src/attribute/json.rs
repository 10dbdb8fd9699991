//! The JSON readers: JSON Lines through a bounded line reader, and JSON documents or
//! arrays split value by value; each record kept up to the record limit is attributed by
//! its URL, and memory stays bounded whatever the input.

use std::io::BufRead;

use serde::de::IgnoredAny;

use super::{Limits, RecordStats, SourceMatcher, Tally, UrlField};

/// One line as read by [`next_line`].
enum Line {
    /// End of input.
    Eof,
    /// A line of this many bytes (terminator included) is in the buffer.
    Kept(u64),
    /// A line of this many bytes was longer than the limit and was skipped, not kept.
    TooLong(u64),
}

/// Reads the next line into `buf` (cleared first), keeping at most `max` bytes: a longer
/// line is skipped up to its newline without being buffered, so memory stays bounded
/// whatever the input.
fn next_line<R: BufRead>(r: &mut R, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Line> {
    buf.clear();
    let mut total = 0u64;
    let mut over = false;
    loop {
        let avail = super::fill(r)?;
        if avail.is_empty() {
            return Ok(match (total, over) {
                (0, _) => Line::Eof,
                (n, true) => Line::TooLong(n),
                (n, false) => Line::Kept(n),
            });
        }
        let (take, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        if !over {
            if buf.len() + take > max {
                over = true;
                buf.clear();
                buf.shrink_to(64 * 1024);
            } else {
                buf.extend_from_slice(&avail[..take]);
            }
        }
        total += take as u64;
        r.consume(take);
        if done {
            return Ok(if over {
                Line::TooLong(total)
            } else {
                Line::Kept(total)
            });
        }
    }
}

/// Reads JSON Lines records from `reader`, attributing each by its URL. A line longer
/// than the record limit is a malformed record, skipped up to its newline.
pub fn attribute_jsonl<R: BufRead>(
    mut reader: R,
    field: &UrlField,
    matcher: &SourceMatcher,
    limits: &Limits,
) -> RecordStats {
    let mut t = Tally::new(matcher.ids().len());
    t.limit = limits.max_record_bytes;
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut first = true;
    let max = limits.record_cap();
    loop {
        let len = match next_line(&mut reader, &mut buf, max) {
            Ok(Line::Eof) => break,
            Ok(Line::Kept(n)) => n,
            Ok(Line::TooLong(n)) => {
                first = false;
                t.st.malformed += 1;
                t.too_long += 1;
                t.count(None, n);
                continue;
            }
            Err(e) => {
                t.fail(e.to_string());
                break;
            }
        };
        let mut line = buf.as_slice();
        if first {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
            first = false;
        }
        if line.iter().all(|c| c.is_ascii_whitespace()) {
            continue;
        }
        t.record(line, len, field, matcher);
    }
    t.no_url_field(field);
    t.finish()
}

/// Reads a JSON shard whose layout is not known from its name: JSON Lines when its first
/// line is one whole JSON value, else a stream of JSON values in which a top-level array
/// is a list of records, streamed element by element (never loaded whole). Returns the
/// stats and whether the shard was JSON Lines.
pub fn attribute_json<R: BufRead>(
    mut reader: R,
    field: &UrlField,
    matcher: &SourceMatcher,
    limits: &Limits,
) -> (RecordStats, bool) {
    let lines = match reader.fill_buf() {
        Ok(head) => first_line_is_a_value(head),
        Err(_) => true,
    };
    if lines {
        (attribute_jsonl(reader, field, matcher, limits), true)
    } else {
        (attribute_json_values(reader, field, matcher, limits), false)
    }
}

/// Whether the first non-blank line in `head` is one complete JSON value. A line running
/// past `head` counts as one (a long JSON Lines record).
fn first_line_is_a_value(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(head.len());
    let rest = &head[start..];
    match memchr::memchr(b'\n', rest) {
        Some(end) => {
            serde_json::from_slice::<IgnoredAny>(&rest[..end]).is_ok() && !rest.starts_with(b"[")
        }
        None => rest.starts_with(b"{"),
    }
}

/// A byte-level splitter of a stream of JSON values: tracks strings and nesting only, so
/// each value (a record) is kept up to the record limit while the rest streams past.
#[derive(Default)]
struct ValueSplitter {
    depth: u32,
    in_string: bool,
    escaped: bool,
    in_value: bool,
    /// Inside the one top-level array whose elements are records.
    in_array: bool,
    started: bool,
    over: bool,
    bytes: u64,
}

/// Reads a stream of JSON values: each top-level value is a record, except that a
/// top-level array's elements are each a record.
fn attribute_json_values<R: BufRead>(
    mut reader: R,
    field: &UrlField,
    matcher: &SourceMatcher,
    limits: &Limits,
) -> RecordStats {
    let mut t = Tally::new(matcher.ids().len());
    t.limit = limits.max_record_bytes;
    let max = limits.record_cap();
    let mut buf: Vec<u8> = Vec::new();
    let mut s = ValueSplitter::default();
    loop {
        let chunk = match super::fill(&mut reader) {
            Ok(c) => c,
            Err(e) => {
                t.fail(e.to_string());
                break;
            }
        };
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        for (i, &c) in chunk.iter().enumerate() {
            if !s.started && i < 3 && c >= 0x80 {
                // A UTF-8 byte order mark.
                continue;
            }
            if !s.in_value {
                if c.is_ascii_whitespace() {
                    continue;
                }
                if !s.started && c == b'[' {
                    s.started = true;
                    s.in_array = true;
                    continue;
                }
                s.started = true;
                if s.in_array && (c == b',' || c == b']') {
                    if c == b']' {
                        s.in_array = false;
                    }
                    continue;
                }
                s.in_value = true;
                s.over = false;
                s.bytes = 0;
                buf.clear();
            }
            // Inside a value: does this byte end it?
            let mut end_before = false;
            let mut end_after = false;
            if s.in_string {
                if s.escaped {
                    s.escaped = false;
                } else if c == b'\\' {
                    s.escaped = true;
                } else if c == b'"' {
                    s.in_string = false;
                    end_after = s.depth == 0 && s.bytes > 0;
                }
            } else {
                match c {
                    b'"' => s.in_string = true,
                    b'{' | b'[' => s.depth += 1,
                    b'}' | b']' if s.depth > 0 => {
                        s.depth -= 1;
                        end_after = s.depth == 0;
                    }
                    b',' | b']' | b'}' if s.depth == 0 => end_before = true,
                    c if c.is_ascii_whitespace() && s.depth == 0 => end_before = true,
                    _ => {}
                }
            }
            if !end_before {
                s.bytes += 1;
                if !s.over {
                    if buf.len() < max {
                        buf.push(c);
                    } else {
                        s.over = true;
                        buf = Vec::new();
                    }
                }
            }
            if end_before || end_after {
                s.in_value = false;
                if s.over {
                    t.st.malformed += 1;
                    t.too_long += 1;
                    t.count(None, s.bytes);
                } else {
                    t.record(&buf, s.bytes, field, matcher);
                }
                if end_before && c == b']' && s.in_array {
                    s.in_array = false;
                }
            }
        }
        reader.consume(n);
    }
    if s.in_value {
        // Cut off mid-value: one malformed record.
        t.st.malformed += 1;
        t.count(None, s.bytes);
    }
    t.no_url_field(field);
    t.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::src;

    #[test]
    fn jsonl_records_are_counted_and_attributed() {
        let m = SourceMatcher::new(&[src("twitter", &["twitter.com"])]);
        let data = "\u{feff}{\"url\":\"https://twitter.com/1\"}\n\n{\"url\":\"https://other.org\"}\r\nnot json\n{\"url\":\"https://twitter.com/2\"}";
        let st = attribute_jsonl(
            data.as_bytes(),
            &UrlField::default(),
            &m,
            &Limits::default(),
        );
        assert_eq!(st.records, 4);
        assert_eq!(st.malformed, 1);
        assert_eq!(st.source(0).0, 2);
        assert_eq!(st.unattributed_records, 2);
        let total: u64 = st.source(0).1 + st.unattributed_bytes + 1; // + the blank line
        assert_eq!(total, data.len() as u64);
    }

    #[test]
    fn json_arrays_and_documents_stream_record_by_record() {
        let m = SourceMatcher::new(&[src("twitter", &["twitter.com"])]);
        let small = Limits {
            max_record_bytes: 1024,
            ..Limits::default()
        };
        let long = "y".repeat(5000);
        let data = format!(
            "\u{feff} [ {{\"url\":\"https:\\/\\/twitter.com\\/1\"}},\n {{\"u\":\"]}}\"}}, {{\"t\":\"{long}\"}}, 7 ,{{\"url\":\"https://twitter.com/2\"}}]\n"
        );
        let (st, lines) = attribute_json(data.as_bytes(), &UrlField::default(), &m, &small);
        assert!(!lines);
        assert_eq!((st.records, st.malformed, st.source(0).0), (5, 1, 2));
        // A pretty-printed document is one record.
        let doc = "{\n  \"url\": \"https://twitter.com/3\"\n}\n";
        let (st, lines) = attribute_json(doc.as_bytes(), &UrlField::default(), &m, &small);
        assert!(!lines);
        assert_eq!((st.records, st.source(0).0), (1, 1));
        // JSON Lines in a .json file.
        let jl = "{\"url\":\"https://twitter.com/4\"}\n{\"url\":\"https://a.org\"}\n";
        let (st, lines) = attribute_json(jl.as_bytes(), &UrlField::default(), &m, &small);
        assert!(lines);
        assert_eq!((st.records, st.source(0).0), (2, 1));
        // An over-long line is skipped to its newline; the next line is read.
        let data = format!("{{\"t\":\"{long}\"}}\n{{\"url\":\"https://twitter.com/5\"}}\n");
        let st = attribute_jsonl(data.as_bytes(), &UrlField::default(), &m, &small);
        assert_eq!((st.records, st.malformed, st.source(0).0), (2, 1, 1));
    }
}
