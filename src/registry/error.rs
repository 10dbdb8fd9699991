//! [`RegistryError`]: every way a registry read or write fails or is refused, each
//! printed on one line.

use crate::types::DatasetRef;

/// A registry result.
pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

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
    /// A reading command named a registry that does not exist (no file, or a database
    /// without provtrack's schema): nothing is created, so a typo never answers "0 findings".
    #[error("{location}: no registry here; create it with `provtrack init` or `provtrack apply`")]
    Missing {
        /// Where.
        location: String,
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
    /// A policy gives a source a URL domain another source already has.
    #[error("domain '{domain}' of source '{source_id}' already belongs to source '{owner}'")]
    DomainTaken {
        /// The domain.
        domain: String,
        /// The source the policy gives it to.
        source_id: String,
        /// The source that has it.
        owner: String,
    },
    /// Content attributed to a source no policy declared.
    #[error("unknown source '{0}' (declare it in a policy file and `provtrack apply` it)")]
    UnknownSource(String),
    /// A write about a dataset version that is not registered.
    #[error("dataset {0} is not registered")]
    UnknownDataset(DatasetRef),
    /// A `--derived-from` parent that is not registered.
    #[error("parent dataset {0} is not registered")]
    UnknownParent(DatasetRef),
    /// A write about a version that was retracted (a scan of it, a parent, a card).
    #[error(
        "dataset {dataset} is retracted ({reason}): it is left out of every count and verdict; use or scan a new version"
    )]
    Retracted {
        /// The version.
        dataset: DatasetRef,
        /// The reason it was retracted for.
        reason: String,
    },
    /// A second retraction of one version.
    #[error("dataset {dataset} is already retracted ({reason})")]
    AlreadyRetracted {
        /// The version.
        dataset: DatasetRef,
        /// The reason it was retracted for.
        reason: String,
    },
    /// A retraction of a version that records still rely on: retracting it would make
    /// their findings disappear.
    #[error(
        "dataset {dataset} cannot be retracted: {users}; a version something was trained on, shared or derived from stays counted"
    )]
    RetractionRefused {
        /// The version.
        dataset: DatasetRef,
        /// What relies on it, e.g. `trained on by acme-chat-1`.
        users: String,
    },
    /// A re-scan of a registered version found other content.
    #[error(
        "dataset {dataset} is already registered with different content ({changes}); scan it as a new version"
    )]
    DatasetChanged {
        /// The version.
        dataset: DatasetRef,
        /// What differs (see [`super::describe_changes`]).
        changes: String,
    },
    /// A part staged for a version already published.
    #[error("dataset {0} is already registered (sealed); scan the parts of a new version")]
    StagingSealed(DatasetRef),
    /// A seal of a version already published.
    #[error("dataset {0} is already registered (sealed)")]
    AlreadySealed(DatasetRef),
    /// A part of K/N where the staged parts say another N.
    #[error(
        "dataset {dataset} is being scanned in {parts} parts (part {staged}/{parts} is staged), not {asked}: use --partition K/{parts}"
    )]
    PartCountDiffers {
        /// The version.
        dataset: DatasetRef,
        /// A staged part's K.
        staged: i64,
        /// The staged parts' N.
        parts: i64,
        /// The N asked for.
        asked: u32,
    },
    /// A part staged again with other content.
    #[error(
        "part {part}/{parts} of dataset {dataset} is already staged with different content; scan the parts of a new version"
    )]
    PartChanged {
        /// The version.
        dataset: DatasetRef,
        /// K.
        part: u32,
        /// N.
        parts: u32,
    },
    /// A seal with nothing staged.
    #[error("dataset {0} has no staged parts; scan each slice with --partition K/N first")]
    NoStagedParts(DatasetRef),
    /// Staged parts of one version that say different N.
    #[error(
        "dataset {dataset}: part {}/{} and part {}/{} disagree on the number of parts",
        first.0, first.1, other.0, other.1
    )]
    PartCountsDisagree {
        /// The version.
        dataset: DatasetRef,
        /// The first part, as K/N.
        first: (i64, i64),
        /// One that disagrees, as K/N.
        other: (i64, i64),
    },
    /// A seal with parts missing.
    #[error(
        "dataset {dataset}: part {missing} missing (staged: {staged}); scan it with --partition"
    )]
    PartMissing {
        /// The version.
        dataset: DatasetRef,
        /// The missing parts, as `K/N, …`.
        missing: String,
        /// The staged ones, as `K/N, …`.
        staged: String,
    },
    /// Staged parts scanned with another org or collection date.
    #[error(
        "dataset {dataset}: part {}/{parts} (org {}, collected {}) and part {}/{parts} (org {}, collected {}) disagree; re-scan with the same --org and --collected",
        first.0, first.1, first.2, other.0, other.1, other.2
    )]
    PartsDisagree {
        /// The version.
        dataset: DatasetRef,
        /// N.
        parts: i64,
        /// The first part: K, org (`-` for none), collection date.
        first: Box<(i64, String, String)>,
        /// One that disagrees, alike.
        other: Box<(i64, String, String)>,
    },
    /// Staged parts scanned with other `--derived-from` parents.
    #[error(
        "dataset {dataset}: part {part}/{parts} was scanned with other --derived-from parents than part {first}/{parts}"
    )]
    PartParentsDisagree {
        /// The version.
        dataset: DatasetRef,
        /// The part that disagrees (K).
        part: i64,
        /// The first part (K).
        first: i64,
        /// N.
        parts: i64,
    },
    /// A path staged by two parts.
    #[error(
        "dataset {dataset}: path {path} is in part {first}/{parts} and part {other}/{parts}; were the parts scanned from different trees?"
    )]
    PathInTwoParts {
        /// The version.
        dataset: DatasetRef,
        /// The path, lossily shown.
        path: String,
        /// One part (K).
        first: i64,
        /// The other (K).
        other: i64,
        /// N.
        parts: i64,
    },
    /// A staged part whose stored collection date does not parse.
    #[error("dataset {dataset}: {why}")]
    BadStagedDate {
        /// The version.
        dataset: DatasetRef,
        /// Why.
        why: String,
    },
    /// `registry copy` into a registry that holds data.
    #[error("registry {location} already holds data; copy into a new, empty registry")]
    NotEmpty {
        /// Where.
        location: String,
    },
    /// `registry copy` ended with two different chain heads.
    #[error("the copy's chain head {copy} differs from the original's {original}")]
    ChainHeadDiffers {
        /// The copy's head hash.
        copy: String,
        /// The original's.
        original: String,
    },
    /// Stored data that does not decode (record prints), or that cannot be held.
    #[error("registry data refused: {0}")]
    Damaged(String),
    /// A table or column list not in [`super::TABLES`].
    #[error("unknown table or columns: {0}")]
    UnknownTable(String),
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

impl RegistryError {
    /// Whether a registry at schema version `found` must be migrated to `known`; one newer
    /// than this provtrack is refused.
    pub fn older_schema(location: &str, found: i64, known: i64) -> Result<bool> {
        if found > known {
            return Err(RegistryError::TooNew {
                location: location.to_string(),
                found,
                known,
            });
        }
        Ok(found < known)
    }

    /// A database (`what`) that holds another program's tables.
    pub fn foreign(location: &str, what: &str) -> RegistryError {
        RegistryError::NotARegistry {
            location: location.to_string(),
            why: format!("{what} with tables of another program"),
        }
    }
}
