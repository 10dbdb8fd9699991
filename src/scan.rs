//! The scanner: walks a dataset directory in a deterministic order, fingerprints every
//! regular file with BLAKE3 (files in parallel, large opaque files with BLAKE3's own
//! multi-threaded mmap path), attributes records, merges what the registry already knows
//! about the same bytes, and registers the dataset version in one transaction.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::attribute::{self, Compression, Format, RecordStats, SourceMatcher, UrlField};
use crate::error::{Error, Result};
use crate::registry::{
    Attribution, EventDraft, KnownShard, Member, Method, NewDataset, Registered, Registry, Shard,
};
use crate::types::{DatasetRef, Date};

/// Files at least this large and without records are hashed with BLAKE3's multi-threaded
/// memory-mapped path; smaller ones with plain reads (mmap set-up costs more than it saves).
const MMAP_MIN: u64 = 4 * 1024 * 1024;

/// What to scan and how to register it.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// The dataset directory.
    pub dir: PathBuf,
    /// Name and version to register.
    pub dataset: DatasetRef,
    /// Owning org.
    pub org: Option<String>,
    /// Collection date.
    pub collected: Date,
    /// Sources declared for all content not attributed by URL.
    pub declared: Vec<String>,
    /// Parent datasets.
    pub derived_from: Vec<DatasetRef>,
    /// Where record URLs are.
    pub url_field: UrlField,
    /// Worker threads (`None`: one per core).
    pub jobs: Option<usize>,
    /// Who is scanning, for the event log.
    pub actor: String,
}

/// A regular file found by the walk.
#[derive(Clone, Debug)]
pub struct FileEntry {
    /// Path relative to the scanned directory, raw bytes, `/`-separated.
    pub rel: Vec<u8>,
    /// Path to open.
    pub abs: PathBuf,
}

/// A file the walk did not fingerprint, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Relative path (lossy UTF-8 for display).
    pub path: String,
    /// Why.
    pub reason: String,
}

/// A shard whose records could not all be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Relative path.
    pub path: String,
    /// Lines that were not valid records.
    pub malformed: u64,
    /// The stream error that ended reading early, if any.
    pub error: Option<String>,
}

/// Per-source totals in a scan summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SourceCount {
    /// Records.
    pub records: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
}

/// The result of a scan, as printed.
#[derive(Clone, Debug, Serialize)]
pub struct ScanSummary {
    /// The dataset version.
    pub dataset: DatasetRef,
    /// Root hash, hex.
    #[serde(serialize_with = "crate::registry::ser_hash")]
    pub root: blake3::Hash,
    /// Files fingerprinted.
    pub files: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Records counted.
    pub records: u64,
    /// Per-source records and bytes.
    pub sources: BTreeMap<String, SourceCount>,
    /// Records attributed to no source.
    pub unattributed_records: u64,
    /// Files not fingerprinted.
    pub skipped: Vec<Skipped>,
    /// Shards with malformed records or corrupt streams.
    pub problems: Vec<Problem>,
    /// Shards whose attributions came (partly) from the same bytes seen before.
    pub inherited_shards: u64,
    /// `created`, or `unchanged` when this exact version was already registered.
    pub status: &'static str,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The dataset root hash: BLAKE3 over the sorted lines `relative-path NUL shard-hash LF`.
pub fn root_hash<'a>(
    members: impl IntoIterator<Item = (&'a [u8], &'a blake3::Hash)>,
) -> blake3::Hash {
    let mut sorted: Vec<(&[u8], &blake3::Hash)> = members.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = blake3::Hasher::new();
    for (path, hash) in sorted {
        h.update(path);
        h.update(b"\0");
        h.update(hash.to_hex().as_bytes());
        h.update(b"\n");
    }
    h.finalize()
}

fn rel_bytes(rel: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        rel.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        rel.to_string_lossy().replace('\\', "/").into_bytes()
    }
}

