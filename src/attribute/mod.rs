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

mod arrow;
mod delimited;
mod footer;
mod parquet;
mod tar;

pub use arrow::attribute_arrow;
pub use delimited::attribute_delimited;
pub use parquet::attribute_parquet;
pub use tar::attribute_tar;

/// The record format of a shard, from its file name or, failing that, its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// JSON Lines, one record per non-blank line.
    Jsonl,
    /// A `.json` file or one sniffed as JSON: JSON Lines when its first line is a whole
    /// value, else one array of records (streamed element by element) or whole documents.
    Json,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// A tar archive: WebDataset samples when its members are grouped by key with a
    /// `.json`/`.url`/`.txt` member, else opaque members.
    Tar,
    /// A tar read as WebDataset: one record per sample (a stored name only).
    WebDataset,
    /// Apache Parquet (its own internal compression).
    Parquet,
    /// Arrow IPC, file or stream (`.arrow`, Hugging Face `save_to_disk` and cache files).
    Arrow,
    /// Metadata beside the content it describes (img2dataset's per-shard `.parquet` and
    /// `_stats.json`): hashed, no records.
    Metadata,
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
    /// Zstandard (multi-frame streams included, windows up to 2^31).
    Zstd,
    /// bzip2 (multi-stream files included).
    Bzip2,
    /// xz (multi-stream files included).
    Xz,
}

/// Detects format and compression from a file name (case-insensitive extensions).
/// `Format::Binary` means the name says nothing: [`sniff`] may still recognise the bytes.
pub fn detect(name: &[u8]) -> (Format, Compression) {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(b".tgz") {
        return (Format::Tar, Compression::Gzip);
    }
    let (stem, compression) = if let Some(s) = lower.strip_suffix(b".gz") {
        (s, Compression::Gzip)
    } else if let Some(s) = lower.strip_suffix(b".zst") {
        (s, Compression::Zstd)
    } else if let Some(s) = lower.strip_suffix(b".bz2") {
        (s, Compression::Bzip2)
    } else if let Some(s) = lower.strip_suffix(b".xz") {
        (s, Compression::Xz)
    } else {
        (lower.as_slice(), Compression::None)
    };
    let plain = compression == Compression::None;
    let format = if stem.ends_with(b".jsonl") || stem.ends_with(b".ndjson") {
        Format::Jsonl
    } else if stem.ends_with(b".json") {
        Format::Json
    } else if stem.ends_with(b".csv") {
        Format::Csv
    } else if stem.ends_with(b".tsv") {
        Format::Tsv
    } else if stem.ends_with(b".tar") {
        Format::Tar
    } else if stem.ends_with(b".parquet") && plain {
        Format::Parquet
    } else if (stem.ends_with(b".arrow") || stem.ends_with(b".arrows")) && plain {
        Format::Arrow
    } else {
        return (Format::Binary, Compression::None);
    };
    (format, compression)
}

/// What the first bytes of a file say it is: a compression by its magic number (the
/// format inside is then sniffed after decoding, reported here as `Json`), Parquet by
/// `PAR1`, Arrow by `ARROW1`, tar by `ustar` at offset 257, or JSON when the first
/// non-blank character (after a BOM) opens an object or array.
pub fn sniff(head: &[u8]) -> Option<(Format, Compression)> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some((Format::Json, Compression::Gzip))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some((Format::Json, Compression::Zstd))
    } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|c| (b'1'..=b'9').contains(c)) {
        Some((Format::Json, Compression::Bzip2))
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some((Format::Json, Compression::Xz))
    } else if head.starts_with(b"PAR1") {
        Some((Format::Parquet, Compression::None))
    } else if head.starts_with(b"ARROW1") {
        Some((Format::Arrow, Compression::None))
    } else if is_tar(head) {
        Some((Format::Tar, Compression::None))
    } else if looks_like_json(head) {
        Some((Format::Json, Compression::None))
    } else {
        None
    }
}

/// Whether (decoded) bytes open a POSIX or GNU tar archive.
pub fn is_tar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar".as_slice())
}

