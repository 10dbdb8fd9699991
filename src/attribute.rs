//! Record-level attribution: shard formats, the URL field finder, and URL host → source
//! matching. Finding the URL walks each JSON line once with serde's streaming visitor and
//! never builds a JSON tree; unrelated values are skipped, strings are borrowed when
//! unescaped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::BufRead;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::values::Source;

/// The record format of a shard, from its file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// JSON Lines, one record per non-blank line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// Apache Parquet (its own internal compression).
    Parquet,
    /// Anything else: one opaque record (an image, an archive, a model file).
    Binary,
}

/// Compression wrapped around a record format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Plain.
    None,
    /// gzip (multi-member streams included).
    Gzip,
    /// Zstandard (multi-frame streams included).
    Zstd,
}

/// Detects format and compression from a file name (case-insensitive extensions).
pub fn detect(name: &[u8]) -> (Format, Compression) {
    let lower = name.to_ascii_lowercase();
    let (stem, compression) = if let Some(s) = lower.strip_suffix(b".gz") {
        (s, Compression::Gzip)
    } else if let Some(s) = lower.strip_suffix(b".zst") {
        (s, Compression::Zstd)
    } else {
        (lower.as_slice(), Compression::None)
    };
    let format = if stem.ends_with(b".jsonl") || stem.ends_with(b".ndjson") {
        Format::Jsonl
    } else if stem.ends_with(b".csv") {
        Format::Csv
    } else if stem.ends_with(b".tsv") {
        Format::Tsv
    } else if stem.ends_with(b".parquet") && compression == Compression::None {
        Format::Parquet
    } else {
        return (Format::Binary, Compression::None);
    };
    (format, compression)
}

/// The stable name of a format/compression pair, as stored (`jsonl.gz`, `csv`, `binary`).
pub fn format_name(f: Format, c: Compression) -> &'static str {
    use Compression as C;
    use Format as F;
    match (f, c) {
        (F::Jsonl, C::None) => "jsonl",
        (F::Jsonl, C::Gzip) => "jsonl.gz",
        (F::Jsonl, C::Zstd) => "jsonl.zst",
        (F::Csv, C::None) => "csv",
        (F::Csv, C::Gzip) => "csv.gz",
        (F::Csv, C::Zstd) => "csv.zst",
        (F::Tsv, C::None) => "tsv",
        (F::Tsv, C::Gzip) => "tsv.gz",
        (F::Tsv, C::Zstd) => "tsv.zst",
        (F::Parquet, _) => "parquet",
        (F::Binary, _) => "binary",
    }
}

/// Where a record's URL may be, in priority order (at most 64 dotted paths).
#[derive(Clone, Debug)]
pub struct UrlField {
    paths: Vec<Vec<String>>,
}

/// The URL fields looked for when `--url-field` is not given.
pub const DEFAULT_URL_FIELDS: &[&str] = &["url", "meta.url", "metadata.url", "source_url"];

impl Default for UrlField {
    fn default() -> Self {
        UrlField::new(DEFAULT_URL_FIELDS).unwrap_or(UrlField { paths: Vec::new() })
    }
}

impl UrlField {
    /// Builds a finder from dotted paths (`meta.url`).
    pub fn new<S: AsRef<str>>(paths: &[S]) -> Result<UrlField, String> {
        if paths.is_empty() || paths.len() > 64 {
            return Err("between 1 and 64 URL fields are needed".into());
        }
        let mut out = Vec::new();
        for p in paths {
            let p = p.as_ref();
            let segs: Vec<String> = p.split('.').map(str::to_string).collect();
            if segs.iter().any(|s| s.is_empty()) {
                return Err(format!(
                    "invalid URL field '{p}' (expected a dotted path such as meta.url)"
                ));
            }
            out.push(segs);
        }
        Ok(UrlField { paths: out })
    }

    /// The paths as dotted strings, in priority order (CSV headers are matched against them).
    pub fn dotted(&self) -> impl Iterator<Item = String> + '_ {
        self.paths.iter().map(|p| p.join("."))
    }

    /// The paths as segments, in priority order.
    pub fn paths(&self) -> &[Vec<String>] {
        &self.paths
    }

    /// Finds the highest-priority URL string in one JSON record. `Ok(None)` when the
    /// record has no URL field (or it is not a string); `Err` when the line is not JSON.
    pub fn find<'a>(&self, line: &'a [u8]) -> Result<Option<Cow<'a, str>>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(line);
        let live = if self.paths.len() == 64 {
            u64::MAX
        } else {
            (1u64 << self.paths.len()) - 1
        };
        let found = Finder {
            paths: &self.paths,
            live,
            depth: 0,
        }
        .deserialize(&mut de)?;
        de.end()?;
        Ok(found.map(|(_, url)| url))
    }
}

