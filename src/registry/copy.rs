//! `registry copy`: every table as rows of [`Value`]s, read from one backend and written
//! verbatim into another, empty one.

use serde::Serialize;

use super::{Registry, RegistryError};

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
    (
        "declarations",
        &["dataset_id", "shard_id", "source_id", "method"],
    ),
    (
        "record_prints",
        &["shard_id", "kind", "source_id", "records", "prints"],
    ),
    ("training_runs", &["model", "org", "date"]),
    ("training_datasets", &["model", "dataset"]),
    ("training_uses", &["model", "use_name"]),
    ("applications", &["id", "org", "disclosed"]),
    ("application_models", &["application_id", "model"]),
    ("application_uses", &["application_id", "use_name"]),
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
    ("retractions", &["dataset_id", "reason", "time"]),
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
    (
        "dataset_part_declarations",
        &["part_id", "shard_id", "source_id", "method"],
    ),
    ("shard_hosts", &["shard_id", "host", "records", "bytes"]),
    ("crawlers", &["id", "user_agents"]),
    ("source_kinds", &["source_id", "kind"]),
    (
        "optouts",
        &["id", "host", "date", "protocol", "path", "body", "origin"],
    ),
];

/// Tables whose integer `id` is generated: after a copy the generator continues past the
/// copied ids.
pub const GENERATED_IDS: &[&str] = &[
    "datasets",
    "shards",
    "scan_state",
    "dataset_parts",
    "optouts",
];

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
        return Err(RegistryError::ChainHeadDiffers {
            copy: b.unwrap_or_default(),
            original: a.unwrap_or_default(),
        });
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
        Err(RegistryError::UnknownTable(table.to_string()))
    }
}
