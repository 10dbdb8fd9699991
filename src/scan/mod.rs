//! The scanner: walks a dataset directory in a deterministic order, fingerprints every
//! regular file with BLAKE3 (files in parallel, large opaque files with BLAKE3's own
//! multi-threaded mmap path), attributes records, merges what the registry already knows
//! about the same bytes, and registers the dataset version in one transaction.

mod input;
mod member;
#[cfg(feature = "s3")]
mod object;
mod partition;
mod read;
mod state;
mod walk;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

pub use input::{Input, ObjectUrl, RemoteFacts, hash_objects, input_of};
pub use partition::Partition;
pub use read::{FileFacts, fingerprint};
pub use walk::walk_with;

pub(crate) use crate::digest::rel_bytes;
pub use crate::digest::root_hash;

use crate::attribute::{Limits, SourceMatcher, UrlField};
use crate::error::{Error, Result};
use crate::registry::{
    EventDraft, Member, NewDataset, Registered, Registry, RegistryError, Source,
};
use crate::types::{DatasetRef, Date};

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
    /// Who is scanning, for the event log.
    pub actor: String,
    /// How to read the directory.
    pub read: ReadOptions,
    /// Scan only this slice of the tree, staged until `dataset seal`.
    pub partition: Option<Partition>,
}

/// Receives scan progress; called from the walker's threads. Files are read as the walk
/// finds them, so the total is not known in advance.
pub trait ProgressSink: Send + Sync {
    /// One file of `bytes` bytes has been read.
    fn advance(&self, bytes: u64);
}

impl fmt::Debug for dyn ProgressSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressSink")
    }
}

/// How the walk treats links, unreadable directories and exclusions.
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// Glob patterns over relative paths to leave out (`*.tmp`, `cache/**`).
    pub excludes: Vec<String>,
    /// Follow symbolic links (loops are detected and skipped).
    pub follow_links: bool,
    /// Record unreadable directories as skipped instead of failing.
    pub skip_unreadable: bool,
    /// Walker threads (0: one per core).
    pub threads: usize,
    /// Only the files of this slice of the tree.
    pub partition: Option<Partition>,
}

/// A regular file found by the walk.
#[derive(Clone, Debug)]
pub struct FileEntry {
    /// Path relative to the scanned directory, raw bytes, `/`-separated.
    pub rel: Vec<u8>,
    /// Path to open.
    pub abs: PathBuf,
    /// Size when listed.
    pub size: u64,
    /// Modification time when listed, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Inode number (0 where the platform has none).
    pub inode: u64,
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
    /// Of those, shards of a record format in which no record had a URL field: their
    /// content is unattributed until `--url-field` names it (or `--source` declares it).
    pub no_url_field: u64,
    /// Shards whose attributions came (partly) from the same bytes seen before.
    pub inherited_shards: u64,
    /// Records with no URL attributed by their text print (method `fingerprint`).
    pub fingerprinted: u64,
    /// Records whose text print was registered under several sources, left unattributed.
    pub ambiguous_prints: u64,
    /// Registered text prints the records without a URL were looked up among, and the
    /// bytes of memory their index took (0 when nothing is printed).
    pub print_index: (u64, u64),
    /// Files read and hashed by this scan.
    pub rehashed: u64,
    /// Files whose cached facts were reused because size, mtime and inode were unchanged.
    pub reused: u64,
    /// `created`, `unchanged` when this exact version was already registered, or `staged`
    /// for a part of a partitioned scan (its root hash is then over the part only).
    pub status: &'static str,
    /// The slice scanned (`K/N`), for a partitioned scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Seconds per phase (walk, cache, hash, lookup, register), for benchmarks and `-v`.
    pub phases: BTreeMap<&'static str, f64>,
    /// For an object-storage prefix: what was listed, fetched and read by range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteFacts>,
}

/// Whether a shard's problem says its records have no URL field.
pub fn is_no_url_field(problem: &str) -> bool {
    problem.starts_with("no-url-field")
}

