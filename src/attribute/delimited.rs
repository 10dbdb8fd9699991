//! CSV and TSV records, read field by field with `csv-core` (RFC 4180 quoting, so a
//! quoted field holding newlines is one record): only the URL columns are kept, each up to
//! the record limit, and a record longer than the limit is skipped to the next newline.

use std::io::BufRead;

use csv_core::{ReadFieldResult, ReaderBuilder};

use super::{Limits, RecordStats, SourceMatcher, Tally, UrlField, no_url_field};

/// How many header names a `no-url-field` problem lists.
const HEADERS_SHOWN: usize = 20;

/// Reads CSV or TSV records from `reader`, attributing each by its URL column. With named
/// URL fields the first row is a header and the columns are those whose name equals a
/// field, ignoring case, in the fields' priority order; with `#N` fields there is no header
/// and the columns are those positions. Per record the first non-empty column is the URL.
pub fn attribute_delimited<R: BufRead>(
    mut reader: R,
    delimiter: u8,
    field: &UrlField,
    matcher: &SourceMatcher,
    limits: &Limits,
) -> RecordStats {
    let mut t = Tally::new(matcher.ids().len());
    t.limit = limits.max_record_bytes;
    let max = limits.max_record_bytes;
    let mut core = ReaderBuilder::new().delimiter(delimiter).build();
    let mut scratch = [0u8; 16 * 1024];
    // The columns wanted, in priority order, once known.
    let mut wanted: Option<Vec<usize>> = if field.columns().is_empty() {
        None
    } else {
        Some(field.columns().to_vec())
    };
    let mut headers: Vec<String> = Vec::new();
    // The column printed as the record's text (named files only), and its value.
    let mut text_col: Option<usize> = None;
    let mut text: Vec<u8> = Vec::new();
    t.printing = field.prints();
    // Per wanted column (by priority), its value in the current record.
    let mut values: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut column = 0usize;
    let mut record_bytes = 0u64;
    let mut kept_bytes = 0u64;
    let mut eof = false;
    loop {
        let input = match super::fill(&mut reader) {
            Ok(i) => i,
            Err(e) => {
                t.fail(e.to_string());
                break;
            }
        };
        if input.is_empty() {
            eof = true;
        }
        // Never feed the parser past the record limit: an over-long record must be noticed
        // where it passes the limit, so that resyncing starts from there.
        let allowance =
            usize::try_from((max + 1).saturating_sub(record_bytes)).unwrap_or(usize::MAX);
        let input = &input[..input.len().min(allowance)];
        let (res, nin, nout) = core.read_field(input, &mut scratch);
        reader.consume(nin);
        record_bytes += nin as u64;
        // Keep this field's bytes when it is a header or a wanted column.
        let keep = match &wanted {
            None => true,
            Some(w) => w.contains(&column) || text_col == Some(column),
        };
        if keep && (current.len() as u64) + (nout as u64) <= max {
            current.extend_from_slice(&scratch[..nout]);
            kept_bytes += nout as u64;
        }
        match res {
            ReadFieldResult::InputEmpty | ReadFieldResult::OutputFull => {}
            ReadFieldResult::Field { record_end } => {
                match &wanted {
                    None => {
                        headers.push(String::from_utf8_lossy(current.trim_ascii()).into());
                        // Each header costs its string's size too: a header of millions
                        // of empty fields is bounded like a long one.
                        kept_bytes += std::mem::size_of::<String>() as u64;
                    }
                    Some(w) => {
                        if let Some(k) = w.iter().position(|&c| c == column) {
                            if values.len() < w.len() {
                                values.resize(w.len(), Vec::new());
                            }
                            if text_col == Some(column) {
                                text.clone_from(&current);
                            }
                            std::mem::swap(&mut values[k], &mut current);
                        } else if text_col == Some(column) {
                            std::mem::swap(&mut text, &mut current);
                        }
                    }
                }
                current.clear();
                column += 1;
                if record_end {
                    match &wanted {
                        None => {
                            let cols = header_columns(field, &headers);
                            if cols.is_empty() {
                                let shown: Vec<String> =
                                    headers.iter().take(HEADERS_SHOWN).cloned().collect();
                                t.st.problem = Some(no_url_field(field, &shown));
                            }
                            wanted = Some(cols);
                            text_col = text_column(field, &headers);
                            headers = Vec::new();
                        }
                        Some(_) => {
                            let url = values
                                .iter()
                                .map(|v| v.trim_ascii())
                                .find(|v| !v.is_empty())
                                .and_then(|v| std::str::from_utf8(v).ok());
                            let body = std::str::from_utf8(&text).ok();
                            t.printed(url, body, record_bytes, matcher);
                        }
                    }
                    for v in &mut values {
                        v.clear();
                    }
                    text.clear();
                    column = 0;
                    record_bytes = 0;
                    kept_bytes = 0;
                }
            }
            ReadFieldResult::End => break,
        }
        if record_bytes > max || kept_bytes > max {
            // Too long (an unclosed quote swallows the file): skip to the next newline and
            // start a new record there.
            let skipped = skip_line(&mut reader, &mut t);
            t.st.malformed += 1;
            t.too_long += 1;
            t.count(None, record_bytes + skipped);
            core.reset();
            current.clear();
            for v in &mut values {
                v.clear();
            }
            text.clear();
            if wanted.is_none() {
                // The header itself was too long: no URL column can be known.
                wanted = Some(Vec::new());
                headers = Vec::new();
            }
            column = 0;
            record_bytes = 0;
            kept_bytes = 0;
        }
        if eof && nin == 0 && matches!(res, ReadFieldResult::InputEmpty) {
            break;
        }
    }
    t.finish()
}