type Found<'de> = Option<(usize, Cow<'de, str>)>;

/// A visitor that follows only the live paths (a bit per path) and skips everything else.
struct Finder<'p> {
    paths: &'p [Vec<String>],
    live: u64,
    depth: usize,
}

impl Finder<'_> {
    /// The best live path that ends at this depth.
    fn terminal(&self) -> Option<usize> {
        (0..self.paths.len())
            .find(|&i| self.live & (1 << i) != 0 && self.paths[i].len() == self.depth)
    }
}

impl<'de> DeserializeSeed<'de> for Finder<'_> {
    type Value = Found<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

fn better<'de>(a: Found<'de>, b: Found<'de>) -> Found<'de> {
    match (&a, &b) {
        (Some((pa, _)), Some((pb, _))) if pb < pa => b,
        (None, _) => b,
        _ => a,
    }
}

impl<'de> Visitor<'de> for Finder<'_> {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(self.terminal().map(|p| (p, Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.terminal().map(|p| (p, Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(self.terminal().map(|p| (p, Cow::Owned(v))))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut best: Found<'de> = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let mut child = 0u64;
            for (i, p) in self.paths.iter().enumerate() {
                if self.live & (1 << i) != 0 && p.len() > self.depth && p[self.depth] == *key {
                    child |= 1 << i;
                }
            }
            if child == 0 {
                map.next_value::<IgnoredAny>()?;
            } else {
                let found = map.next_value_seed(Finder {
                    paths: self.paths,
                    live: child,
                    depth: self.depth + 1,
                })?;
                best = better(best, found);
            }
        }
        Ok(best)
    }
}

/// Deserialises an object key, borrowed when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// The host of a URL (`https://user@Mobile.Twitter.com:443/x` → `Mobile.Twitter.com`);
/// a scheme-less `twitter.com/x` is read as a host too. `None` when there is no host.
pub fn url_host(url: &str) -> Option<&str> {
    let url = url.trim();
    let rest = match url.find("://") {
        Some(i)
            if i > 0
                && url[..i]
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c)) =>
        {
            &url[i + 3..]
        }
        Some(_) => return None,
        None => url.strip_prefix("//").unwrap_or(url),
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split_once(']').map(|(h, _)| h)?
    } else {
        host_port.split_once(':').map_or(host_port, |(h, _)| h)
    };
    let host = host.trim_end_matches('.');
    if host.is_empty() || host.contains(char::is_whitespace) {
        None
    } else {
        Some(host)
    }
}

/// Maps hosts to sources by their domains: the longest domain that equals the host or is
/// a suffix of it on a label boundary wins (`mobile.twitter.com` → `twitter.com`;
/// `notx.com` is not `x.com`).
#[derive(Clone, Debug, Default)]
pub struct SourceMatcher {
    by_domain: HashMap<String, usize>,
    ids: Vec<String>,
}

impl SourceMatcher {
    /// Indexes every source's domains.
    pub fn new(sources: &[Source]) -> SourceMatcher {
        let mut m = SourceMatcher::default();
        for (i, s) in sources.iter().enumerate() {
            m.ids.push(s.id.clone());
            for d in &s.domains {
                m.by_domain.insert(d.to_ascii_lowercase(), i);
            }
        }
        m
    }

    /// Source ids, indexed as the matcher's results.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The source a host belongs to.
    pub fn source_of_host(&self, host: &str) -> Option<usize> {
        let lowered;
        let mut h: &str = if host.bytes().any(|c| c.is_ascii_uppercase()) {
            lowered = host.to_ascii_lowercase();
            &lowered
        } else {
            host
        };
        loop {
            if let Some(&i) = self.by_domain.get(h) {
                return Some(i);
            }
            match h.find('.') {
                Some(dot) => h = &h[dot + 1..],
                None => return None,
            }
        }
    }

    /// The source a URL belongs to.
    pub fn source_of_url(&self, url: &str) -> Option<usize> {
        url_host(url).and_then(|h| self.source_of_host(h))
    }
}

/// What reading a shard's records found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordStats {
    /// Records (non-blank lines).
    pub records: u64,
    /// Lines that were not valid JSON (counted in `records`).
    pub malformed: u64,
    /// Sources with records, sparse and in index order: (source index, records,
    /// uncompressed bytes). Sparse so that a file costs memory for the sources it has, not
    /// for every source in the registry.
    pub per_source: Vec<(usize, u64, u64)>,
    /// Records attributed to no source.
    pub unattributed_records: u64,
    /// Their uncompressed bytes.
    pub unattributed_bytes: u64,
    /// A read or decompression failure that ended the stream early.
    pub problem: Option<String>,
}

