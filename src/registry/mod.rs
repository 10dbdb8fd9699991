//! The registry: the models it stores, the [`Registry`] trait every storage backend
//! implements, and [`RegistryError`]. All SQL lives in the backend files below this one;
//! commands only see the trait. Each writing method is one transaction that also appends
//! its event to the hash chain, so a failure leaves nothing behind.

mod postgres;
mod sqlite;

use std::collections::HashMap;

use serde::Serialize;

use crate::licence::Licence;
use crate::types::{DatasetRef, Date};

pub use crate::values::{
    Application, Attribution, Cap, Disclosure, Grant, Method, Policy, Shard, Source, Subject,
    TrainingRun, VolumeRow, ser_hash,
};
pub use postgres::PgRegistry;
pub use sqlite::SqliteRegistry;

/// Per-source totals over a dataset's member paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatasetTotals {
    /// Source id → (records, bytes).
    pub sources: std::collections::BTreeMap<String, (u64, u64)>,
    /// Records attributed to no source.
    pub unattributed_records: u64,
}

/// One path of a dataset version and its shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Path relative to the scanned directory, raw bytes, `/`-separated.
    pub path: Vec<u8>,
    /// The shard.
    pub shard: Shard,
    /// Its attributions.
    pub attributions: Vec<Attribution>,
}

/// A dataset version ready to register.
#[derive(Clone, Debug)]
pub struct NewDataset {
    /// Name and version.
    pub dataset: DatasetRef,
    /// Owning org.
    pub org: Option<String>,
    /// Collection date.
    pub collected: Date,
    /// Root hash over the sorted members.
    pub root_hash: blake3::Hash,
    /// Parent datasets (must exist).
    pub parents: Vec<DatasetRef>,
    /// Members sorted by path.
    pub members: Vec<Member>,
    /// The scanner's state to save with it: (directory key, state blob).
    pub state: Option<(Vec<u8>, Vec<u8>)>,
    /// Part K of N (1-based) of a partitioned scan: staged, invisible to queries until the
    /// version is sealed; `root_hash` is then over this part's members only.
    pub part: Option<(u32, u32)>,
}

/// A registered dataset version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DatasetInfo {
    /// Name and version.
    pub dataset: DatasetRef,
    /// Owning org.
    pub org: Option<String>,
    /// Collection date.
    pub collected: Date,
    /// Root hash.
    #[serde(serialize_with = "ser_hash")]
    pub root: blake3::Hash,
    /// Files.
    pub files: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Records.
    pub records: u64,
    /// Parents.
    pub parents: Vec<DatasetRef>,
}

/// A member as stored: path and shard facts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMember {
    /// Raw path bytes.
    pub path: Vec<u8>,
    /// The shard.
    pub shard: Shard,
}

/// Content of one source (or of none) in a set of distinct shards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceUsage {
    /// The source; `None` for content attributed to no source.
    pub source: Option<String>,
    /// Distinct shards.
    pub shards: u64,
    /// Records.
    pub records: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
}

/// One member's records of a source, for audits: which dataset, whose, when, which shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentRow {
    /// The dataset.
    pub dataset: DatasetRef,
    /// Its owner.
    pub org: Option<String>,
    /// When it was collected.
    pub collected: Date,
    /// The shard.
    pub shard: blake3::Hash,
    /// Records of the source in it.
    pub records: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Where a shard sits: the datasets holding it and the sources it is attributed to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardLinks {
    /// Datasets holding the shard, by name.
    pub datasets: Vec<DatasetRef>,
    /// Sources of its content, by id.
    pub sources: Vec<String>,
}

/// A registered shard's attributed and unattributed content.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownShard {
    /// (source, records, bytes), by source.
    pub sources: Vec<(String, u64, u64)>,
    /// Records attributed to no source.
    pub unattributed_records: u64,
    /// Their bytes.
    pub unattributed_bytes: u64,
}

impl ContentRow {
    /// The row as volume counted against a cap.
    pub fn volume(&self) -> VolumeRow {
        VolumeRow {
            collected: self.collected,
            shard: self.shard,
            records: self.records,
        }
    }
}