/// The header positions of the named URL fields, in priority order (case-insensitive).
fn header_columns(field: &UrlField, headers: &[String]) -> Vec<usize> {
    field
        .dotted()
        .filter_map(|name| headers.iter().position(|h| h.eq_ignore_ascii_case(&name)))
        .collect()
}

/// The header position of the first text field that is a plain column name.
fn text_column(field: &UrlField, headers: &[String]) -> Option<usize> {
    field
        .text_paths()
        .iter()
        .filter(|p| p.len() == 1)
        .find_map(|p| headers.iter().position(|h| h.eq_ignore_ascii_case(&p[0])))
}

/// Consumes input up to and including the next newline; returns the bytes skipped.
fn skip_line<R: BufRead>(r: &mut R, t: &mut Tally) -> u64 {
    let mut n = 0u64;
    loop {
        let avail = match super::fill(r) {
            Ok(a) => a,
            Err(e) => {
                t.fail(e.to_string());
                return n;
            }
        };
        if avail.is_empty() {
            return n;
        }
        match memchr::memchr(b'\n', avail) {
            Some(i) => {
                r.consume(i + 1);
                return n + i as u64 + 1;
            }
            None => {
                let len = avail.len();
                r.consume(len);
                n += len as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::src;
    use crate::values::Source;

    fn matcher() -> SourceMatcher {
        SourceMatcher::new(&[Source {
            id: "r".into(),
            name: "r".into(),
            domains: vec!["reddit.com".into()],
        }])
    }

    fn read(data: &str, delimiter: u8, field: &UrlField, max: u64) -> RecordStats {
        let limits = Limits {
            max_record_bytes: max,
            ..Limits::default()
        };
        attribute_delimited(data.as_bytes(), delimiter, field, &matcher(), &limits)
    }

    #[test]
    fn quoting_headers_positions_and_fallback() {
        let d = UrlField::default();
        // A quoted TSV field holding a newline is one record; `URL` matches `url`.
        let st = read(
            "text\tURL\n\"a\nb\"\thttps://reddit.com/1\nc\thttps://x.org\n",
            b'\t',
            &d,
            1024,
        );
        assert_eq!((st.records, st.source(0).0), (2, 1));
        // Per record, an empty url falls back to source_url.
        let st = read(
            "url,source_url\n,https://reddit.com/1\nhttps://reddit.com/2,\n,\n",
            b',',
            &d,
            1024,
        );
        assert_eq!(
            (st.records, st.source(0).0, st.unattributed_records),
            (3, 2, 1)
        );
        // Headerless, by position.
        let pos = UrlField::new(&["#2"]).unwrap();
        let st = read(
            "cap\thttps://reddit.com/1\ncap2\thttps://x.org\n",
            b'\t',
            &pos,
            1024,
        );
        assert_eq!((st.records, st.source(0).0), (2, 1));
        // No URL column at all.
        let st = read("a,b\n1,2\n", b',', &d, 1024);
        assert!(st.problem.unwrap().starts_with("no-url-field"));
    }

    #[test]
    fn an_overlong_record_resyncs_at_the_next_newline() {
        let long = "x".repeat(5000);
        let data = format!("url,t\nhttps://reddit.com/1,\"{long}\nhttps://reddit.com/2,ok\n");
        let st = read(&data, b',', &UrlField::default(), 1024);
        assert_eq!((st.records, st.malformed, st.source(0).0), (2, 1, 1));
        assert!(st.problem.unwrap().contains("--max-record-bytes"));
        // A header of many empty fields is bounded too.
        let data = format!("{}\nhttps://reddit.com/1\n", ",".repeat(100_000));
        let st = read(&data, b',', &UrlField::default(), 64 * 1024);
        assert_eq!(st.malformed, 1);
    }

    #[test]
    fn delimited_records_use_the_header() {
        let m = SourceMatcher::new(&[src("reddit", &["reddit.com"])]);
        let data = "id,text,source_url\n1,\"hi, there\",https://old.reddit.com/r/x\n2,\"multi\nline\",https://elsewhere.net\n3,short\n";
        let st = attribute_delimited(
            data.as_bytes(),
            b',',
            &UrlField::default(),
            &m,
            &Limits::default(),
        );
        assert_eq!(
            (st.records, st.source(0).0, st.unattributed_records),
            (3, 1, 2)
        );
        let header_len = "id,text,source_url\n".len() as u64;
        assert_eq!(
            st.source(0).1 + st.unattributed_bytes + header_len,
            data.len() as u64
        );
        let tsv = "url\tx\nhttps://reddit.com/a\t\"q\n";
        let st = attribute_delimited(
            tsv.as_bytes(),
            b'\t',
            &UrlField::default(),
            &m,
            &Limits::default(),
        );
        assert_eq!((st.records, st.source(0).0), (1, 1));
    }
}
