//! The plain value types every layer shares, above dates and references: sources, grants
//! and their caps, training runs, applications, disclosures, a validated policy, shards and
//! their attributions, and the volume rows caps are counted over. Ground floor: storage
//! stores them, ingest builds them, rules judge them; none of those is imported here.

use serde::Serialize;

use crate::licence::Licence;
use crate::types::{DatasetRef, Date, Period};

/// A platform or publisher that content comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Source {
    /// Short id (`twitter`).
    pub id: String,
    /// Human name.
    pub name: String,
    /// URL domains whose records belong to it (sub-domains included).
    pub domains: Vec<String>,
}

/// A volume cap on a grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Cap {
    /// Records allowed per period.
    pub records: u64,
    /// The period.
    #[serde(serialize_with = "ser_period")]
    pub per: Period,
}

fn ser_period<S: serde::Serializer>(p: &Period, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.as_str())
}

/// A source's content licensed to a grantee (or `*`) under a licence, for a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Grant {
    /// Stable id (given, or `source:licence:grantee:from`).
    pub id: String,
    /// The source.
    pub source: String,
    /// The licence id.
    pub licence: String,
    /// The grantee org, or `*`.
    pub grantee: String,
    /// First valid day (inclusive).
    pub from: Date,
    /// First day no longer valid (exclusive); `None` is open-ended.
    pub until: Option<Date>,
    /// Optional volume cap.
    pub cap: Option<Cap>,
}

/// A model trained by an org on datasets for uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrainingRun {
    /// Model name (unique).
    pub model: String,
    /// Org that trained it.
    pub org: String,
    /// Training date.
    pub date: Date,
    /// Datasets trained on.
    pub datasets: Vec<DatasetRef>,
    /// Uses (always includes `ai-training`).
    pub uses: Vec<String>,
}

/// A product of an org that uses models.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Application {
    /// Application id.
    pub id: String,
    /// Owning org.
    pub org: String,
    /// Models it uses.
    pub models: Vec<String>,
    /// What it puts them to (`advertising`, `search`, …): uses of the vocabulary.
    pub uses: Vec<String>,
    /// False when not disclosed to the source owners.
    pub disclosed: bool,
}

/// What a disclosure shared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subject {
    /// A dataset version.
    Dataset(DatasetRef),
    /// All content of a source.
    Source(String),
}

/// Content shared with a recipient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Disclosure {
    /// Stable id (given, or derived from subject, recipient and date).
    pub id: String,
    /// What was shared.
    pub subject: Subject,
    /// Who received it.
    pub recipient: String,
    /// `government`, `partner` or `public`.
    pub kind: String,
    /// When.
    pub date: Date,
    /// The sharing org (defaults to the dataset's owner).
    pub org: Option<String>,
}

/// Everything a policy file declares, validated (an `apply` event carries it, canonical).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// Sources.
    pub sources: Vec<Source>,
    /// Licences (override built-ins by id).
    pub licences: Vec<Licence>,
    /// Grants.
    pub grants: Vec<Grant>,
    /// Training runs.
    pub training: Vec<TrainingRun>,
    /// Applications.
    pub applications: Vec<Application>,
    /// Disclosures.
    pub disclosures: Vec<Disclosure>,
}

/// How an attribution was known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Declared with `scan --source`.
    Declared,
    /// From record URLs.
    Url,
    /// The same shard hash was already attributed, or a parent dataset's.
    Inherited,
    /// A record with no URL whose text print matched registered records of the source.
    Fingerprint,
}

impl Method {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Declared => "declared",
            Method::Url => "url",
            Method::Inherited => "inherited",
            Method::Fingerprint => "fingerprint",
        }
    }
}

/// A shard's content attributed to one source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// The source id.
    pub source: String,
    /// Records from it.
    pub records: u64,
    /// Uncompressed bytes of those records.
    pub bytes: u64,
    /// How it was known.
    pub method: Method,
}

/// One file's fingerprint and content facts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Shard {
    /// BLAKE3 of the file's bytes.
    #[serde(serialize_with = "ser_hash")]
    pub hash: blake3::Hash,
    /// File size in bytes.
    pub size: u64,
    /// Detected format (`jsonl`, `jsonl.gz`, `binary`).
    pub format: String,
    /// Records counted (a non-record file is one record).
    pub records: u64,
    /// Records attributed to no source.
    pub unattributed_records: u64,
    /// Uncompressed bytes of those records.
    pub unattributed_bytes: u64,
    /// Malformed records (counted in `records`, unattributed unless declared).
    pub malformed: u64,
    /// A stream problem (corrupt compression), if any.
    pub problem: Option<String>,
}

/// Serialises a BLAKE3 hash as lowercase hex.
pub fn ser_hash<S: serde::Serializer>(h: &blake3::Hash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(h.to_hex().as_str())
}

/// One distinct shard's records of a source in a dataset owned by an org, for caps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeRow {
    /// When the dataset was collected.
    pub collected: Date,
    /// The shard.
    pub shard: blake3::Hash,
    /// Records of the source in it.
    pub records: u64,
}