/// What a dataset card declares for a registered dataset version, ready to register in
/// one transaction.
#[derive(Clone, Debug)]
pub struct CardImport {
    /// The dataset version the card describes (must be registered).
    pub dataset: DatasetRef,
    /// The source of the card's content; stored when new, an existing one is kept as is.
    pub source: Source,
    /// Licences the card names that are not in the catalogue (`LicenseRef-…`, no terms);
    /// stored when new, existing ones (and their terms) are kept.
    pub licences: Vec<Licence>,
    /// Grants of the source under the card's licences; upserted by id.
    pub grants: Vec<Grant>,
    /// Member paths whose content no source claims is declared the source's; `None` for
    /// every member.
    pub paths: Option<Vec<Vec<u8>>>,
}

/// Content a card import attributed to its source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CardAttributed {
    /// Distinct shards that gained the attribution.
    pub shards: u64,
    /// Records declared the source's.
    pub records: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl CardImport {
    /// From a dataset's members as (path, shard id, unattributed records, unattributed
    /// bytes), the distinct shards whose unclaimed content this import declares the
    /// source's, and what that adds up to. Both backends decide alike through this.
    pub fn targets(
        &self,
        members: &[(Vec<u8>, i64, i64, i64)],
    ) -> (Vec<(i64, i64, i64)>, CardAttributed) {
        let wanted: Option<std::collections::HashSet<&[u8]>> = self
            .paths
            .as_ref()
            .map(|ps| ps.iter().map(Vec::as_slice).collect());
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut sum = CardAttributed::default();
        for (path, shard, records, bytes) in members {
            if *records <= 0
                || wanted
                    .as_ref()
                    .is_some_and(|w| !w.contains(path.as_slice()))
                || !seen.insert(*shard)
            {
                continue;
            }
            out.push((*shard, *records, *bytes));
            sum.shards += 1;
            sum.records += *records as u64;
            sum.bytes += (*bytes).max(0) as u64;
        }
        (out, sum)
    }
}

/// An event to append, built by the caller.
#[derive(Clone, Debug)]
pub struct EventDraft {
    /// Who: `$USER` or `--actor`.
    pub actor: String,
    /// What kind (`apply`, `scan`, `train`).
    pub kind: String,
    /// Details, serialised canonically.
    pub payload: serde_json::Value,
}

/// An event as stored in the append-only chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Sequence number, from 1.
    pub seq: u64,
    /// UTC time, RFC 3339.
    pub time: String,
    /// Who.
    pub actor: String,
    /// What kind.
    pub kind: String,
    /// Canonical JSON payload.
    pub payload: String,
    /// Hash of the previous event (64 zeros for the first).
    pub prev: String,
    /// This event's chain hash.
    pub hash: String,
}

/// What registering a dataset did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registered {
    /// A new version was stored.
    Created {
        /// Shards already registered whose stored attributions add to what this scan found
        /// (same bytes, same provenance).
        inherited_shards: u64,
    },
    /// The same version with identical content was already there; nothing changed.
    Unchanged,
    /// A part of a partitioned scan was staged.
    Staged {
        /// As for `Created`.
        inherited_shards: u64,
    },
}

