//! Record-level attribution: which source each record of a shard came from. This module
//! owns what the readers share: [`RecordStats`] and the tally the streaming readers fill.
//! `format` says what a shard is and bounds its cost, `field` finds a record's URL, `host`
//! maps the URL to a source, and one reader per format (`json`, `delimited`, `tar`,
//! `arrow`, `parquet`) walks the records.

mod arrow;
mod delimited;
mod field;
#[cfg(feature = "parquet")]
mod footer;
mod format;
mod host;
mod json;
#[cfg(feature = "parquet")]
mod pages;
#[cfg(feature = "parquet")]
mod parquet;
mod tar;

pub use arrow::attribute_arrow;
pub use delimited::attribute_delimited;
pub(crate) use field::find_in_json_str;
pub use field::{DEFAULT_URL_FIELDS, MAX_TEXT_FIELDS, MAX_URL_FIELDS, UrlField, no_url_field};
pub use format::{
    Compression, DEFAULT_MAX_EXPANSION, DEFAULT_MAX_RECORD_BYTES, Format, Limits,
    MAX_SHARD_RECORDS, MIN_DECOMPRESSED_CAP, detect, format_name, is_tar, known_format_name,
    looks_like_json, sniff,
};
pub use host::{SourceMatcher, url_host};

use crate::hosts::{HostCounts, HostTally};
pub use json::{attribute_json, attribute_jsonl};
#[cfg(feature = "parquet")]
pub use parquet::attribute_parquet;
pub use tar::attribute_tar;

/// The problem of a Parquet shard in a build without the `parquet` feature.
#[cfg(not(feature = "parquet"))]
pub const PARQUET_NOT_BUILT: &str = "parquet support not built in (cargo feature \"parquet\")";

/// Without the `parquet` feature a Parquet shard cannot be read, but it must not vanish
/// either: it is hashed and registered like any file, and all of it is one unattributed
/// record with a problem saying why, the same as a Parquet file whose footer is refused,
/// so that `gate` finds unknown provenance rather than nothing.
#[cfg(not(feature = "parquet"))]
pub fn attribute_parquet<R>(
    _file: R,
    size: u64,
    _field: &UrlField,
    _matcher: &SourceMatcher,
    _max_record: u64,
) -> RecordStats {
    RecordStats {
        records: 1,
        unattributed_records: 1,
        unattributed_bytes: size,
        failed: true,
        problem: Some(PARQUET_NOT_BUILT.to_string()),
        ..RecordStats::default()
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
    /// Whether a stream error or a limit ended reading early (the rest of the shard is
    /// then counted as one more unattributed record). Not saved: applied before.
    pub failed: bool,
    /// A read or decompression failure that ended the stream early, a footer refused, or
    /// `no-url-field` when records were read but none had a URL field.
    pub problem: Option<String>,
    /// The records' prints. Not saved in the scan-state cache: a reused file's shard is
    /// already registered with its prints.
    pub prints: ShardPrints,
    /// Records per URL host (bounded, see [`crate::hosts`]); `None` when the reader does
    /// not measure hosts (Arrow, Parquet, opaque files), which opt-out findings then say.
    pub hosts: Option<HostCounts>,
}

/// The most prints of one kind a shard keeps (32 MiB of them): past it, records are still
/// counted and attributed, not printed.
pub const MAX_SHARD_PRINTS: usize = 4 << 20;

/// What a reader printed of a shard's records ([`crate::prints`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardPrints {
    /// Text prints of records attributed to a source (sparse, in source index order).
    pub text: Vec<(usize, Vec<u64>)>,
    /// URL prints by source; `None`: URLs of no registered source.
    pub url: Vec<(Option<usize>, Vec<u64>)>,
    /// Text prints of the records with no URL, with each record's bytes: what
    /// [`crate::prints::PrintIndex`] may attribute.
    pub pending: Vec<(u64, u64)>,
    /// Text prints of records whose URL named no registered source: the URL says where
    /// they came from, so they are never attributed by print.
    pub unsourced: Vec<u64>,
    /// Records of the pending kind matched to a source by their print:
    /// (source index, records, bytes), sparse.
    pub matched: Vec<(usize, u64, u64)>,
    /// Records whose text was not found (no text field, or blank).
    pub textless: u64,
    /// Records not printed because the shard reached [`MAX_SHARD_PRINTS`].
    pub unprinted: u64,
    /// Pending records whose print was registered under several sources (left
    /// unattributed).
    pub ambiguous: u64,
}

impl ShardPrints {
    /// Takes the text prints gathered per source index (dense), keeping the non-empty.
    pub(crate) fn set_text(&mut self, dense: Vec<Vec<u64>>) {
        self.text = dense
            .into_iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .collect();
    }

