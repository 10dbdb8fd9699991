//! The storage models: what the registry stores and answers with (datasets, members,
//! usage, events, card imports), beside the plain values of [`crate::values`].

use serde::Serialize;

use super::{Attribution, Grant, RegistryError, Shard, Source, VolumeRow, ser_hash};
use crate::licence::Licence;
use crate::types::{DatasetRef, Date};

/// Per-source totals over a dataset's member paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatasetTotals {
    /// Source id → (records, bytes).
    pub sources: std::collections::BTreeMap<String, (u64, u64)>,
    /// Records attributed to no source.
    pub unattributed_records: u64,
    /// A digest of its content shard by shard (see [`super::state::content_digest`]), where
    /// an event records it; `None` where only the sums were read.
    pub content: Option<String>,
}

/// One path of a dataset version and its shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Path relative to the scanned directory, raw bytes, `/`-separated.
    pub path: Vec<u8>,
    /// The shard.
    pub shard: Shard,
    /// What its bytes showed: attributions by URL or record print. Stored with the shard,
    /// so known to every version holding the same bytes.
    pub attributions: Vec<Attribution>,
    /// What the scan declared of the content left unattributed (`--source`, or the
    /// parents' sources): all of it to each source named. Stored for this version only.
    pub declared: Vec<Attribution>,
    /// Its records' prints, one stored set per (kind, source).
    pub prints: Vec<PrintSet>,
    /// Its records per URL host, when the reader measured them (stored with the shard).
    pub hosts: Option<crate::hosts::HostCounts>,
}

impl Member {
    /// Its content per source as this version holds it: observed, then declared.
    pub fn content(&self) -> impl Iterator<Item = &Attribution> {
        self.attributions.iter().chain(&self.declared)
    }

    /// Records this version holds with no source (none once something was declared).
    pub fn unattributed_records(&self) -> u64 {
        if self.declared.is_empty() {
            self.shard.unattributed_records
        } else {
            0
        }
    }
}

/// One stored set of record prints ([`crate::prints`]): a shard's records of one kind and
/// source (`None`: no source), Rice-coded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintSet {
    /// What was printed.
    pub kind: crate::prints::Kind,
    /// Whose records these are.
    pub source: Option<String>,
    /// Records printed (duplicates included; the set holds each print once).
    pub records: u64,
    /// The encoded set.
    pub blob: Vec<u8>,
}

/// A stored print set with the shard it belongs to, as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPrints {
    /// The shard's id.
    pub shard: i64,
    /// The set.
    pub set: PrintSet,
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
}

/// What a scan reads from the registry before it starts, in one pass.
#[derive(Clone, Debug, Default)]
pub struct ScanContext {
    /// All sources, by id.
    pub sources: Vec<Source>,
    /// The scanner's saved state for the directory.
    pub state: Option<Vec<u8>>,
    /// The version being scanned, when registered, with its totals.
    pub existing: Option<(DatasetInfo, DatasetTotals)>,
    /// The sources of the `--derived-from` parents' content, sorted.
    pub parent_sources: Vec<String>,
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
    /// Set when the version was withdrawn by `dataset retract`: it stays in history but
    /// leaves every count and verdict.
    pub retracted: Option<Retraction>,
}

impl DatasetInfo {
    /// Nothing for a version that counts; [`RegistryError::Retracted`] for one withdrawn by
    /// `dataset retract`, which nothing may be asked of (report, gate, export, scan into).
    pub fn live(&self) -> Result<(), RegistryError> {
        match &self.retracted {
            Some(r) => Err(RegistryError::Retracted {
                dataset: self.dataset.clone(),
                reason: r.reason.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// Why and when a dataset version was retracted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Retraction {
    /// The reason given.
    pub reason: String,
    /// When (RFC 3339, UTC).
    pub time: String,
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
    /// Sources its bytes showed, by id.
    pub sources: Vec<String>,
    /// Sources a version declared for its unattributed content: (version, source), by
    /// version. A declaration holds for the version that made it only.
    pub declared: Vec<(DatasetRef, String)>,
}

/// A registered shard's attributed and unattributed content.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KnownShard {
    /// What its bytes showed: (source, records, bytes), by source.
    pub sources: Vec<(String, u64, u64)>,
    /// Records its bytes attributed to no source.
    pub unattributed_records: u64,
    /// Their bytes.
    pub unattributed_bytes: u64,
    /// What live versions holding it declared of that unattributed content: (version,
    /// source), by version. A declaration holds for its version only: `gate DIR` names
    /// these versions, it does not apply them.
    pub declared: Vec<(DatasetRef, String)>,
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

/// What registering (or staging) a dataset did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registered {
    /// A new version was stored.
    Created {
        /// Shards already registered whose stored attributions add to what this scan found
        /// (same bytes, same provenance).
        inherited_shards: u64,
        /// What the registry now holds of the version, per source.
        totals: DatasetTotals,
    },
    /// The same version (or part) with identical content was already there; nothing
    /// changed.
    Unchanged {
        /// What the registry holds of the version (nothing for a staged part).
        totals: DatasetTotals,
    },
    /// A part of a partitioned scan was staged.
    Staged {
        /// As for `Created`.
        inherited_shards: u64,
    },
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