/// Whether decoded text opens with `{` or `[` after an optional BOM and whitespace.
pub fn looks_like_json(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    matches!(
        head.iter().find(|c| !c.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Stored names of the formats that may be compressed, one row per format, one column
/// per compression (none, gz, zst, bz2, xz).
const COMPRESSED_NAMES: [[&str; 5]; 6] = [
    ["jsonl", "jsonl.gz", "jsonl.zst", "jsonl.bz2", "jsonl.xz"],
    ["json", "json.gz", "json.zst", "json.bz2", "json.xz"],
    ["csv", "csv.gz", "csv.zst", "csv.bz2", "csv.xz"],
    ["tsv", "tsv.gz", "tsv.zst", "tsv.bz2", "tsv.xz"],
    ["tar", "tar.gz", "tar.zst", "tar.bz2", "tar.xz"],
    [
        "webdataset",
        "webdataset.gz",
        "webdataset.zst",
        "webdataset.bz2",
        "webdataset.xz",
    ],
];

/// Stored names of the formats that are never wrapped.
const PLAIN_NAMES: [&str; 4] = ["parquet", "arrow", "metadata", "binary"];

/// The stable name of a format/compression pair, as stored (`jsonl.gz`, `csv`, `binary`).
/// A JSON file read as JSON Lines is stored as `jsonl`, a tar read as WebDataset as
/// `webdataset`.
pub fn format_name(f: Format, c: Compression) -> &'static str {
    let col = match c {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Zstd => 2,
        Compression::Bzip2 => 3,
        Compression::Xz => 4,
    };
    let row = match f {
        Format::Jsonl => 0,
        Format::Json => 1,
        Format::Csv => 2,
        Format::Tsv => 3,
        Format::Tar => 4,
        Format::WebDataset => 5,
        Format::Parquet => return PLAIN_NAMES[0],
        Format::Arrow => return PLAIN_NAMES[1],
        Format::Metadata => return PLAIN_NAMES[2],
        Format::Binary => return PLAIN_NAMES[3],
    };
    COMPRESSED_NAMES[row][col]
}

/// The static name equal to a stored one (`None` for a name this version does not write).
pub fn known_format_name(stored: &[u8]) -> Option<&'static str> {
    COMPRESSED_NAMES
        .iter()
        .flatten()
        .chain(PLAIN_NAMES.iter())
        .copied()
        .find(|n| n.as_bytes() == stored)
}

/// Bounds on what one shard may cost to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest record (line, CSV record, JSON array element) kept in memory; a longer
    /// one is counted as malformed and skipped (`--max-record-bytes`).
    pub max_record_bytes: u64,
    /// How many times its own size a compressed shard may decompress to
    /// (`--max-expansion`), never less than [`MIN_DECOMPRESSED_CAP`].
    pub max_expansion: u64,
}

/// The default record limit: 16 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;
/// The default expansion limit of a compressed shard.
pub const DEFAULT_MAX_EXPANSION: u64 = 1000;
/// Any compressed shard may decompress to at least this much (64 MiB), however small it is.
pub const MIN_DECOMPRESSED_CAP: u64 = 64 * 1024 * 1024;
/// The most records one shard may claim (2^40): a Parquet footer claiming more is refused,
/// so that no sum over shards can overflow the registry's 64-bit totals.
pub const MAX_SHARD_RECORDS: u64 = 1 << 40;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            max_expansion: DEFAULT_MAX_EXPANSION,
        }
    }
}

impl Limits {
    /// The most bytes a compressed shard of `compressed` bytes may decompress to.
    pub fn decompressed_cap(&self, compressed: u64) -> u64 {
        compressed
            .saturating_mul(self.max_expansion)
            .max(MIN_DECOMPRESSED_CAP)
    }

    fn record_cap(&self) -> usize {
        usize::try_from(self.max_record_bytes).unwrap_or(usize::MAX)
    }
}