/// Reads JSON Lines records from `reader`, attributing each by its URL.
pub fn attribute_jsonl<R: BufRead>(
    mut reader: R,
    field: &UrlField,
    matcher: &SourceMatcher,
) -> RecordStats {
    let mut t = Tally::new(matcher.ids().len());
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut first = true;
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                t.st.problem = Some(e.to_string());
                break;
            }
        }
        let len = buf.len() as u64;
        let mut line = buf.as_slice();
        if first {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
            first = false;
        }
        if line.iter().all(|c| c.is_ascii_whitespace()) {
            continue;
        }
        let source = match field.find(line) {
            Ok(Some(url)) => matcher.source_of_url(&url),
            Ok(None) => None,
            Err(_) => {
                t.st.malformed += 1;
                None
            }
        };
        t.count(source, len);
    }
    t.finish()
}

impl RecordStats {
    /// Records and bytes of source `i` (zero when it has none).
    pub fn source(&self, i: usize) -> (u64, u64) {
        self.per_source
            .iter()
            .find(|(j, _, _)| *j == i)
            .map_or((0, 0), |(_, r, b)| (*r, *b))
    }
}

/// Counts records while a file is read: dense per-source counters, compacted at the end.
struct Tally {
    st: RecordStats,
    dense: Vec<(u64, u64)>,
}

impl Tally {
    fn new(sources: usize) -> Tally {
        Tally {
            st: RecordStats::default(),
            dense: vec![(0, 0); sources],
        }
    }

    fn count(&mut self, source: Option<usize>, bytes: u64) {
        self.st.records += 1;
        match source {
            Some(i) => {
                self.dense[i].0 += 1;
                self.dense[i].1 += bytes;
            }
            None => {
                self.st.unattributed_records += 1;
                self.st.unattributed_bytes += bytes;
            }
        }
    }

    fn finish(mut self) -> RecordStats {
        self.st.per_source = self
            .dense
            .iter()
            .enumerate()
            .filter(|(_, (r, _))| *r > 0)
            .map(|(i, (r, b))| (i, *r, *b))
            .collect();
        self.st
    }
}

/// Reads CSV or TSV records (header row first) from `reader`, attributing each by the URL
/// column: the first header equal to one of the URL field paths (`url`, `meta.url`, ...).
pub fn attribute_delimited<R: std::io::Read>(
    reader: R,
    delimiter: u8,
    field: &UrlField,
    matcher: &SourceMatcher,
) -> RecordStats {
    let mut t = Tally::new(matcher.ids().len());
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .quoting(delimiter == b',')
        .buffer_capacity(256 * 1024)
        .from_reader(reader);
    let column = match rdr.byte_headers() {
        Ok(h) => {
            let h: Vec<Vec<u8>> = h.iter().map(|c| c.trim_ascii().to_vec()).collect();
            field
                .dotted()
                .find_map(|name| h.iter().position(|c| c.as_slice() == name.as_bytes()))
        }
        Err(e) => {
            t.st.problem = Some(format!("header: {e}"));
            return t.finish();
        }
    };
    let mut rec = csv::ByteRecord::new();
    let mut last = rdr.position().byte();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let pos = rdr.position().byte();
                let bytes = pos - last;
                last = pos;
                let source = column
                    .and_then(|c| rec.get(c))
                    .and_then(|u| std::str::from_utf8(u).ok())
                    .and_then(|u| matcher.source_of_url(u));
                t.count(source, bytes);
            }
            Err(e) => {
                let io_error = matches!(e.kind(), csv::ErrorKind::Io(_));
                if io_error {
                    t.st.problem = Some(e.to_string());
                    break;
                }
                // A malformed record (bad UTF-8 is not one: records are read as bytes).
                let pos = rdr.position().byte();
                t.st.malformed += 1;
                t.count(None, pos.saturating_sub(last));
                last = pos;
            }
        }
    }
    t.finish()
}