/// Shows raw path bytes to a person.
pub fn show_path(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

/// Lists the regular files below `dir`, sorted by relative path bytes; symbolic links and
/// special files are skipped and listed.
pub fn walk(dir: &Path) -> Result<(Vec<FileEntry>, Vec<Skipped>)> {
    let meta = std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
    if !meta.is_dir() {
        return Err(Error::input(dir.display().to_string(), "not a directory"));
    }
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            match e.into_io_error() {
                Some(io) => Error::io(path, io),
                None => Error::input(path.display().to_string(), "cannot walk"),
            }
        })?;
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let rel = rel_bytes(rel);
        if ft.is_file() {
            files.push(FileEntry {
                rel,
                abs: entry.into_path(),
            });
        } else {
            let reason = if ft.is_symlink() {
                "symbolic link (not followed)"
            } else {
                "not a regular file"
            };
            skipped.push(Skipped {
                path: show_path(&rel),
                reason: reason.into(),
            });
        }
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok((files, skipped))
}

/// A reader that feeds every byte it reads into a BLAKE3 hasher, so a shard is hashed and
/// parsed in one pass over the file.
struct HashingReader<R> {
    inner: R,
    hasher: blake3::Hasher,
    bytes: u64,
    error: Option<io::Error>,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: blake3::Hasher::new(),
            bytes: 0,
            error: None,
        }
    }

    /// Hashes whatever the parser left unread (after a corrupt stream or trailing data).
    fn drain(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match self.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.bytes += n as u64;
                Ok(n)
            }
            Err(e) => {
                // Keep the file's own I/O errors apart from decoding errors: the first fails
                // the scan, the second is a per-shard problem.
                if e.kind() != io::ErrorKind::Interrupted {
                    self.error = Some(io::Error::new(e.kind(), e.to_string()));
                }
                Err(e)
            }
        }
    }
}

/// One file's fingerprint and records.
#[derive(Clone, Debug)]
pub struct FileFacts {
    /// BLAKE3 of its bytes.
    pub hash: blake3::Hash,
    /// Bytes hashed.
    pub size: u64,
    /// Stored format name.
    pub format: &'static str,
    /// Records found.
    pub stats: RecordStats,
}

/// Hashes one file and reads its records. I/O errors are returned; malformed records and
/// corrupt compressed streams are recorded in the stats. A file whose size or modification
/// time changes while it is read is read once more, then refused.
pub fn fingerprint(
    path: &Path,
    rel: &[u8],
    field: &UrlField,
    matcher: &SourceMatcher,
) -> io::Result<FileFacts> {
    for _ in 0..2 {
        let before = std::fs::metadata(path)?;
        let facts = read_once(path, rel, before.len(), field, matcher)?;
        let after = std::fs::metadata(path)?;
        if facts.size == after.len()
            && before.len() == after.len()
            && before.modified().ok() == after.modified().ok()
        {
            return Ok(facts);
        }
    }
    Err(io::Error::other("the file changed while it was being read"))
}

/// Hashes a whole file without parsing it: large files through BLAKE3's multi-threaded
/// memory-mapped path, small ones with plain reads.
fn hash_file(path: &Path, size: u64) -> io::Result<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    if size >= MMAP_MIN {
        hasher.update_mmap_rayon(path)?;
    } else {
        hasher.update_reader(File::open(path)?)?;
    }
    Ok(hasher.finalize())
}

