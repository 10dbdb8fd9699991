//! Shard formats: what a file is, from its name or its first bytes (compression by magic
//! number, Parquet, Arrow, tar, JSON), the stable names stored for each format, and the
//! limits on what reading one shard may cost.

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

    pub(super) fn record_cap(&self) -> usize {
        usize::try_from(self.max_record_bytes).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