/// Where a record's URL may be, in priority order (at most 64 dotted paths, matched
/// case-insensitively), or which columns of a headerless table (`#2`: the second).
#[derive(Clone, Debug)]
pub struct UrlField {
    paths: Vec<Vec<String>>,
    columns: Vec<usize>,
}

/// The URL fields looked for when `--url-field` is not given.
pub const DEFAULT_URL_FIELDS: &[&str] = &["url", "meta.url", "metadata.url", "source_url", "link"];

impl Default for UrlField {
    fn default() -> Self {
        UrlField::new(DEFAULT_URL_FIELDS).unwrap_or(UrlField {
            paths: Vec::new(),
            columns: Vec::new(),
        })
    }
}

impl UrlField {
    /// Builds a finder from dotted paths (`meta.url`) or column positions (`#2`, 1-based,
    /// for delimited files without a header row; positions and names do not mix).
    pub fn new<S: AsRef<str>>(paths: &[S]) -> Result<UrlField, String> {
        if paths.is_empty() || paths.len() > 64 {
            return Err("between 1 and 64 URL fields are needed".into());
        }
        let mut out = Vec::new();
        let mut columns = Vec::new();
        for p in paths {
            let p = p.as_ref();
            if let Some(n) = p.strip_prefix('#') {
                match n.parse::<usize>() {
                    Ok(n) if n >= 1 => columns.push(n - 1),
                    _ => {
                        return Err(format!(
                            "invalid URL column '{p}' (expected #N, N from 1, e.g. #2)"
                        ));
                    }
                }
                continue;
            }
            let segs: Vec<String> = p.split('.').map(str::to_string).collect();
            if segs.iter().any(|s| s.is_empty()) {
                return Err(format!(
                    "invalid URL field '{p}' (expected a dotted path such as meta.url, or #N)"
                ));
            }
            out.push(segs);
        }
        if !out.is_empty() && !columns.is_empty() {
            return Err("URL fields by name and by position (#N) cannot be mixed".into());
        }
        Ok(UrlField {
            paths: out,
            columns,
        })
    }

    /// The fields as given (`meta.url`, `#2`), in priority order.
    pub fn dotted(&self) -> impl Iterator<Item = String> + '_ {
        self.paths
            .iter()
            .map(|p| p.join("."))
            .chain(self.columns.iter().map(|c| format!("#{}", c + 1)))
    }

    /// The paths as segments, in priority order.
    pub fn paths(&self) -> &[Vec<String>] {
        &self.paths
    }

    /// The 0-based columns of a headerless table (empty when fields are named).
    pub fn columns(&self) -> &[usize] {
        &self.columns
    }

    /// Finds the highest-priority non-empty URL string in one JSON record, looking into
    /// string fields that hold JSON (`"meta": "{\"url\": …}"`). `Ok(None)` when the record
    /// has no URL field (or it is null, empty or not a string); `Err` when it is not JSON.
    pub fn find<'a>(&self, line: &'a [u8]) -> Result<Option<Cow<'a, str>>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(line);
        let found = Finder {
            paths: &self.paths,
            live: self.all_live(),
            depth: 0,
        }
        .deserialize(&mut de)?;
        de.end()?;
        Ok(found.map(|(_, url)| url))
    }

    fn all_live(&self) -> u64 {
        if self.paths.len() >= 64 {
            u64::MAX
        } else {
            (1u64 << self.paths.len()) - 1
        }
    }

    /// The top-level keys of a JSON object record (at most 20, in name order), to say what
    /// a shard without any URL field holds.
    pub fn keys_of(record: &[u8]) -> Vec<String> {
        // Values are skipped, not built: the record may be as large as the record limit.
        let Ok(map) =
            serde_json::from_slice::<std::collections::BTreeMap<String, IgnoredAny>>(record)
        else {
            return Vec::new();
        };
        map.into_keys().take(20).collect()
    }
}