fn read_once(
    path: &Path,
    rel: &[u8],
    size: u64,
    field: &UrlField,
    matcher: &SourceMatcher,
) -> io::Result<FileFacts> {
    let (format, compression) = attribute::detect(rel);
    let name = attribute::format_name(format, compression);
    let sources = matcher.ids().len();
    match format {
        Format::Binary => {
            let stats = RecordStats {
                records: 1,
                per_source: vec![(0, 0); sources],
                unattributed_records: 1,
                unattributed_bytes: size,
                ..RecordStats::default()
            };
            return Ok(FileFacts {
                hash: hash_file(path, size)?,
                size,
                format: name,
                stats,
            });
        }
        Format::Parquet => {
            // Parquet is read by seeking (footer first), so it is hashed in its own pass.
            let hash = hash_file(path, size)?;
            let stats = attribute::attribute_parquet(File::open(path)?, size, field, matcher);
            return Ok(FileFacts {
                hash,
                size,
                format: name,
                stats,
            });
        }
        Format::Jsonl | Format::Csv | Format::Tsv => {}
    }
    let mut hr = HashingReader::new(File::open(path)?);
    let stats = {
        let raw = BufReader::with_capacity(256 * 1024, &mut hr);
        let decoded: Box<dyn Read + '_> = match compression {
            Compression::None => Box::new(raw),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(raw)),
            Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(raw) {
                Ok(d) => Box::new(d),
                Err(e) => Box::new(FailingReader(Some(e))),
            },
        };
        match format {
            Format::Csv => attribute::attribute_delimited(decoded, b',', field, matcher),
            Format::Tsv => attribute::attribute_delimited(decoded, b'\t', field, matcher),
            _ => attribute::attribute_jsonl(
                BufReader::with_capacity(256 * 1024, decoded),
                field,
                matcher,
            ),
        }
    };
    if let Some(e) = hr.error.take() {
        return Err(e);
    }
    hr.drain()?;
    Ok(FileFacts {
        hash: hr.hasher.finalize(),
        size: hr.bytes,
        format: name,
        stats,
    })
}

/// A reader that reports one error: a decoder that could not even start.
struct FailingReader(Option<io::Error>);

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// Turns one file's facts into a member, applying declared sources to content no URL
/// attributed and inheriting what the registry knows about the same bytes.
fn member_of(
    entry: &FileEntry,
    facts: FileFacts,
    ids: &[String],
    declared: &[String],
    known: Option<&KnownShard>,
) -> (Member, bool) {
    let st = facts.stats;
    let mut attributions: Vec<Attribution> = st
        .per_source
        .iter()
        .enumerate()
        .filter(|(_, (records, _))| *records > 0)
        .map(|(i, (records, bytes))| Attribution {
            source: ids[i].clone(),
            records: *records,
            bytes: *bytes,
            method: Method::Url,
        })
        .collect();
    let (mut un_records, mut un_bytes) = (st.unattributed_records, st.unattributed_bytes);
    if un_records > 0 && !declared.is_empty() {
        for s in declared {
            match attributions.iter_mut().find(|a| &a.source == s) {
                Some(a) => {
                    a.records += un_records;
                    a.bytes += un_bytes;
                }
                None => attributions.push(Attribution {
                    source: s.clone(),
                    records: un_records,
                    bytes: un_bytes,
                    method: Method::Declared,
                }),
            }
        }
        un_records = 0;
        un_bytes = 0;
    }
    let mut inherited = false;
    if let Some(k) = known {
        for a in &k.attributions {
            if !attributions.iter().any(|b| b.source == a.source) {
                attributions.push(Attribution {
                    method: Method::Inherited,
                    ..a.clone()
                });
                inherited = true;
            }
        }
        un_records = un_records.min(k.unattributed_records);
        un_bytes = un_bytes.min(k.unattributed_bytes);
    }
    attributions.sort_by(|a, b| a.source.cmp(&b.source));
    let member = Member {
        path: entry.rel.clone(),
        shard: Shard {
            hash: facts.hash,
            size: facts.size,
            format: facts.format.to_string(),
            records: st.records,
            unattributed_records: un_records,
            unattributed_bytes: un_bytes,
            malformed: st.malformed,
            problem: st.problem,
        },
        attributions,
    };
    (member, inherited)
}