/// Reads a Parquet file's record count from its footer and attributes records by the URL
/// column, reading only that column. `size` spreads the file's bytes over its records.
pub fn attribute_parquet(
    file: std::fs::File,
    size: u64,
    field: &UrlField,
    matcher: &SourceMatcher,
) -> RecordStats {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    let mut st = RecordStats::default();
    let mut dense = vec![0u64; matcher.ids().len()];
    let reader = match SerializedFileReader::new(file) {
        Ok(r) => r,
        Err(e) => {
            st.problem = Some(format!("not a readable Parquet file: {e}"));
            st.records = 1;
            st.unattributed_records = 1;
            st.unattributed_bytes = size;
            return st;
        }
    };
    let total = reader.metadata().file_metadata().num_rows().max(0) as u64;
    let schema = reader.metadata().file_metadata().schema();
    let found = field
        .paths()
        .iter()
        .find_map(|p| project(schema, p).map(|t| (p.clone(), t)));
    let share = |n: u64| {
        if total == 0 {
            0
        } else {
            ((size as u128 * n as u128) / total as u128) as u64
        }
    };
    let Some((path, projection)) = found else {
        st.records = total;
        st.unattributed_records = total;
        st.unattributed_bytes = size;
        return st;
    };
    let rows = match reader.get_row_iter(Some(projection)) {
        Ok(r) => r,
        Err(e) => {
            st.problem = Some(e.to_string());
            st.records = total;
            st.unattributed_records = total;
            st.unattributed_bytes = size;
            return st;
        }
    };
    let mut seen = 0u64;
    for row in rows {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                st.problem = Some(e.to_string());
                break;
            }
        };
        seen += 1;
        let mut cur = row;
        let mut url: Option<String> = None;
        for (depth, seg) in path.iter().enumerate() {
            let next = cur
                .get_column_iter()
                .find(|(name, _)| *name == seg)
                .map(|(_, f)| f.clone());
            match (next, depth + 1 == path.len()) {
                (Some(Field::Str(s)), true) => url = Some(s),
                (Some(Field::Group(g)), false) => {
                    cur = g;
                    continue;
                }
                _ => {}
            }
            break;
        }
        let source = url.as_deref().and_then(|u| matcher.source_of_url(u));
        st.records += 1;
        match source {
            Some(i) => dense[i] += 1,
            None => st.unattributed_records += 1,
        }
    }
    // Records the iterator could not reach (a corrupt page) stay counted, unattributed.
    if seen < total {
        st.records += total - seen;
        st.unattributed_records += total - seen;
    }
    st.per_source = dense
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (i, *n, share(*n)))
        .collect();
    st.unattributed_bytes = share(st.unattributed_records);
    st
}