    /// Takes the URL prints gathered per source index, the last slot for no source.
    pub(crate) fn set_url(&mut self, dense: Vec<Vec<u64>>) {
        let none = dense.len().saturating_sub(1);
        self.url = dense
            .into_iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(i, v)| ((i != none).then_some(i), v))
            .collect();
    }

    /// Gives each pending record `each` bytes (columnar files spread their size evenly).
    pub(crate) fn spread_pending(&mut self, each: u64) {
        for p in &mut self.pending {
            p.1 = each;
        }
    }
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
/// Streamed counts cannot overflow: each record is at least one byte of a stream bounded by
/// the decompression limit.
struct Tally {
    st: RecordStats,
    dense: Vec<(u64, u64)>,
    printer: crate::prints::Printer,
    /// Whether records are printed (`scan --no-prints` turns it off).
    printing: bool,
    /// Text prints by source index; URL prints by source index, the last for no source.
    texts: Vec<Vec<u64>>,
    urls: Vec<Vec<u64>>,
    /// Records in which a URL field was found (empty ones included).
    with_url: u64,
    /// The first record's fields, for a `no-url-field` problem.
    first_keys: Option<Vec<String>>,
    /// Records longer than the record limit.
    too_long: u64,
    limit: u64,
    /// Records per URL host.
    hosts: HostTally,
}

impl Tally {
    fn new(sources: usize) -> Tally {
        Tally {
            st: RecordStats::default(),
            dense: vec![(0, 0); sources],
            printer: crate::prints::Printer::default(),
            printing: true,
            texts: vec![Vec::new(); sources],
            urls: vec![Vec::new(); sources + 1],
            with_url: 0,
            first_keys: None,
            too_long: 0,
            limit: 0,
            hosts: HostTally::default(),
        }
    }

    /// Attributes one JSON record of `bytes` bytes.
    fn record(&mut self, rec: &[u8], bytes: u64, field: &UrlField, matcher: &SourceMatcher) {
        self.printing = field.prints();
        match field.find_url_and_text(rec) {
            Ok((url, text)) => {
                if url.is_none() && self.first_keys.is_none() {
                    self.first_keys = Some(UrlField::keys_of(rec));
                }
                self.printed(url.as_deref(), text.as_deref(), bytes, matcher);
            }
            Err(_) => {
                self.st.malformed += 1;
                self.count(None, bytes);
            }
        }
    }

    /// Counts and prints one record of `bytes` bytes with its URL and text (either absent).
    fn printed(
        &mut self,
        url: Option<&str>,
        text: Option<&str>,
        bytes: u64,
        matcher: &SourceMatcher,
    ) {
        let print = if self.printing {
            text.and_then(|t| self.printer.text(t))
        } else {
            None
        };
        self.printed_as(url, print, bytes, matcher);
    }

    /// [`Tally::printed`] with the record's content print already made (`None`: no text).
    fn printed_as(
        &mut self,
        url: Option<&str>,
        print: Option<u64>,
        bytes: u64,
        matcher: &SourceMatcher,
    ) {
        let source = match url {
            Some(u) => {
                self.with_url += 1;
                self.source_of(u, bytes, matcher)
            }
            None => None,
        };
        self.count(source, bytes);
        if !self.printing {
            return;
        }
        if self.st.records as usize > MAX_SHARD_PRINTS {
            self.st.prints.unprinted += 1;
            return;
        }
        if let Some(p) = url.and_then(|u| self.printer.url(u)) {
            let slot = source.unwrap_or(self.urls.len() - 1);
            self.urls[slot].push(p);
        }
        match (print, source) {
            (None, _) => self.st.prints.textless += 1,
            (Some(p), Some(i)) => self.texts[i].push(p),
            (Some(p), None) if url.is_some() => self.st.prints.unsourced.push(p),
            (Some(p), None) => self.st.prints.pending.push((p, bytes)),
        }
    }

    /// Records the `no-url-field` problem when well-formed records were read and none had
    /// a URL.
    fn no_url_field(&mut self, field: &UrlField) {
        if self.st.problem.is_none()
            && self.with_url == 0
            && self.st.records > self.st.malformed
            && let Some(keys) = &self.first_keys
        {
            self.st.problem = Some(no_url_field(field, keys));
        }
    }

    /// The source of a record's URL, its host counted (one host parse per record).
    fn source_of(&mut self, url: &str, bytes: u64, matcher: &SourceMatcher) -> Option<usize> {
        let host = url_host(url)?;
        self.hosts.count(&host, bytes);
        matcher.source_of_host(&host)
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

    /// Reading ended early: the reason is the shard's problem.
    fn fail(&mut self, why: String) {
        self.st.problem = Some(why);
        self.st.failed = true;
    }

    fn finish(mut self) -> RecordStats {
        if self.too_long > 0 && self.st.problem.is_none() {
            self.st.problem = Some(format!(
                "{} records longer than {} bytes skipped (--max-record-bytes)",
                self.too_long, self.limit
            ));
        }
        self.st.per_source = self
            .dense
            .iter()
            .enumerate()
            .filter(|(_, (r, _))| *r > 0)
            .map(|(i, (r, b))| (i, *r, *b))
            .collect();
        self.st.prints.set_text(self.texts);
        self.st.prints.set_url(self.urls);
        self.st.hosts = Some(self.hosts.finish());
        self.st
    }
}

/// A source owning `domains`, for the unit tests of the matcher and the readers.
/// The reader's next buffered bytes, an interrupted read retried; empty at the end. Every
/// record reader pulls its input through here.
pub(super) fn fill<R: std::io::BufRead>(r: &mut R) -> std::io::Result<&[u8]> {
    loop {
        match r.fill_buf() {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
            // Asked again to hand out the borrow: a buffered reader answers from its buffer.
            Ok(_) => return r.fill_buf(),
        }
    }
}

#[cfg(test)]
fn src(id: &str, domains: &[&str]) -> crate::values::Source {
    crate::values::Source {
        id: id.into(),
        name: id.into(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
    }
}