/// Finds the URL at `rest` (a path below a column holding a JSON string) in `json`.
pub(crate) fn find_in_json_str(json: &str, rest: &[String]) -> Option<String> {
    let paths = [rest.to_vec()];
    let mut de = serde_json::Deserializer::from_str(json);
    let found = Finder {
        paths: &paths,
        live: 1,
        depth: 0,
    }
    .deserialize(&mut de)
    .ok()??;
    Some(found.1.into_owned())
}

/// The problem recorded for a shard of records none of which has a URL field.
pub fn no_url_field(field: &UrlField, seen: &[String]) -> String {
    let wanted: Vec<String> = field.dotted().collect();
    format!(
        "no-url-field: no record has {} (fields seen: {}); name the URL field with --url-field",
        wanted.join(", "),
        if seen.is_empty() {
            "none".to_string()
        } else {
            seen.join(", ")
        }
    )
}

type Found<'de> = Option<(usize, Cow<'de, str>)>;

/// A visitor that follows only the live paths (a bit per path) and skips everything else.
struct Finder<'p> {
    paths: &'p [Vec<String>],
    live: u64,
    depth: usize,
}

impl Finder<'_> {
    /// The best live path that ends at this depth, for a non-blank string (an empty URL
    /// falls back to the next field).
    fn terminal_for(&self, v: &str) -> Option<usize> {
        if v.trim().is_empty() {
            return None;
        }
        (0..self.paths.len())
            .find(|&i| self.live & (1 << i) != 0 && self.paths[i].len() == self.depth)
    }

    /// A string where an object was expected on a live path: JSON encoded in a string
    /// (RedPajama's `meta`) is parsed and followed.
    fn inside_string<'x>(&self, v: &str) -> Found<'x> {
        let deeper = (0..self.paths.len())
            .any(|i| self.live & (1 << i) != 0 && self.paths[i].len() > self.depth);
        if !deeper || !v.trim_start().starts_with('{') {
            return None;
        }
        let mut de = serde_json::Deserializer::from_str(v);
        let found = Finder {
            paths: self.paths,
            live: self.live,
            depth: self.depth,
        }
        .deserialize(&mut de)
        .ok()??;
        Some((found.0, Cow::Owned(found.1.into_owned())))
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
        Ok(match self.terminal_for(v) {
            Some(p) => Some((p, Cow::Borrowed(v))),
            None => self.inside_string(v),
        })
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(match self.terminal_for(v) {
            Some(p) => Some((p, Cow::Owned(v.to_owned()))),
            None => self.inside_string(v),
        })
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(match self.terminal_for(&v) {
            Some(p) => Some((p, Cow::Owned(v))),
            None => self.inside_string(&v),
        })
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
                if self.live & (1 << i) != 0
                    && p.len() > self.depth
                    && p[self.depth].eq_ignore_ascii_case(&key)
                {
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

/// The host of a URL as a browser reads it (`https://user@Mobile.Twitter.com:443/x` →
/// `Mobile.Twitter.com`); a scheme-less `twitter.com/x` is read as a host too. Plain ASCII
/// URLs take a fast path; anything else (IDNA, fullwidth or ideographic dots, a
/// percent-encoded host, `\` as `/`) goes through WHATWG host parsing, which gives the
/// ASCII (punycode) form. `None` when there is no host.
pub fn url_host(url: &str) -> Option<Cow<'_, str>> {
    let url = url.trim();
    match plain_host(url) {
        FastHost::Host(h) => Some(Cow::Borrowed(h)),
        FastHost::NoHost => None,
        FastHost::Unusual => whatwg_host(url).map(Cow::Owned),
    }
}

/// What the fast path made of a URL.
enum FastHost<'a> {
    Host(&'a str),
    NoHost,
    /// Non-ASCII, `%` or `\\` before the host's end: a job for the WHATWG parser.
    Unusual,
}

fn plain_host(url: &str) -> FastHost<'_> {
    let (rest, start) = match url.find("://") {
        Some(i)
            if i > 0
                && url[..i]
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c)) =>
        {
            (&url[i + 3..], i + 3)
        }
        Some(_) => return FastHost::NoHost,
        None => match url.strip_prefix("//") {
            Some(r) => (r, 2),
            None => (url, 0),
        },
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if url[..start + end]
        .bytes()
        .any(|c| c == b'\\' || c == b'%' || !c.is_ascii())
    {
        return FastHost::Unusual;
    }
    let authority = &rest[..end];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, _)) => h,
            None => return FastHost::NoHost,
        }
    } else {
        host_port.split_once(':').map_or(host_port, |(h, _)| h)
    };
    let host = host.trim_end_matches('.');
    if host.is_empty() || host.contains(char::is_whitespace) {
        FastHost::NoHost
    } else {
        FastHost::Host(host)
    }
}