/// Shows raw path bytes to a person.
pub fn show_path(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

fn canonical_dir(dir: &Path) -> Result<Vec<u8>> {
    let c = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
    Ok(rel_bytes(&c))
}

/// Entries with what reading them did, what was skipped, and what the listing of an
/// object-storage prefix did.
type Walked = (Vec<(FileEntry, Visited)>, Vec<Skipped>, RemoteFacts);

/// What the walk did with one file. Facts are boxed: the walk's results are sent, pushed
/// and sorted by value, and a file's facts are hundreds of bytes.
enum Visited {
    /// Its saved facts still hold.
    Reused(Box<FileFacts>),
    /// Read in the walker's thread.
    Read(io::Result<Box<FileFacts>>),
    /// Left for after the walk (a large opaque file).
    Later,
}

/// How to read a directory: shared by `scan` and `gate DIR`.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Where record URLs are.
    pub url_field: UrlField,
    /// Bounds on what reading one shard may cost.
    pub limits: Limits,
    /// Worker threads (`None`: one per core).
    pub jobs: Option<usize>,
    /// Which files to leave out, and how to walk.
    pub walk: WalkOptions,
    /// Re-read every file even when the state cache says it is unchanged.
    pub rehash: bool,
    /// Trust the state cache for a file only when its bytes hash the same (`gate DIR`).
    pub check_bytes: bool,
    /// Record unreadable files as skipped instead of failing.
    pub skip_unreadable: bool,
    /// Told of each file read.
    pub progress: Option<Arc<dyn ProgressSink>>,
    /// Registered records' text prints, to attribute records that have no URL.
    pub prints: Option<Arc<crate::prints::PrintIndex>>,
}

/// A directory as read: every regular file's facts, in path order, and its root hash.
/// Nothing is written; `state` is what a scan would save for the next one.
pub struct Survey {
    /// Files, sorted by path bytes.
    pub entries: Vec<FileEntry>,
    /// Their facts, in the same order (boxed: moved as pointers on the way to members).
    pub facts: Vec<Box<FileFacts>>,
    /// Files not fingerprinted, and why.
    pub skipped: Vec<Skipped>,
    /// The root hash over (path, hash) of every file.
    pub root: blake3::Hash,
    /// Files whose cached facts were reused.
    pub reused: u64,
    /// Files read and hashed.
    pub rehashed: u64,
    /// Source ids that the facts' per-source counts index.
    pub ids: Vec<String>,
    /// Seconds per phase so far.
    pub phases: BTreeMap<&'static str, f64>,
    /// For an object-storage prefix: what was listed, fetched and read by range.
    pub remote: Option<RemoteFacts>,
    dir_key: Vec<u8>,
    config: blake3::Hash,
}

impl Survey {
    /// The state blob a scan saves, so the next read of the directory reuses these facts.
    fn state(&self) -> Vec<u8> {
        state::encode(
            &self.config,
            &self.ids,
            self.entries
                .iter()
                .zip(&self.facts)
                .map(|(e, f)| (e.rel.as_slice(), (e.size, e.mtime_ns, e.inode), &**f)),
        )
    }
}

/// Reads `dir` with the registry's sources and saved state (read only): walks, reuses the
/// facts of unchanged files, fingerprints and attributes the others.
pub fn survey(reg: &dyn Registry, dir: &Path, opts: &ReadOptions) -> Result<Survey> {
    let dir_key = state_key(dir, opts)?;
    let context = reg.scan_context(None, &[], &dir_key)?;
    let mut opts = opts.clone();
    if opts.prints.is_none() && opts.url_field.prints() {
        opts.prints = crate::prints::load_index(reg, &[])?.map(Arc::new);
    }
    survey_with(context.sources, context.state, dir_key, dir, &opts)
}

/// The key the scanner's state for `dir` is saved under: its canonical path, and the slice
/// when partitioned (each slice keeps its own state: it holds only that slice's files).
fn state_key(dir: &Path, opts: &ReadOptions) -> Result<Vec<u8>> {
    let mut dir_key = match input_of(dir)? {
        Input::Dir(d) => canonical_dir(d)?,
        Input::Object(url) => input::state_key(&url),
    };
    if let Some(p) = opts.walk.partition {
        dir_key.extend_from_slice(format!("\0part {p}").as_bytes());
    }
    Ok(dir_key)
}