/// Scans `opts.dir` and registers it as `opts.dataset`.
pub fn scan(reg: &mut dyn Registry, opts: &ScanOptions) -> Result<ScanSummary> {
    let started = Instant::now();
    let sources = reg.sources()?;
    let known_ids: HashSet<&str> = sources.iter().map(|s| s.id.as_str()).collect();
    for s in &opts.declared {
        if !known_ids.contains(s.as_str()) {
            return Err(Error::input(
                "--source",
                format!(
                    "unknown source '{s}' (declare it in a policy file and `provtrack apply` it)"
                ),
            ));
        }
    }
    for p in &opts.derived_from {
        if reg.dataset(p)?.is_none() {
            return Err(Error::input(
                "--derived-from",
                format!("dataset {p} is not registered"),
            ));
        }
    }
    let matcher = SourceMatcher::new(&sources);
    let (entries, skipped) = walk(&opts.dir)?;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .build()
        .map_err(|e| Error::input("--jobs", e.to_string()))?;
    let facts: Vec<FileFacts> = pool.install(|| {
        entries
            .par_iter()
            .map(|e| {
                fingerprint(&e.abs, &e.rel, &opts.url_field, &matcher)
                    .map_err(|err| Error::io(&e.abs, err))
            })
            .collect::<Result<Vec<_>>>()
    })?;

    let hashes: Vec<blake3::Hash> = facts.iter().map(|f| f.hash).collect();
    let known = reg.known_shards(&hashes)?;
    let mut members = Vec::with_capacity(entries.len());
    let mut inherited_shards = 0;
    for (entry, f) in entries.iter().zip(facts) {
        let k = known.get(&f.hash);
        let (m, inherited) = member_of(entry, f, matcher.ids(), &opts.declared, k);
        inherited_shards += u64::from(inherited);
        members.push(m);
    }
    let root = root_hash(members.iter().map(|m| (m.path.as_slice(), &m.shard.hash)));

    let mut summary = ScanSummary {
        dataset: opts.dataset.clone(),
        root,
        files: members.len() as u64,
        bytes: members.iter().map(|m| m.shard.size).sum(),
        records: members.iter().map(|m| m.shard.records).sum(),
        sources: BTreeMap::new(),
        unattributed_records: members.iter().map(|m| m.shard.unattributed_records).sum(),
        skipped,
        problems: Vec::new(),
        inherited_shards,
        status: "created",
        seconds: 0.0,
    };
    for m in &members {
        for a in &m.attributions {
            let c = summary.sources.entry(a.source.clone()).or_default();
            c.records += a.records;
            c.bytes += a.bytes;
        }
        if m.shard.malformed > 0 || m.shard.problem.is_some() {
            summary.problems.push(Problem {
                path: show_path(&m.path),
                malformed: m.shard.malformed,
                error: m.shard.problem.clone(),
            });
        }
    }

    let event = EventDraft {
        actor: opts.actor.clone(),
        kind: "scan".into(),
        payload: serde_json::json!({
            "dataset": opts.dataset.to_string(),
            "root": root.to_hex().as_str(),
            "org": opts.org,
            "collected": opts.collected.to_string(),
            "files": summary.files,
            "bytes": summary.bytes,
            "records": summary.records,
            "sources": summary.sources,
            "unattributed_records": summary.unattributed_records,
            "derived_from": opts.derived_from.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
        }),
    };
    let ds = NewDataset {
        dataset: opts.dataset.clone(),
        org: opts.org.clone(),
        collected: opts.collected,
        root_hash: root,
        parents: opts.derived_from.clone(),
        members,
    };
    if reg.register_dataset(&ds, &event)? == Registered::Unchanged {
        summary.status = "unchanged";
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_hash_is_order_independent_and_matches_the_spec_lines() {
        let a = blake3::hash(b"a");
        let b = blake3::hash(b"b");
        let r1 = root_hash([(b"x/b".as_slice(), &b), (b"x-a".as_slice(), &a)]);
        let r2 = root_hash([(b"x-a".as_slice(), &a), (b"x/b".as_slice(), &b)]);
        assert_eq!(r1, r2);
        let text = format!("x-a\0{}\nx/b\0{}\n", a.to_hex(), b.to_hex());
        assert_eq!(r1, blake3::hash(text.as_bytes()));
    }
}