/// A schema holding only the leaf at `path` (with its enclosing groups), when it exists.
fn project(
    root: &parquet::schema::types::Type,
    path: &[String],
) -> Option<parquet::schema::types::Type> {
    use parquet::schema::types::Type;
    use std::sync::Arc;

    fn walk(t: &Type, path: &[String]) -> Option<Type> {
        let child = t.get_fields().iter().find(|f| f.name() == path[0])?;
        if path.len() == 1 {
            if child.is_group() {
                return None;
            }
            let mut b = Type::group_type_builder(t.name()).with_fields(vec![Arc::clone(child)]);
            if t.get_basic_info().has_repetition() {
                b = b.with_repetition(t.get_basic_info().repetition());
            }
            return b.build().ok();
        }
        if !child.is_group() {
            return None;
        }
        let inner = walk(child, &path[1..])?;
        let mut b = Type::group_type_builder(t.name()).with_fields(vec![Arc::new(inner)]);
        if t.get_basic_info().has_repetition() {
            b = b.with_repetition(t.get_basic_info().repetition());
        }
        b.build().ok()
    }
    walk(root, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(id: &str, domains: &[&str]) -> Source {
        Source {
            id: id.into(),
            name: id.into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn hosts_match_on_label_boundaries_longest_first() {
        let m = SourceMatcher::new(&[
            src("twitter", &["twitter.com", "x.com", "t.co"]),
            src("wiki", &["wikipedia.org"]),
            src("wiki-de", &["de.wikipedia.org"]),
        ]);
        let id = |u: &str| m.source_of_url(u).map(|i| m.ids()[i].as_str());
        assert_eq!(id("https://twitter.com/a/status/1"), Some("twitter"));
        assert_eq!(id("https://mobile.Twitter.com/a"), Some("twitter"));
        assert_eq!(id("http://x.com"), Some("twitter"));
        assert_eq!(id("https://notx.com/a"), None);
        assert_eq!(id("https://x.com.evil.net/a"), None);
        assert_eq!(id("https://de.wikipedia.org/wiki/A"), Some("wiki-de"));
        assert_eq!(id("https://en.wikipedia.org/wiki/A"), Some("wiki"));
        assert_eq!(id("https://user:pw@t.co:8443/x?y#z"), Some("twitter"));
        assert_eq!(id("twitter.com/a"), Some("twitter"));
        assert_eq!(id("https://twitter.com./a"), Some("twitter"));
        assert_eq!(id("mailto:someone"), None);
        assert_eq!(id(""), None);
    }

    #[test]
    fn url_host_edges() {
        assert_eq!(url_host("https://[::1]:8080/x"), Some("::1"));
        assert_eq!(url_host("//cdn.example.com/a"), Some("cdn.example.com"));
        assert_eq!(url_host("https:///nohost"), None);
        assert_eq!(url_host("not a url"), None);
    }

    #[test]
    fn url_field_finder_follows_paths_by_priority() {
        let f = UrlField::default();
        let find = |s: &str| f.find(s.as_bytes()).unwrap().map(|c| c.into_owned());
        assert_eq!(
            find(r#"{"text":"hi","url":"https://a.com"}"#).as_deref(),
            Some("https://a.com")
        );
        assert_eq!(
            find(r#"{"meta":{"lang":"en","url":"https://b.com"}}"#).as_deref(),
            Some("https://b.com")
        );
        assert_eq!(
            find(r#"{"metadata":{"url":"https://c.com"},"url":"https://a.com"}"#).as_deref(),
            Some("https://a.com")
        );
        assert_eq!(
            find(r#"{"source_url":"https://d.com","meta":{"url":"https://b.com"}}"#).as_deref(),
            Some("https://b.com")
        );
        assert_eq!(find(r#"{"url":5,"x":[1,{"url":"no"}]}"#), None);
        assert_eq!(
            find(r#"{"u\u0072l":"https://esc.com"}"#).as_deref(),
            Some("https://esc.com")
        );
        assert_eq!(find(r#"["url","https://a.com"]"#), None);
        assert!(f.find(br#"{"url":"https://a.com""#).is_err());
        assert!(f.find(br#"{"url":"a"} trailing"#).is_err());
        let custom = UrlField::new(&["doc.link.href"]).unwrap();
        assert_eq!(
            custom
                .find(br#"{"url":"x","doc":{"link":{"href":"https://e.com"}}}"#)
                .unwrap()
                .as_deref(),
            Some("https://e.com")
        );
        assert!(UrlField::new(&["a..b"]).is_err());
    }

    #[test]
    fn jsonl_records_are_counted_and_attributed() {
        let m = SourceMatcher::new(&[src("twitter", &["twitter.com"])]);
        let data = "\u{feff}{\"url\":\"https://twitter.com/1\"}\n\n{\"url\":\"https://other.org\"}\r\nnot json\n{\"url\":\"https://twitter.com/2\"}";
        let st = attribute_jsonl(data.as_bytes(), &UrlField::default(), &m);
        assert_eq!(st.records, 4);
        assert_eq!(st.malformed, 1);
        assert_eq!(st.source(0).0, 2);
        assert_eq!(st.unattributed_records, 2);
        let total: u64 = st.source(0).1 + st.unattributed_bytes + 1; // + the blank line
        assert_eq!(total, data.len() as u64);
    }

    #[test]
    fn delimited_records_use_the_header() {
        let m = SourceMatcher::new(&[src("reddit", &["reddit.com"])]);
        let data = "id,text,source_url\n1,\"hi, there\",https://old.reddit.com/r/x\n2,\"multi\nline\",https://elsewhere.net\n3,short\n";
        let st = attribute_delimited(data.as_bytes(), b',', &UrlField::default(), &m);
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
        let st = attribute_delimited(tsv.as_bytes(), b'\t', &UrlField::default(), &m);
        assert_eq!((st.records, st.source(0).0), (1, 1));
    }

    #[test]
    fn formats_from_names() {
        assert_eq!(detect(b"a/b.jsonl"), (Format::Jsonl, Compression::None));
        assert_eq!(detect(b"a/B.JSONL.GZ"), (Format::Jsonl, Compression::Gzip));
        assert_eq!(detect(b"x.ndjson"), (Format::Jsonl, Compression::None));
        assert_eq!(detect(b"img.jpg"), (Format::Binary, Compression::None));
        assert_eq!(detect(b"blob.tar.gz"), (Format::Binary, Compression::None));
        assert_eq!(detect(b"t.TSV.zst"), (Format::Tsv, Compression::Zstd));
        assert_eq!(detect(b"t.csv.gz"), (Format::Csv, Compression::Gzip));
        assert_eq!(detect(b"p.parquet"), (Format::Parquet, Compression::None));
        assert_eq!(detect(b"p.parquet.gz"), (Format::Binary, Compression::None));
    }
}