/// A storage failure or refusal. Printed on one line.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry was written by a newer provtrack.
    #[error(
        "registry {location}: schema version {found} is newer than this provtrack knows ({known}); upgrade provtrack"
    )]
    TooNew {
        /// Where.
        location: String,
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
    },
    /// The file exists but is no registry.
    #[error("registry {location}: not a provtrack registry ({why})")]
    NotARegistry {
        /// Where.
        location: String,
        /// Why we think so.
        why: String,
    },
    /// A unsupported location.
    #[error("registry {location}: {why}")]
    Unsupported {
        /// Where.
        location: String,
        /// Why.
        why: String,
    },
    /// A write to a registry that can only be read (read-only file system or file).
    #[error(
        "registry {location} is read-only ({why}): cannot {what}; reading commands (report, audit, lineage, gate, verify, log) still work"
    )]
    ReadOnly {
        /// Where.
        location: String,
        /// Why it cannot be written.
        why: String,
        /// The refused write.
        what: String,
    },
    /// A write that conflicts with what is stored.
    #[error("{0}")]
    Conflict(String),
    /// The backend failed.
    #[error("registry {location}: {context}: {source}")]
    Backend {
        /// Where.
        location: String,
        /// What we were doing.
        context: String,
        /// The backend's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The storage contract. Every method is atomic; writers append their event in the same
/// transaction.
pub trait Registry {
    /// Upserts everything in the policy; never deletes.
    fn apply_policy(&mut self, policy: &Policy, event: &EventDraft) -> Result<(), RegistryError>;
    /// Stores a dataset version, or reports it unchanged when the same version with the same
    /// root hash exists (a different root hash is a [`RegistryError::Conflict`]). A shard
    /// already stored keeps its attributions (the new ones are added) and the smaller of the
    /// two unattributed counts: same bytes, same provenance.
    /// Publishes a version scanned in parts: checks that parts 1..N are all staged with the
    /// same N, org, collection date and parents and that no path is in two parts, then
    /// stores the version with the root hash over all members, removes the staged parts and
    /// appends the event `event` makes of it, in one transaction. Any inconsistency is a
    /// [`RegistryError::Conflict`] naming the part.
    fn seal_dataset(
        &mut self,
        dataset: &DatasetRef,
        event: &dyn Fn(&DatasetInfo) -> EventDraft,
    ) -> Result<DatasetInfo, RegistryError>;
    /// The staged parts of a version: (part, of N, files).
    fn staged_parts(&self, dataset: &DatasetRef) -> Result<Vec<(u32, u32, u64)>, RegistryError>;
    fn register_dataset(
        &mut self,
        ds: &NewDataset,
        event: &EventDraft,
    ) -> Result<Registered, RegistryError>;
    /// Upserts one training run.
    fn record_training(
        &mut self,
        run: &TrainingRun,
        event: &EventDraft,
    ) -> Result<(), RegistryError>;

    /// Registers what a dataset card declares: the source (when new), its unknown licences
    /// (when new), the grants, and the declared attribution of the named members' content
    /// that no source claims yet (same bytes, same provenance: it holds wherever the shard
    /// appears). An unregistered dataset is a [`RegistryError::Conflict`]; nothing changes.
    fn import_card(
        &mut self,
        card: &CardImport,
        event: &EventDraft,
    ) -> Result<CardAttributed, RegistryError>;

    /// Appends one event on its own (a gate's verdict).
    fn record_event(&mut self, event: &EventDraft) -> Result<(), RegistryError>;

    /// All sources, by id.
    fn sources(&self) -> Result<Vec<Source>, RegistryError>;
    /// Licences declared by policy files (not the built-ins), by id.
    fn licences(&self) -> Result<Vec<Licence>, RegistryError>;
    /// All grants, by id.
    fn grants(&self) -> Result<Vec<Grant>, RegistryError>;
    /// All training runs, by date then model.
    fn training_runs(&self) -> Result<Vec<TrainingRun>, RegistryError>;
    /// All applications, by id.
    fn applications(&self) -> Result<Vec<Application>, RegistryError>;
    /// All disclosures, by date then id.
    fn disclosures(&self) -> Result<Vec<Disclosure>, RegistryError>;
    /// All dataset versions, by name then version.
    fn datasets(&self) -> Result<Vec<DatasetInfo>, RegistryError>;
    /// One dataset version.
    fn dataset(&self, r: &DatasetRef) -> Result<Option<DatasetInfo>, RegistryError>;
    /// A dataset version's members, by path.
    fn dataset_members(&self, r: &DatasetRef) -> Result<Vec<StoredMember>, RegistryError>;
    /// Per-source content of a dataset's distinct shards; unattributed content as `None`.
    fn dataset_usage(&self, r: &DatasetRef) -> Result<Vec<SourceUsage>, RegistryError>;
    /// [`Registry::dataset`] and [`Registry::dataset_usage`] of many versions at once (a
    /// report reads every trained version's); the unregistered ones are left out. A backend
    /// that pays a round trip per query answers in one pass.
    fn datasets_usage(
        &self,
        refs: &[DatasetRef],
    ) -> Result<HashMap<DatasetRef, (DatasetInfo, Vec<SourceUsage>)>, RegistryError> {
        let mut out = HashMap::with_capacity(refs.len());
        for r in refs {
            if out.contains_key(r) {
                continue;
            }
            if let Some(info) = self.dataset(r)? {
                out.insert(r.clone(), (info, self.dataset_usage(r)?));
            }
        }
        Ok(out)
    }
    /// For caps: per (source, org), each distinct shard holding the source's content in the
    /// org's versions, with the records of the source in it and its earliest collection
    /// date by that org, in no particular order. Versions with no org are left out.
    fn cap_volumes(
        &self,
        sources: &[String],
    ) -> Result<HashMap<(String, String), Vec<VolumeRow>>, RegistryError> {
        let mut out: HashMap<(String, String), Vec<VolumeRow>> = HashMap::new();
        for source in sources {
            let mut first: HashMap<(String, blake3::Hash), VolumeRow> = HashMap::new();
            for r in self.source_content(source)? {
                let Some(org) = r.org.clone() else { continue };
                let row = first.entry((org, r.shard)).or_insert_with(|| r.volume());
                if r.collected < row.collected {
                    row.collected = r.collected;
                }
            }
            for ((org, _), row) in first {
                out.entry((source.clone(), org)).or_default().push(row);
            }
        }
        Ok(out)
    }
    /// The scanner's saved state for the directory `dir` (canonical path bytes).
    fn scan_state(&self, dir: &[u8]) -> Result<Option<Vec<u8>>, RegistryError>;
    /// Replaces the scanner's saved state for `dir`.
    fn store_scan_state(&mut self, dir: &[u8], state: &[u8]) -> Result<(), RegistryError>;
    /// Per-source totals over a dataset's members (each path counted), as `scan` prints them.
    fn dataset_totals(&self, r: &DatasetRef) -> Result<DatasetTotals, RegistryError>;
    /// Datasets holding the shard with this hash, and the sources it is attributed to;
    /// `None` when no such shard is registered.
    fn shard_links(&self, hash: &blake3::Hash) -> Result<Option<ShardLinks>, RegistryError>;
    /// What is known of each of these shards (content per source, unattributed content);
    /// hashes of no registered shard are absent from the answer.
    fn known_shards(
        &self,
        hashes: &[blake3::Hash],
    ) -> Result<HashMap<blake3::Hash, KnownShard>, RegistryError>;
    /// Every dataset member holding content of `source`, by collection date.
    fn source_content(&self, source: &str) -> Result<Vec<ContentRow>, RegistryError>;
    /// The newest `limit` events (all when `None`), oldest first.
    fn events(&self, limit: Option<u64>) -> Result<Vec<Event>, RegistryError>;
    /// Every row of one of [`TABLES`], in primary-key order, with the given columns.
    fn export_table(&self, table: &str, columns: &[&str])
    -> Result<Vec<Vec<Value>>, RegistryError>;
    /// Stores exported tables verbatim (ids, times, event hashes) in one transaction, into a
    /// registry that holds nothing yet (else a [`RegistryError::Conflict`]).
    fn import_tables(&mut self, tables: &[ExportedTable<'_>]) -> Result<(), RegistryError>;
}

/// One exported table: name, columns and rows.
pub type ExportedTable<'a> = (&'a str, &'a [&'a str], Vec<Vec<Value>>);

/// A stored value, as `registry copy` carries it between backends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// NULL.
    Null,
    /// An integer (booleans are 0/1).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

/// Every table of the registry with its columns, parents before children: what `registry
/// copy` carries, in the order it is written.
pub const TABLES: &[(&str, &[&str])] = &[
    ("sources", &["id", "name"]),
    ("source_domains", &["domain", "source_id"]),
    ("licences", &["id", "name"]),
    ("licence_terms", &["licence_id", "kind", "term"]),
    (
        "grants",
        &[
            "id",
            "source_id",
            "licence_id",
            "grantee",
            "valid_from",
            "valid_until",
            "cap_records",
            "cap_per",
        ],
    ),
    (
        "datasets",
        &[
            "id",
            "name",
            "version",
            "org",
            "collected",
            "root_hash",
            "files",
            "bytes",
            "records",
            "created",
        ],
    ),
    ("dataset_parents", &["dataset_id", "parent_id"]),
    (
        "shards",
        &[
            "id",
            "hash",
            "size",
            "format",
            "records",
            "unattributed_records",
            "unattributed_bytes",
            "malformed",
            "problem",
        ],
    ),
    ("dataset_shards", &["dataset_id", "path", "shard_id", "dup"]),
    (
        "attributions",
        &["shard_id", "source_id", "records", "bytes", "method"],
    ),
    ("training_runs", &["model", "org", "date"]),
    ("training_datasets", &["model", "dataset"]),
    ("training_uses", &["model", "use_name"]),
    ("applications", &["id", "org", "disclosed"]),
    ("application_models", &["application_id", "model"]),
    (
        "disclosures",
        &[
            "id",
            "dataset",
            "source_id",
            "recipient",
            "kind",
            "date",
            "org",
        ],
    ),
    (
        "events",
        &["seq", "time", "actor", "kind", "payload", "prev", "hash"],
    ),
    ("scan_state", &["id", "dir", "state"]),
    (
        "dataset_parts",
        &[
            "id",
            "name",
            "version",
            "part",
            "parts",
            "org",
            "collected",
            "root_hash",
            "files",
            "created",
        ],
    ),
    ("dataset_part_parents", &["part_id", "parent_id"]),
    ("dataset_part_shards", &["part_id", "path", "shard_id"]),
];

/// Tables whose integer `id` is generated: after a copy the generator continues past the
/// copied ids.
pub const GENERATED_IDS: &[&str] = &["datasets", "shards", "scan_state", "dataset_parts"];

/// What `registry copy` copied.
#[derive(Clone, Debug, Serialize)]
pub struct Copied {
    /// Rows per table.
    pub rows: Vec<(String, u64)>,
    /// Events copied.
    pub events: u64,
    /// The chain head hash, the same on both sides.
    pub chain_head: Option<String>,
}

/// Copies every row of `from` into the empty registry `to`, byte-exact (ids, times, event
/// hashes), in one transaction on `to`; checks that both chain heads then agree.
pub fn copy(from: &dyn Registry, to: &mut dyn Registry) -> Result<Copied, RegistryError> {
    let mut tables = Vec::with_capacity(TABLES.len());
    for (table, columns) in TABLES {
        tables.push((*table, *columns, from.export_table(table, columns)?));
    }
    let rows = tables
        .iter()
        .map(|(t, _, r)| (t.to_string(), r.len() as u64))
        .collect();
    let events = tables
        .iter()
        .find(|(t, _, _)| *t == "events")
        .map_or(0, |(_, _, r)| r.len() as u64);
    to.import_tables(&tables)?;
    let head = |r: &dyn Registry| -> Result<Option<String>, RegistryError> {
        Ok(r.events(Some(1))?.pop().map(|e| e.hash))
    };
    let (a, b) = (head(from)?, head(&*to)?);
    if a != b {
        return Err(RegistryError::Conflict(format!(
            "the copy's chain head {} differs from the original's {}",
            b.unwrap_or_default(),
            a.unwrap_or_default()
        )));
    }
    Ok(Copied {
        rows,
        events,
        chain_head: a,
    })
}

/// Checks that `table` is one of [`TABLES`] with exactly these columns (names are pasted
/// into SQL, so nothing else is accepted).
pub fn check_table(table: &str, columns: &[&str]) -> Result<(), RegistryError> {
    if TABLES.iter().any(|(t, c)| *t == table && *c == columns) {
        Ok(())
    } else {
        Err(RegistryError::Conflict(format!(
            "unknown table or columns: {table}"
        )))
    }
}

/// `location` as it may be shown: a PostgreSQL URL without its password.
pub fn display(location: &str) -> String {
    if is_postgres(location) {
        postgres::redact(location)
    } else {
        location.to_string()
    }
}

/// Whether `location` names a PostgreSQL registry rather than a SQLite file.
pub fn is_postgres(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// Opens (creating and migrating if needed) the registry at `location`: a
/// `postgres://`/`postgresql://` URL for PostgreSQL, else a SQLite file path.
pub fn open(location: &str) -> Result<Box<dyn Registry>, RegistryError> {
    if is_postgres(location) {
        return Ok(Box::new(PgRegistry::open(location)?));
    }
    Ok(Box::new(SqliteRegistry::open(std::path::Path::new(
        location,
    ))?))
}

/// A staged part of a dataset version, as `seal_dataset` reads it back.
#[derive(Clone, Debug)]
pub struct StagedPartRow {
    /// Its row id.
    pub id: i64,
    /// K of K/N.
    pub part: i64,
    /// N of K/N.
    pub parts: i64,
    /// The collecting org it was scanned with.
    pub org: Option<String>,
    /// The collection date it was scanned with, as stored.
    pub collected: String,
}

/// A member of a staged part, as `seal_dataset` reads it back.
#[derive(Clone, Debug)]
pub struct PartMember {
    /// Relative path.
    pub path: Vec<u8>,
    /// The shard's row id.
    pub shard_id: i64,
    /// The shard's hash.
    pub hash: blake3::Hash,
    /// Its size.
    pub size: u64,
    /// Its records.
    pub records: u64,
    /// The part (K) it was staged by.
    pub part: i64,
}

/// Sealing's checks on the staged parts of `d` (by part; `sealed`: the version is already
/// published): some parts, all of the same N, parts 1..N all there, one org and date.
pub fn check_staged_parts(
    d: &DatasetRef,
    sealed: bool,
    parts: &[StagedPartRow],
) -> Result<(), RegistryError> {
    let conflict = |m: String| Err(RegistryError::Conflict(m));
    if sealed {
        return conflict(format!("dataset {d} is already registered (sealed)"));
    }
    let Some(first) = parts.first() else {
        return conflict(format!(
            "dataset {d} has no staged parts; scan each slice with --partition K/N first"
        ));
    };
    let n = first.parts;
    if let Some(p) = parts.iter().find(|p| p.parts != n) {
        return conflict(format!(
            "dataset {d}: part {}/{} and part {}/{} disagree on the number of parts",
            first.part, first.parts, p.part, p.parts
        ));
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| !parts.iter().any(|p| p.part == *k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return conflict(format!(
            "dataset {d}: part {} missing (staged: {}); scan it with --partition",
            missing.join(", "),
            parts
                .iter()
                .map(|p| format!("{}/{n}", p.part))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(p) = parts[1..]
        .iter()
        .find(|p| p.org != first.org || p.collected != first.collected)
    {
        return conflict(format!(
            "dataset {d}: part {}/{n} (org {}, collected {}) and part {}/{n} (org {}, collected {}) disagree; re-scan with the same --org and --collected",
            first.part,
            first.org.as_deref().unwrap_or("-"),
            first.collected,
            p.part,
            p.org.as_deref().unwrap_or("-"),
            p.collected
        ));
    }
    Ok(())
}

/// The `--derived-from` parents (ids) every staged part was scanned with, which must agree;
/// `parents` in the order of `parts`.
pub fn same_parents(
    d: &DatasetRef,
    parts: &[StagedPartRow],
    parents: Vec<Vec<i64>>,
) -> Result<Vec<i64>, RegistryError> {
    let mut agreed: Option<Vec<i64>> = None;
    for (p, ids) in parts.iter().zip(parents) {
        match &agreed {
            Some(q) if *q != ids => {
                return Err(RegistryError::Conflict(format!(
                    "dataset {d}: part {}/{n} was scanned with other --derived-from parents than part {}/{n}",
                    p.part,
                    parts[0].part,
                    n = p.parts
                )));
            }
            _ => agreed = Some(ids),
        }
    }
    Ok(agreed.unwrap_or_default())
}

/// The version sealing publishes from its parts' `members` (sorted here by path): no path
/// in two parts, the root hash over all of them as a single scan computes it.
pub fn sealed_info(
    d: &DatasetRef,
    parts: &[StagedPartRow],
    members: &mut [PartMember],
) -> Result<DatasetInfo, RegistryError> {
    let first = &parts[0];
    let n = first.parts;
    members.sort_by(|a, b| (&a.path, a.part).cmp(&(&b.path, b.part)));
    if let Some(w) = members.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(RegistryError::Conflict(format!(
            "dataset {d}: path {} is in part {}/{n} and part {}/{n}; were the parts scanned from different trees?",
            String::from_utf8_lossy(&w[0].path),
            w[0].part,
            w[1].part
        )));
    }
    Ok(DatasetInfo {
        dataset: d.clone(),
        org: first.org.clone(),
        collected: first
            .collected
            .parse()
            .map_err(|e: String| RegistryError::Conflict(format!("dataset {d}: {e}")))?,
        root: crate::digest::root_hash(members.iter().map(|m| (m.path.as_slice(), &m.hash))),
        files: members.len() as u64,
        bytes: members.iter().map(|m| m.size).sum(),
        records: members.iter().map(|m| m.records).sum(),
        parents: Vec::new(),
    })
}

/// A scan's members as (path, shard id), as the backends write them.
pub fn member_rows<'a>(members: &'a [Member], shard_ids: &[i64]) -> Vec<(&'a [u8], i64)> {
    members
        .iter()
        .zip(shard_ids)
        .map(|(m, id)| (m.path.as_slice(), *id))
        .collect()
}

/// The `dup` mark of each member of one dataset version (`members` as (path, shard id)):
/// set on every member holding a shard that a member with a smaller path already holds.
pub fn dup_flags<'a>(members: impl Iterator<Item = (&'a [u8], i64)>) -> Vec<bool> {
    let members: Vec<(&[u8], i64)> = members.collect();
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by(|&a, &b| members[a].0.cmp(members[b].0));
    let mut seen = std::collections::HashSet::with_capacity(members.len());
    let mut dup = vec![false; members.len()];
    for k in order {
        dup[k] = !seen.insert(members[k].1);
    }
    dup
}

/// Names what differs between a stored member list and a new one, for the one-line error
/// of a re-scan with different content: `changed: a, b; added: c; removed: d`.
pub fn describe_changes(old: &[(Vec<u8>, blake3::Hash)], new: &[Member]) -> String {
    let old: HashMap<&[u8], &blake3::Hash> = old.iter().map(|(p, h)| (p.as_slice(), h)).collect();
    let new_map: HashMap<&[u8], &blake3::Hash> = new
        .iter()
        .map(|m| (m.path.as_slice(), &m.shard.hash))
        .collect();
    let show = |p: &[u8]| String::from_utf8_lossy(p).into_owned();
    let mut changed = Vec::new();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for m in new {
        match old.get(m.path.as_slice()) {
            Some(h) if **h != m.shard.hash => changed.push(show(&m.path)),
            Some(_) => {}
            None => added.push(show(&m.path)),
        }
    }
    for p in old.keys() {
        if !new_map.contains_key(p) {
            removed.push(show(p));
        }
    }
    removed.sort();
    let list = |label: &str, v: &[String]| -> Option<String> {
        if v.is_empty() {
            return None;
        }
        const SHOWN: usize = 5;
        let mut s = format!("{label}: {}", v[..v.len().min(SHOWN)].join(", "));
        if v.len() > SHOWN {
            s.push_str(&format!(" and {} more", v.len() - SHOWN));
        }
        Some(s)
    };
    let parts: Vec<String> = [
        list("changed", &changed),
        list("added", &added),
        list("removed", &removed),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        "same files, different metadata".to_string()
    } else {
        parts.join("; ")
    }
}
