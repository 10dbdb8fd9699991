//! The registry: the [`Registry`] trait, and opening a backend by its location. All SQL
//! lives below this module; commands only see the trait. Each writing method is one
//! transaction that also appends its event to the hash chain, so a failure leaves nothing
//! behind.
//!
//! Layout: `model` (what is stored), `error`, `rules` (pure checks), `copy` (`registry
//! copy`); the workflows `write` and `read`, written once against `conn::Conn`; `backend`
//! (how a backend becomes a [`Registry`]); `sqlite` and `postgres` (connecting, migrations,
//! value conversion, locking, bulk paths).

/// The ordered migrations of a backend, the files `{dir}NNNN_*.sql` (relative to the file
/// naming them): migration `i` takes the schema from version `i` to `i + 1`. One list for
/// both backends, so that they number their schemas alike.
macro_rules! migrations {
    ($dir:literal) => {
        [
            include_str!(concat!($dir, "0001_init.sql")),
            include_str!(concat!($dir, "0002_scan_state.sql")),
            include_str!(concat!($dir, "0003_parts.sql")),
            include_str!(concat!($dir, "0004_first_member.sql")),
            include_str!(concat!($dir, "0005_application_uses.sql")),
            include_str!(concat!($dir, "0006_retractions.sql")),
            include_str!(concat!($dir, "0007_record_prints.sql")),
            include_str!(concat!($dir, "0008_optout.sql")),
            include_str!(concat!($dir, "0009_declarations.sql")),
        ]
    };
}

/// The schema version this provtrack writes, on either backend.
pub const SCHEMA_VERSION: i64 = migrations!("migrations/").len() as i64;

mod backend;
mod card;
mod conn;
mod copy;
mod error;
mod model;
mod optout;
#[cfg(feature = "postgres")]
mod postgres;
mod read;
mod rules;
mod shards;
mod sqlite;
pub mod state;
mod write;

use std::collections::HashMap;

use crate::licence::Licence;
use crate::types::DatasetRef;

pub use crate::values::{
    Application, Attribution, Cap, Disclosure, Grant, Method, Policy, Shard, Source, Subject,
    TrainingRun, VolumeRow, ser_hash,
};
pub use copy::{Copied, ExportedTable, GENERATED_IDS, TABLES, Value, check_table, copy};
pub use error::RegistryError;
pub use model::*;
pub use optout::DatasetHosts;
#[cfg(feature = "postgres")]
pub use postgres::PgRegistry;
pub use rules::*;
pub use sqlite::SqliteRegistry;