/// WHATWG host parsing (the `url` crate), for URLs the fast path does not take.
fn whatwg_host(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| u.has_host())
        .or_else(|| url::Url::parse(&format!("http://{url}")).ok())?;
    let host = match parsed.host()? {
        url::Host::Domain(d) => d.trim_end_matches('.').to_string(),
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a.to_string(),
    };
    (!host.is_empty()).then_some(host)
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
        url_host(url).and_then(|h| self.source_of_host(&h))
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
}

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
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
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
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
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
    /// Records in which a URL field was found (empty ones included).
    with_url: u64,
    /// The first record's fields, for a `no-url-field` problem.
    first_keys: Option<Vec<String>>,
    /// Records longer than the record limit.
    too_long: u64,
    limit: u64,
}

impl Tally {
    fn new(sources: usize) -> Tally {
        Tally {
            st: RecordStats::default(),
            dense: vec![(0, 0); sources],
            with_url: 0,
            first_keys: None,
            too_long: 0,
            limit: 0,
        }
    }

    /// Attributes one JSON record of `bytes` bytes.
    fn record(&mut self, rec: &[u8], bytes: u64, field: &UrlField, matcher: &SourceMatcher) {
        let source = match field.find(rec) {
            Ok(Some(url)) => {
                self.with_url += 1;
                matcher.source_of_url(&url)
            }
            Ok(None) => {
                if self.first_keys.is_none() {
                    self.first_keys = Some(UrlField::keys_of(rec));
                }
                None
            }
            Err(_) => {
                self.st.malformed += 1;
                None
            }
        };
        self.count(source, bytes);
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
        self.st
    }
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
        let host = |u: &str| url_host(u).map(Cow::into_owned);
        assert_eq!(host("https://[::1]:8080/x").as_deref(), Some("::1"));
        assert_eq!(
            host("//cdn.example.com/a").as_deref(),
            Some("cdn.example.com")
        );
        assert_eq!(host("https:///nohost"), None);
        assert_eq!(host("not a url"), None);
    }

    #[test]
    fn hosts_are_read_as_browsers_read_them() {
        let host = |u: &str| url_host(u).map(Cow::into_owned);
        assert_eq!(
            host("https://bücher.de/x").as_deref(),
            Some("xn--bcher-kva.de")
        );
        assert_eq!(host("https://x。com/a").as_deref(), Some("x.com"));
        assert_eq!(host("https://ｘ.com/a").as_deref(), Some("x.com"));
        assert_eq!(host("https://%78.com/a").as_deref(), Some("x.com"));
        assert_eq!(host("https:\\\\x.com\\a").as_deref(), Some("x.com"));
        assert_eq!(host("https://X.COM\\@evil.net/").as_deref(), Some("x.com"));
        assert_eq!(host("bücher.de/x").as_deref(), Some("xn--bcher-kva.de"));
        let m = SourceMatcher::new(&[src("books", &["xn--bcher-kva.de"]), src("x", &["x.com"])]);
        let id = |u: &str| m.source_of_url(u).map(|i| m.ids()[i].as_str());
        assert_eq!(id("https://www.BÜCHER.de/a"), Some("books"));
        assert_eq!(id("https://xn--bcher-kva.de/a"), Some("books"));
        assert_eq!(id("https://ｘ。ｃｏｍ/a"), Some("x"));
        assert_eq!(id("https://notx。com/a"), None);
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

    #[test]
    fn url_fields_ignore_case_fall_back_and_look_into_json_strings() {
        let f = UrlField::default();
        let find = |s: &str| f.find(s.as_bytes()).unwrap().map(|c| c.into_owned());
        assert_eq!(
            find(r#"{"URL":"https://a.com"}"#).as_deref(),
            Some("https://a.com")
        );
        assert_eq!(
            find(r#"{"url":"","source_url":"https://d.com"}"#).as_deref(),
            Some("https://d.com")
        );
        assert_eq!(
            find(r#"{"url":null,"Link":"https://l.com"}"#).as_deref(),
            Some("https://l.com")
        );
        assert_eq!(
            find(r#"{"meta":"{\"url\": \"https://rp.com/x\"}"}"#).as_deref(),
            Some("https://rp.com/x")
        );
        assert!(UrlField::new(&["#0"]).is_err());
        assert!(UrlField::new(&["#2", "url"]).is_err());
        assert_eq!(UrlField::new(&["#2"]).unwrap().columns(), &[1]);
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

    #[test]
    fn formats_from_names() {
        assert_eq!(detect(b"a/b.jsonl"), (Format::Jsonl, Compression::None));
        assert_eq!(detect(b"a/B.JSONL.GZ"), (Format::Jsonl, Compression::Gzip));
        assert_eq!(detect(b"x.ndjson"), (Format::Jsonl, Compression::None));
        assert_eq!(detect(b"img.jpg"), (Format::Binary, Compression::None));
        assert_eq!(detect(b"blob.tar.gz"), (Format::Tar, Compression::Gzip));
        assert_eq!(detect(b"000001.TGZ"), (Format::Tar, Compression::Gzip));
        assert_eq!(detect(b"a.jsonl.bz2"), (Format::Jsonl, Compression::Bzip2));
        assert_eq!(detect(b"a.csv.xz"), (Format::Csv, Compression::Xz));
        assert_eq!(
            detect(b"data-00000-of-00001.arrow"),
            (Format::Arrow, Compression::None)
        );
        assert_eq!(detect(b"train.json"), (Format::Json, Compression::None));
        assert_eq!(detect(b"part-00000"), (Format::Binary, Compression::None));
        assert_eq!(detect(b"t.TSV.zst"), (Format::Tsv, Compression::Zstd));
        assert_eq!(detect(b"t.csv.gz"), (Format::Csv, Compression::Gzip));
        assert_eq!(detect(b"p.parquet"), (Format::Parquet, Compression::None));
        assert_eq!(detect(b"p.parquet.gz"), (Format::Binary, Compression::None));
    }

    #[test]
    fn formats_from_first_bytes() {
        assert_eq!(
            sniff(b"\x1f\x8b\x08"),
            Some((Format::Json, Compression::Gzip))
        );
        assert_eq!(sniff(b"BZh91AY"), Some((Format::Json, Compression::Bzip2)));
        assert_eq!(
            sniff(b"\xfd7zXZ\x00\x00"),
            Some((Format::Json, Compression::Xz))
        );
        assert_eq!(
            sniff(b"PAR1...."),
            Some((Format::Parquet, Compression::None))
        );
        assert_eq!(
            sniff(b"ARROW1\0\0"),
            Some((Format::Arrow, Compression::None))
        );
        assert_eq!(
            sniff(b"\xEF\xBB\xBF \n [{}]"),
            Some((Format::Json, Compression::None))
        );
        let mut tar = vec![0u8; 512];
        tar[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(sniff(&tar), Some((Format::Tar, Compression::None)));
        assert_eq!(sniff(b"\x89PNG\r\n"), None);
        assert_eq!(sniff(b"caption\thttps://a"), None);
        for name in ["jsonl.xz", "webdataset.gz", "metadata", "arrow", "binary"] {
            assert_eq!(known_format_name(name.as_bytes()), Some(name));
        }
        assert_eq!(known_format_name(b"nope"), None);
    }
}