/// [`survey`] with what the registry said: its sources and the saved state under `dir_key`.
fn survey_with(
    sources: Vec<Source>,
    state: Option<Vec<u8>>,
    dir_key: Vec<u8>,
    dir: &Path,
    opts: &ReadOptions,
) -> Result<Survey> {
    let matcher = SourceMatcher::new(&sources);
    let ids = matcher.ids().to_vec();
    let walk_opts = WalkOptions {
        skip_unreadable: opts.skip_unreadable,
        threads: opts.jobs.unwrap_or(0),
        ..opts.walk.clone()
    };
    let mut phases = BTreeMap::new();
    let mut lap = Instant::now();
    let mut mark = |name: &'static str, phases: &mut BTreeMap<&'static str, f64>| {
        phases.insert(name, lap.elapsed().as_secs_f64());
        lap = Instant::now();
    };
    let config = state::attribution_config(&sources, &opts.url_field, &opts.limits);
    let local = opts
        .prints
        .as_deref()
        .map(|idx| crate::prints::local_sources(idx, &ids));
    let blob = if opts.rehash { None } else { state };
    let saved = blob
        .as_deref()
        .and_then(|b| state::decode(b, &config, &ids));
    mark("state", &mut phases);

    // Files are read by the walker's threads as found. With saved state each is stat'ed
    // first to see if it can be reused; without, the open file's fstat gives its version.
    let known = saved.is_some();
    if let Some(n) = opts.jobs {
        // Large files are hashed on rayon's pool: --jobs bounds it too. It can only be set
        // once per process, so a second scan in the same process keeps the first setting.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    let read = |e: &mut FileEntry, defer: bool| -> Visited {
        match read::fingerprint_or_defer(e, known, defer, &opts.url_field, &matcher, &opts.limits) {
            Ok(Some(mut f)) => {
                if let Some(p) = &opts.progress {
                    p.advance(f.size);
                }
                if let (Some(idx), Some(local)) = (opts.prints.as_deref(), local.as_deref()) {
                    crate::prints::attribute_pending(&mut f.stats, idx, local);
                }
                Visited::Read(Ok(Box::new(f)))
            }
            Ok(None) => Visited::Later,
            Err(err) => Visited::Read(Err(err)),
        }
    };
    let visit = |e: &mut FileEntry| -> Visited {
        match saved.as_ref().and_then(|s| s.reuse(e, opts.check_bytes)) {
            Some(f) => Visited::Reused(Box::new(f)),
            None => read(e, true),
        }
    };
    let mut remote = None;
    let (walked, mut skipped) = match input_of(dir)? {
        Input::Dir(dir) => {
            let (mut walked, skipped) = walk::walk_with(dir, &walk_opts, known, &visit)?;
            // Large files after the walk: each hashed by every core (as b3sum does), several
            // at once, so that reading their records (Parquet, Arrow) takes every core too.
            walked.par_iter_mut().for_each(|(e, v)| {
                if matches!(v, Visited::Later) {
                    *v = read(e, false);
                }
            });
            (walked, skipped)
        }
        Input::Object(url) => {
            let (mut walked, skipped, facts) =
                input::walk_objects(&url, opts, saved.as_ref(), &matcher)?;
            if let (Some(idx), Some(local)) = (opts.prints.as_deref(), local.as_deref()) {
                for (_, v) in walked.iter_mut() {
                    if let Visited::Read(Ok(f)) = v {
                        crate::prints::attribute_pending(&mut f.stats, idx, local);
                    }
                }
            }
            remote = Some(facts);
            (walked, skipped)
        }
    };
    mark("walk+read", &mut phases);
    drop(saved);
    drop(blob);

    let mut entries = Vec::with_capacity(walked.len());
    let mut facts = Vec::with_capacity(walked.len());
    let (mut reused, mut rehashed) = (0u64, 0u64);
    let mut failure = None;
    for (e, v) in walked {
        let (was_reused, r) = match v {
            Visited::Reused(f) => (true, Ok(f)),
            Visited::Read(r) => (false, r),
            // Every deferred file was read just above.
            Visited::Later => (false, Err(io::Error::other("not read"))),
        };
        match r {
            Ok(f) => {
                if was_reused {
                    reused += 1;
                } else {
                    rehashed += 1;
                }
                entries.push(e);
                facts.push(f);
            }
            Err(err) if opts.skip_unreadable => skipped.push(Skipped {
                path: show_path(&e.rel),
                reason: format!("unreadable: {err}"),
            }),
            Err(err) => {
                // The first failure in path order, so the error does not depend on scheduling.
                if failure.is_none() {
                    failure = Some(Error::io(&e.abs, err));
                }
            }
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    check_totals(&entries, &facts)?;
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    let root = root_hash(
        entries
            .iter()
            .zip(&facts)
            .map(|(e, f)| (e.rel.as_slice(), &f.hash)),
    );
    Ok(Survey {
        entries,
        facts,
        skipped,
        root,
        reused,
        rehashed,
        ids,
        phases,
        remote,
        dir_key,
        config,
    })
}

/// Checks that the directory's totals (records, bytes, per source) fit the registry's
/// signed 64-bit counters, so that nothing is registered whose sums would later break a
/// query. Each shard's count is already bounded; this catches their sum.
fn check_totals(entries: &[FileEntry], facts: &[Box<FileFacts>]) -> Result<()> {
    const MAX: u64 = i64::MAX as u64;
    let mut records = 0u64;
    let mut bytes = 0u64;
    let mut unattributed = 0u64;
    let mut per_source: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    for (e, f) in entries.iter().zip(facts) {
        let st = &f.stats;
        let add = |total: &mut u64, n: u64| -> Result<()> {
            *total = total.checked_add(n).filter(|&t| t <= MAX).ok_or_else(|| {
                Error::input(
                    "scan",
                    format!(
                        "{}: the directory's counts overflow 64-bit totals; nothing was registered",
                        show_path(&e.rel)
                    ),
                )
            })?;
            Ok(())
        };
        add(&mut records, st.records)?;
        add(&mut bytes, f.size)?;
        add(&mut unattributed, st.unattributed_bytes)?;
        for (i, r, b) in st.per_source.iter().chain(&st.prints.matched) {
            let c = per_source.entry(*i).or_default();
            add(&mut c.0, *r)?;
            add(&mut c.1, *b)?;
        }
    }
    Ok(())
}

/// Scans `opts.dir` and registers it as `opts.dataset`.
pub fn scan(reg: &mut dyn Registry, opts: &ScanOptions) -> Result<ScanSummary> {
    let started = Instant::now();
    let mut read = opts.read.clone();
    read.walk.partition = opts.partition;
    // Everything the scan needs of the registry, in one read; an unregistered parent is
    // refused there.
    let dir_key = state_key(&opts.dir, &read)?;
    let context = reg
        .scan_context(Some(&opts.dataset), &opts.derived_from, &dir_key)
        .map_err(|e| match e {
            // The one check of the parents, named by the flag that gave them.
            RegistryError::UnknownParent(p) => {
                Error::input("--derived-from", format!("dataset {p} is not registered"))
            }
            e => e.into(),
        })?;
    let known_ids: HashSet<&str> = context.sources.iter().map(|s| s.id.as_str()).collect();
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
    let parent_sources = context.parent_sources;
    let existing = context.existing;
    if read.prints.is_none() && read.url_field.prints() {
        read.prints = crate::prints::load_index(reg, &opts.derived_from)?.map(Arc::new);
    }
    let survey = survey_with(context.sources, context.state, dir_key, &opts.dir, &read)?;
    // The state blob is encoded on one core while the other counts the files.
    let (saved_state, (records, counts)) =
        rayon::join(|| survey.state(), || tally(&survey.entries, &survey.facts));
    let Survey {
        entries,
        facts,
        skipped,
        root,
        reused,
        rehashed,
        ids,
        mut phases,
        dir_key,
        remote,
        ..
    } = survey;
    let mut lap = Instant::now();
    let mut mark = |name: &'static str, phases: &mut BTreeMap<&'static str, f64>| {
        phases.insert(name, lap.elapsed().as_secs_f64());
        lap = Instant::now();
    };
    let kept: Vec<(&FileEntry, Box<FileFacts>)> = entries.iter().zip(facts).collect();

    let mut summary = ScanSummary {
        dataset: opts.dataset.clone(),
        root,
        files: kept.len() as u64,
        bytes: kept.iter().map(|(_, f)| f.size).sum(),
        records,
        sources: BTreeMap::new(),
        unattributed_records: 0,
        skipped,
        no_url_field: counts
            .problems
            .iter()
            .filter(|p| p.error.as_deref().is_some_and(is_no_url_field))
            .count() as u64,
        problems: counts.problems,
        inherited_shards: 0,
        fingerprinted: counts.fingerprinted,
        ambiguous_prints: counts.ambiguous,
        print_index: read
            .prints
            .as_deref()
            .map_or((0, 0), |i| (i.len() as u64, i.memory() as u64)),
        rehashed,
        reused,
        status: "created",
        partition: None,
        seconds: 0.0,
        phases: BTreeMap::new(),
        remote,
    };
    summary.partition = opts.partition.map(|p| p.to_string());
    // The same version with the same root is a no-op: report what is registered.
    if opts.partition.is_none()
        && let Some((info, totals)) = existing
        && info.root == root
    {
        for (src, (records, bytes)) in totals.sources {
            summary.sources.insert(src, SourceCount { records, bytes });
        }
        summary.unattributed_records = totals.unattributed_records;
        summary.status = "unchanged";
        // Files re-read because only their metadata changed (a `touch`) are cached anew.
        if rehashed > 0 || reused < kept.len() as u64 {
            reg.store_scan_state(&dir_key, &saved_state)?;
        }
        mark("register", &mut phases);
        summary.phases = phases;
        summary.seconds = started.elapsed().as_secs_f64();
        return Ok(summary);
    }

    // Each member's print sets are sorted and coded on every core.
    let members: Vec<Member> = kept
        .into_par_iter()
        .map(|(entry, f)| member::member_of(entry, *f, &ids, &opts.declared, &parent_sources))
        .collect();
    let mut scanned: BTreeMap<String, SourceCount> = BTreeMap::new();
    let mut seen = foldhash::HashSet::with_capacity_and_hasher(members.len(), Default::default());
    let distinct: Vec<&Member> = members
        .iter()
        .filter(|m| seen.insert(m.shard.hash))
        .collect();
    let unattributed: u64 = distinct.iter().map(|m| m.unattributed_records()).sum();
    for m in &distinct {
        for a in m.content() {
            let c = scanned.entry(a.source.clone()).or_default();
            c.records += a.records;
            c.bytes += a.bytes;
        }
    }

    let event = EventDraft {
        actor: opts.actor.clone(),
        kind: if opts.partition.is_some() {
            "scan-part".into()
        } else {
            "scan".into()
        },
        payload: serde_json::json!({
            "dataset": opts.dataset.to_string(),
            "root": root.to_hex().as_str(),
            "org": opts.org,
            "collected": opts.collected.to_string(),
            "files": summary.files,
            "bytes": summary.bytes,
            "records": summary.records,
            "sources": scanned,
            "unattributed_records": unattributed,
            "skipped": summary.skipped.len(),
            "derived_from": opts.derived_from.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
            "part": opts.partition.map(|p| p.to_string()),
        }),
    };
    let ds = NewDataset {
        dataset: opts.dataset.clone(),
        org: opts.org.clone(),
        collected: opts.collected,
        root_hash: root,
        parents: opts.derived_from.clone(),
        members,
        // Saved in the registering transaction: a failed scan changes nothing.
        state: Some((dir_key, saved_state)),
    };
    let registered = match opts.partition {
        Some(p) => reg.stage_part(&ds, (p.k, p.n), &event)?,
        None => reg.register_dataset(&ds, &event)?,
    };
    // Tens of thousands of members and entries are freed beside the rest of the work (the
    // command prints and exits without waiting for them).
    let _ = std::thread::Builder::new().spawn(move || drop((ds, entries)));
    // What was stored, merged with what the registry knew about the same bytes.
    let totals = match registered {
        Registered::Created {
            inherited_shards,
            totals,
        } => {
            summary.inherited_shards = inherited_shards;
            totals
        }
        Registered::Unchanged { totals } => {
            summary.status = "unchanged";
            totals
        }
        Registered::Staged { inherited_shards } => {
            // Invisible until sealed: what this part found is the summary.
            summary.inherited_shards = inherited_shards;
            summary.status = "staged";
            summary.sources = scanned;
            summary.unattributed_records = unattributed;
            mark("register", &mut phases);
            summary.phases = phases;
            summary.seconds = started.elapsed().as_secs_f64();
            return Ok(summary);
        }
    };
    mark("register", &mut phases);
    for (src, (records, bytes)) in totals.sources {
        summary.sources.insert(src, SourceCount { records, bytes });
    }
    summary.unattributed_records = totals.unattributed_records;
    mark("totals", &mut phases);
    summary.phases = phases;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// What a scan's summary counts of its files, besides their sizes.
#[derive(Default)]
struct Counts {
    /// See [`ScanSummary::fingerprinted`]; each distinct shard once.
    fingerprinted: u64,
    /// See [`ScanSummary::ambiguous_prints`]; each distinct shard once.
    ambiguous: u64,
    /// Every file with malformed records or a problem.
    problems: Vec<Problem>,
}

/// The records of the files' distinct shards, and their [`Counts`].
fn tally(entries: &[FileEntry], facts: &[Box<FileFacts>]) -> (u64, Counts) {
    // Each distinct shard once, as every count of a version is made.
    let records =
        crate::registry::distinct_records(facts.iter().map(|f| (&f.hash, f.stats.records)));
    let mut c = Counts::default();
    let mut printed = foldhash::HashSet::with_capacity_and_hasher(facts.len(), Default::default());
    for (e, f) in entries.iter().zip(facts) {
        if printed.insert(f.hash) {
            c.fingerprinted += f.stats.prints.matched.iter().map(|m| m.1).sum::<u64>();
            c.ambiguous += f.stats.prints.ambiguous;
        }
        if f.stats.malformed > 0 || f.stats.problem.is_some() {
            c.problems.push(Problem {
                path: show_path(&e.rel),
                malformed: f.stats.malformed,
                error: f.stats.problem.clone(),
            });
        }
    }
    (records, c)
}

/// Publishes a version scanned in parts (`scan --partition K/N` on each slice): checks the
/// parts, stores the version with the root hash over all of them (the same as one scan of
/// the whole tree gives), and appends a `seal` event, in one transaction.
pub fn seal(
    reg: &mut dyn Registry,
    dataset: &DatasetRef,
    actor: &str,
) -> Result<crate::registry::DatasetInfo> {
    let parts = reg.staged_parts(dataset)?.len();
    let event = |info: &crate::registry::DatasetInfo| EventDraft {
        actor: actor.to_string(),
        kind: "seal".into(),
        payload: serde_json::json!({
            "dataset": info.dataset.to_string(), "root": info.root.to_hex().as_str(),
            "org": info.org, "collected": info.collected.to_string(), "parts": parts,
            "files": info.files, "bytes": info.bytes, "records": info.records,
        }),
    };
    Ok(reg.seal_dataset(dataset, &event)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_beyond_64_bits_are_refused() {
        let entry = |i: u32| FileEntry {
            rel: format!("f{i}").into_bytes(),
            abs: PathBuf::from(format!("f{i}")),
            size: 1,
            mtime_ns: 0,
            inode: 0,
        };
        let facts = |records: u64| {
            Box::new(FileFacts {
                hash: blake3::hash(b""),
                size: 1,
                format: "parquet",
                stats: crate::attribute::RecordStats {
                    records,
                    per_source: vec![(0, records, 1)],
                    ..Default::default()
                },
            })
        };
        let half = i64::MAX as u64 / 2 + 1;
        let entries = [entry(0), entry(1), entry(2)];
        assert!(check_totals(&entries[..1], &[facts(half)]).is_ok());
        let err = check_totals(&entries, &[facts(half), facts(half), facts(half)]).unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");
    }
}