/// The storage contract. Every method is atomic; writers append their event in the same
/// transaction.
pub trait Registry {
    /// Upserts everything in the policy; never deletes.
    fn apply_policy(&mut self, policy: &Policy, event: &EventDraft) -> Result<(), RegistryError>;
    /// Stores a dataset version with the scanner's state, or reports it unchanged when the
    /// same version with the same root hash exists (a different root hash is
    /// [`RegistryError::DatasetChanged`]); either way answers what the registry then holds
    /// of it. A shard already stored keeps its attributions (the new ones are added) and the
    /// smaller of the two unattributed counts: same bytes, same provenance.
    fn register_dataset(
        &mut self,
        ds: &NewDataset,
        event: &EventDraft,
    ) -> Result<Registered, RegistryError>;
    /// Stages part `part` = (K, N) of a partitioned scan (`root_hash` over this part's
    /// members only): invisible to queries until the version is sealed.
    fn stage_part(
        &mut self,
        ds: &NewDataset,
        part: (u32, u32),
        event: &EventDraft,
    ) -> Result<Registered, RegistryError>;
    /// Publishes a version scanned in parts: checks that parts 1..N are all staged with the
    /// same N, org, collection date and parents and that no path is in two parts, then
    /// stores the version with the root hash over all members, removes the staged parts and
    /// appends the event `event` makes of it, in one transaction. Any inconsistency is an
    /// error naming the part.
    fn seal_dataset(
        &mut self,
        dataset: &DatasetRef,
        event: &dyn Fn(&DatasetInfo) -> EventDraft,
    ) -> Result<DatasetInfo, RegistryError>;
    /// Upserts one training run.
    fn record_training(
        &mut self,
        run: &TrainingRun,
        event: &EventDraft,
    ) -> Result<(), RegistryError>;
    /// Registers what a dataset card declares: the source (when new), its unknown licences
    /// (when new), the grants, and the declared attribution of the named members' content
    /// that no source claims yet (same bytes, same provenance: it holds wherever the shard
    /// appears). An unregistered dataset is [`RegistryError::UnknownDataset`]; nothing
    /// changes.
    fn import_card(
        &mut self,
        card: &CardImport,
        event: &EventDraft,
    ) -> Result<CardAttributed, RegistryError>;
    /// Withdraws the registered version `dataset` for `reason`: it stays (rows, members,
    /// history) but leaves every count and verdict, and appends `event`. A version that is
    /// not registered is [`RegistryError::UnknownDataset`], one already retracted
    /// [`RegistryError::AlreadyRetracted`], one a training run, a disclosure or a derived
    /// version names [`RegistryError::RetractionRefused`]; nothing changes.
    fn retract_dataset(
        &mut self,
        dataset: &DatasetRef,
        reason: &str,
        event: &EventDraft,
    ) -> Result<Retraction, RegistryError>;
    /// Appends one event on its own (a gate's verdict).
    fn record_event(&mut self, event: &EventDraft) -> Result<(), RegistryError>;
    /// Replaces the scanner's saved state for the directory `dir` (canonical path bytes).
    fn store_scan_state(&mut self, dir: &[u8], state: &[u8]) -> Result<(), RegistryError>;
    /// Stores exported tables verbatim (ids, times, event hashes) in one transaction, into a
    /// registry that holds nothing yet (else [`RegistryError::NotEmpty`]).
    fn import_tables(&mut self, tables: &[ExportedTable<'_>]) -> Result<(), RegistryError>;

    /// What a scan of `dir` needs, read in one pass: the sources, the saved state, the
    /// version `dataset` when registered (with its totals), and the sources of the parents'
    /// content. An unregistered parent is [`RegistryError::UnknownParent`].
    fn scan_context(
        &self,
        dataset: Option<&DatasetRef>,
        parents: &[DatasetRef],
        dir: &[u8],
    ) -> Result<ScanContext, RegistryError>;
    /// The digests of the tables a state root covers, as the rows are now.
    fn state(&self) -> Result<state::State, RegistryError>;
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
    /// A version's content per source with its digest shard by shard, as events record it
    /// ([`state::digested`]); `None` for an unregistered version.
    fn version_totals(&self, r: &DatasetRef) -> Result<Option<DatasetTotals>, RegistryError>;
    /// [`Registry::dataset`] and [`Registry::dataset_usage`] of many versions at once (a
    /// report reads every trained version's); the unregistered ones are left out. A backend
    /// that pays a round trip per query answers in one pass.
    fn datasets_usage(
        &self,
        refs: &[DatasetRef],
    ) -> Result<HashMap<DatasetRef, (DatasetInfo, Vec<SourceUsage>)>, RegistryError>;
    /// For caps: per (source, org), each distinct shard holding the source's content in the
    /// org's versions, with the records of the source in it and its earliest collection
    /// date by that org, in no particular order. Versions with no org are left out.
    fn cap_volumes(
        &self,
        sources: &[String],
    ) -> Result<HashMap<(String, String), Vec<VolumeRow>>, RegistryError>;
    /// The staged parts of a version: (part, of N, files).
    fn staged_parts(&self, dataset: &DatasetRef) -> Result<Vec<(u32, u32, u64)>, RegistryError>;
    /// Datasets holding the shard with this hash, and the sources it is attributed to;
    /// `None` when no such shard is registered.
    fn shard_links(&self, hash: &blake3::Hash) -> Result<Option<ShardLinks>, RegistryError>;
    /// Stored print sets of `kind`: of every shard, or with `within`, of those versions'
    /// members only (each unregistered or retracted one is an error).
    fn print_sets(
        &self,
        kind: crate::prints::Kind,
        within: &[DatasetRef],
    ) -> Result<Vec<StoredPrints>, RegistryError>;
    /// The live (published, not retracted) versions holding each of these shards, as
    /// (shard id, version) pairs.
    fn shard_versions(&self, shards: &[i64]) -> Result<Vec<(i64, DatasetRef)>, RegistryError>;
    /// Registered shard hashes starting with the bytes `prefix` (as `dataset show` prints
    /// hashes shortened), in hash order, at most `limit`.
    fn shards_with_prefix(
        &self,
        prefix: &[u8],
        limit: u64,
    ) -> Result<Vec<blake3::Hash>, RegistryError>;
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
    /// Stores rights reservations and appends `event`; the same (host, date, protocol,
    /// path) already stored is kept. Answers how many were new.
    fn import_optouts(
        &mut self,
        rows: &[crate::rights::Reservation],
        event: &EventDraft,
    ) -> Result<u64, RegistryError>;
    /// Every reservation, by host, date, protocol and path.
    fn optouts(&self) -> Result<Vec<crate::rights::Reservation>, RegistryError>;
    /// The policy's crawlers, by id.
    fn crawlers(&self) -> Result<Vec<crate::rights::Crawler>, RegistryError>;
    /// Declared source kinds, by source.
    fn source_kinds(&self) -> Result<Vec<(String, crate::rights::SourceKind)>, RegistryError>;
    /// A version's records per URL host; `None` when it is not registered.
    fn dataset_hosts(&self, r: &DatasetRef) -> Result<Option<DatasetHosts>, RegistryError>;
}

/// `location` as it may be shown: a PostgreSQL URL without its password.
pub fn display(location: &str) -> String {
    if is_postgres(location) {
        redact(location)
    } else {
        location.to_string()
    }
}

/// `postgres://user:secret@host/db` shown as `postgres://user@host/db`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(k) => rest.split_at(k),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => format!("{}@{host}", user.split(':').next().unwrap_or("")),
        None => authority.to_string(),
    };
    // A password can also be a query parameter.
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| {
                    if kv.starts_with("password=") {
                        "password=***".to_string()
                    } else {
                        kv.to_string()
                    }
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Whether `location` names a PostgreSQL registry rather than a SQLite file.
pub fn is_postgres(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// Opens the registry at `location` for a command that must not create one: a SQLite file
/// that does not exist, or a PostgreSQL database without the schema, is
/// [`RegistryError::Missing`] and nothing is created. An existing one is migrated.
pub fn open_existing(location: &str) -> Result<Box<dyn Registry>, RegistryError> {
    if is_postgres(location) {
        #[cfg(feature = "postgres")]
        return Ok(Box::new(PgRegistry::open_with(location, false)?));
    } else if !std::path::Path::new(location).exists() {
        return Err(RegistryError::Missing {
            location: location.to_string(),
        });
    }
    open(location)
}

/// Opens (creating and migrating if needed) the registry at `location`: a
/// `postgres://`/`postgresql://` URL for PostgreSQL, else a SQLite file path.
pub fn open(location: &str) -> Result<Box<dyn Registry>, RegistryError> {
    if is_postgres(location) {
        #[cfg(feature = "postgres")]
        return Ok(Box::new(PgRegistry::open(location)?));
        #[cfg(not(feature = "postgres"))]
        return Err(RegistryError::Unsupported {
            location: redact(location),
            why: "this provtrack was built without PostgreSQL support (cargo feature `postgres`)"
                .into(),
        });
    }
    Ok(Box::new(SqliteRegistry::open(std::path::Path::new(
        location,
    ))?))
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://alice:s3cret@db.example:5432/reg?sslmode=require"),
            "postgres://alice@db.example:5432/reg?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://bob@localhost/reg?password=hunter2&sslmode=disable"),
            "postgresql://bob@localhost/reg?password=***&sslmode=disable"
        );
        assert_eq!(
            redact("postgres:///reg?host=/tmp"),
            "postgres:///reg?host=/tmp"
        );
        assert_eq!(
            redact("postgres://a:b:c@h/d"),
            "postgres://a@h/d",
            "a colon in the password"
        );
    }
}
