//! The SQLite backend: one file, WAL mode, foreign keys on, a busy timeout, schema versioned
//! by `PRAGMA user_version` and migrated forward in one transaction on open. The only file
//! that speaks SQL to SQLite.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{
    Application, Cap, CardAttributed, CardImport, ContentRow, DatasetInfo, DatasetTotals,
    Disclosure, Event, EventDraft, Grant, KnownShard, Member, NewDataset, Policy, Registered,
    Registry, RegistryError, Shard, ShardLinks, Source, SourceUsage, StoredMember, Subject,
    TrainingRun,
};
use super::{ExportedTable, PartMember, StagedPartRow, Value, check_table};
use crate::events;
use crate::licence::Licence;
use crate::types::{DatasetRef, Date, utc_now_rfc3339};

/// Ordered migrations; migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_scan_state.sql"),
    include_str!("migrations/0003_parts.sql"),
    include_str!("migrations/0004_first_member.sql"),
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// A registry in one SQLite file.
pub struct SqliteRegistry {
    conn: Connection,
    location: String,
    /// Why the file cannot be written, when it cannot.
    read_only: Option<String>,
}

/// Attaches the registry location and what we were doing to a rusqlite error.
trait Ctx<T> {
    fn ctx(self, location: &str, context: &str) -> Result<T, RegistryError>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn ctx(self, location: &str, context: &str) -> Result<T, RegistryError> {
        self.map_err(|e| RegistryError::Backend {
            location: location.to_string(),
            context: context.to_string(),
            source: Box::new(e),
        })
    }
}

fn bad_value(col: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, what.into())
}

fn get_date(row: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<Date> {
    let s: String = row.get(col)?;
    s.parse().map_err(|e: String| bad_value(col, e))
}

fn get_hash(row: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<blake3::Hash> {
    let b: Vec<u8> = row.get(col)?;
    let arr: [u8; 32] = b
        .try_into()
        .map_err(|_| bad_value(col, "hash is not 32 bytes".into()))?;
    Ok(blake3::Hash::from_bytes(arr))
}

fn get_u64(row: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<u64> {
    let v: i64 = row.get(col)?;
    u64::try_from(v).map_err(|_| bad_value(col, format!("negative count {v}")))
}

fn get_dataset_ref(row: &rusqlite::Row<'_>, col: usize) -> rusqlite::Result<DatasetRef> {
    let s: String = row.get(col)?;
    s.parse().map_err(|e: String| bad_value(col, e))
}

fn i(v: u64) -> i64 {
    // Counts and sizes beyond i64::MAX (8 EiB) do not occur; saturate rather than wrap.
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SqliteRegistry {
    /// Opens or creates the registry file and migrates it to the current schema.
    pub fn open(path: &Path) -> Result<SqliteRegistry, RegistryError> {
        let location = path.display().to_string();
        check_header(path, &location)?;
        if let Some(why) = unwritable(path) {
            return SqliteRegistry::open_read_only(path, location, why);
        }
        let conn = Connection::open(path).ctx(&location, "open")?;
        let mut reg = SqliteRegistry {
            conn,
            location,
            read_only: None,
        };
        reg.configure()?;
        reg.migrate()?;
        Ok(reg)
    }

    /// Opens a registry that cannot be written, for reading. In WAL mode SQLite needs to
    /// create the `-shm` file beside it; where it cannot (a read-only file system) the file
    /// is opened as immutable, which is what it is for every process that can see it.
    fn open_read_only(
        path: &Path,
        location: String,
        why: String,
    ) -> Result<SqliteRegistry, RegistryError> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let plain = Connection::open_with_flags(path, flags).and_then(|c| {
            c.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
                .map(|_| c)
        });
        let conn = match plain {
            Ok(c) => c,
            Err(_) => {
                let uri = format!("file:{}?immutable=1", uri_path(path));
                Connection::open_with_flags(&uri, flags).ctx(&location, "open read-only")?
            }
        };
        conn.busy_timeout(Duration::from_secs(30))
            .ctx(&location, "set busy timeout")?;
        let reg = SqliteRegistry {
            conn,
            location,
            read_only: Some(why),
        };
        let version = reg.user_version()?;
        if version > SCHEMA_VERSION {
            return Err(RegistryError::TooNew {
                location: reg.location,
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version < SCHEMA_VERSION {
            let what = if version == 0 {
                "create the registry"
            } else {
                "migrate it to this provtrack's schema"
            };
            return Err(reg.refuse(what));
        }
        Ok(reg)
    }

    /// The error for a write to a read-only registry.
    fn refuse(&self, what: &str) -> RegistryError {
        RegistryError::ReadOnly {
            location: self.location.clone(),
            why: self.read_only.clone().unwrap_or_default(),
            what: what.into(),
        }
    }

    fn configure(&mut self) -> Result<(), RegistryError> {
        let loc = &self.location;
        self.conn
            .busy_timeout(Duration::from_secs(30))
            .ctx(loc, "set busy timeout")?;
        // journal_mode answers with a row, so it is queried rather than updated.
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| not_a_registry_or(loc, "enable WAL", e))?;
        if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
            return Err(RegistryError::Backend {
                location: loc.clone(),
                context: "enable WAL".into(),
                source: format!("journal mode stayed '{mode}'").into(),
            });
        }
        self.conn
            .execute_batch(
                "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;",
            )
            .ctx(loc, "set pragmas")?;
        Ok(())
    }

    fn migrate(&mut self) -> Result<(), RegistryError> {
        let loc = self.location.clone();
        let version = self.user_version()?;
        if version > SCHEMA_VERSION {
            return Err(RegistryError::TooNew {
                location: loc,
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx(&loc, "begin migration")?;
        // Another process may have migrated while we waited for the write lock.
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .ctx(&loc, "read schema version")?;
        if version == 0 {
            let objects: i64 = tx
                .query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get(0))
                .ctx(&loc, "inspect schema")?;
            if objects > 0 {
                return Err(RegistryError::NotARegistry {
                    location: loc,
                    why: "an SQLite database with tables of another program".into(),
                });
            }
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(sql)
                .ctx(&loc, &format!("apply migration {}", i + 1))?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .ctx(&loc, "set schema version")?;
        tx.commit().ctx(&loc, "commit migration")
    }

    fn user_version(&self) -> Result<i64, RegistryError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| not_a_registry_or(&self.location, "read schema version", e))
    }

    /// Begins a write transaction, taking the write lock at once. The busy timeout waits
    /// for other writers; SQLite can still answer `SQLITE_BUSY` without waiting (another
    /// connection recovering the WAL), so that is retried here for as long.
    fn write_tx(&mut self, what: &str) -> Result<Transaction<'_>, RegistryError> {
        if self.read_only.is_some() {
            return Err(self.refuse(what));
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut pause = Duration::from_millis(2);
        loop {
            let e = match Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate) {
                Ok(tx) => return Ok(tx),
                Err(e) => e,
            };
            match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::DatabaseBusy) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
                Some(rusqlite::ErrorCode::ReadOnly) => {
                    self.read_only = Some("the file or its directory cannot be written".into());
                    return Err(self.refuse(what));
                }
                _ => return Err(e).ctx(&self.location, "begin write"),
            }
        }
    }

    fn dataset_id(&self, r: &DatasetRef) -> Result<Option<i64>, RegistryError> {
        self.conn
            .query_row(
                "SELECT id FROM datasets WHERE name = ?1 AND version = ?2",
                params![r.name, r.version],
                |row| row.get(0),
            )
            .optional()
            .ctx(&self.location, "look up dataset")
    }

    fn dataset_parents(&self) -> Result<HashMap<i64, Vec<DatasetRef>>, RegistryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT p.dataset_id, d.name || '@' || d.version FROM dataset_parents p \
                 JOIN datasets d ON d.id = p.parent_id ORDER BY d.name, d.version",
            )
            .ctx(&self.location, "read dataset parents")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, get_dataset_ref(r, 1)?)))
            .ctx(&self.location, "read dataset parents")?;
        let mut out: HashMap<i64, Vec<DatasetRef>> = HashMap::new();
        for row in rows {
            let (id, p) = row.ctx(&self.location, "read dataset parents")?;
            out.entry(id).or_default().push(p);
        }
        Ok(out)
    }

    fn read_datasets(&self, filter: Option<i64>) -> Result<Vec<DatasetInfo>, RegistryError> {
        let loc = &self.location;
        let parents = self.dataset_parents()?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, name, version, org, collected, root_hash, files, bytes, records \
                 FROM datasets WHERE ?1 IS NULL OR id = ?1 ORDER BY name, version",
            )
            .ctx(loc, "read datasets")?;
        let rows = stmt
            .query_map([filter], |r| {
                let id: i64 = r.get(0)?;
                Ok(DatasetInfo {
                    dataset: DatasetRef {
                        name: r.get(1)?,
                        version: r.get(2)?,
                    },
                    org: r.get(3)?,
                    collected: get_date(r, 4)?,
                    root: get_hash(r, 5)?,
                    files: get_u64(r, 6)?,
                    bytes: get_u64(r, 7)?,
                    records: get_u64(r, 8)?,
                    parents: parents.get(&id).cloned().unwrap_or_default(),
                })
            })
            .ctx(loc, "read datasets")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .ctx(loc, "read datasets")
    }

    /// Reads (parent key, value) pairs and groups them by key.
    fn grouped(
        &self,
        sql: &str,
        what: &str,
    ) -> Result<HashMap<String, Vec<String>>, RegistryError> {
        let mut stmt = self.conn.prepare(sql).ctx(&self.location, what)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .ctx(&self.location, what)?;
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for row in rows {
            let (k, v) = row.ctx(&self.location, what)?;
            out.entry(k).or_default().push(v);
        }
        Ok(out)
    }
}

/// Why an existing registry file cannot be written, if it cannot: opened for writing (not
/// truncated, nothing written) to ask the file system itself, since permissions alone do
/// not tell (root ignores them; a read-only mount overrides them).
fn unwritable(path: &Path) -> Option<String> {
    if !path.exists() {
        return None;
    }
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => None,
        Err(e) if e.raw_os_error() == Some(30) => Some("read-only file system".into()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            Some("no write permission".into())
        }
        Err(e) if e.kind() == std::io::ErrorKind::ReadOnlyFilesystem => {
            Some("read-only file system".into())
        }
        Err(_) => None,
    }
}

/// `path` for an SQLite `file:` URI: characters with a meaning there are percent-encoded.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for b in crate::digest::rel_bytes(path) {
        match b {
            b'%' | b'?' | b'#' | b' ' => out.push_str(&format!("%{b:02X}")),
            0x80..=0xff | 0..=0x1f => out.push_str(&format!("%{b:02X}")),
            _ => out.push(b as char),
        }
    }
    out
}

/// Refuses a file that exists but is not an SQLite database before SQLite touches it.
fn check_header(path: &Path, location: &str) -> Result<(), RegistryError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(RegistryError::Backend {
                location: location.into(),
                context: "stat".into(),
                source: Box::new(e),
            });
        }
    };
    if meta.is_dir() {
        return Err(RegistryError::NotARegistry {
            location: location.into(),
            why: "it is a directory".into(),
        });
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let mut head = [0u8; 100];
    let n = std::fs::File::open(path)
        .and_then(|f| f.take(100).read(&mut head))
        .map_err(|e| RegistryError::Backend {
            location: location.into(),
            context: "read header".into(),
            source: Box::new(e),
        })?;
    if n < 16 || &head[..16] != SQLITE_MAGIC {
        return Err(RegistryError::NotARegistry {
            location: location.into(),
            why: "not an SQLite database".into(),
        });
    }
    let truncated = |why: String| RegistryError::NotARegistry {
        location: location.into(),
        why: format!("truncated or damaged: {why}; restore it from a copy"),
    };
    if n < 100 {
        return Err(truncated(format!(
            "{} bytes, shorter than its header",
            meta.len()
        )));
    }
    // The header's page size and page count (valid when the change counter matches) give the
    // size the file must have. A non-empty write-ahead log may still hold pages not yet
    // copied back, so the size is only checked without one.
    let page_size = match u16::from_be_bytes([head[16], head[17]]) {
        1 => 65536u64,
        p => u64::from(p),
    };
    if page_size < 512 || !page_size.is_power_of_two() {
        return Err(truncated(format!("page size {page_size} in its header")));
    }
    let wal = {
        let mut w = path.as_os_str().to_owned();
        w.push("-wal");
        std::fs::metadata(std::path::PathBuf::from(w)).map_or(0, |m| m.len())
    };
    let counter = &head[24..28];
    let valid_for = &head[92..96];
    let pages = u64::from(u32::from_be_bytes([head[28], head[29], head[30], head[31]]));
    if wal == 0 && counter == valid_for && pages > 0 && meta.len() < pages * page_size {
        return Err(truncated(format!(
            "{} bytes, its header says {pages} pages of {page_size} bytes ({} bytes)",
            meta.len(),
            pages * page_size
        )));
    }
    Ok(())
}

fn not_a_registry_or(location: &str, context: &str, e: rusqlite::Error) -> RegistryError {
    let corrupt = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt)
    );
    if corrupt {
        RegistryError::NotARegistry {
            location: location.into(),
            why: format!("unreadable database: {e}"),
        }
    } else {
        RegistryError::Backend {
            location: location.into(),
            context: context.into(),
            source: Box::new(e),
        }
    }
}

/// Stages part `k` of `n` of a version (see [`Registry::seal_dataset`]).
fn stage_part(
    tx: Transaction<'_>,
    loc: &str,
    ds: &NewDataset,
    (k, n): (u32, u32),
    event: &EventDraft,
) -> Result<Registered, RegistryError> {
    let d = &ds.dataset;
    let sealed: Option<i64> = tx
        .query_row(
            "SELECT id FROM datasets WHERE name = ?1 AND version = ?2",
            params![d.name, d.version],
            |r| r.get(0),
        )
        .optional()
        .ctx(loc, "look up dataset")?;
    if sealed.is_some() {
        return Err(RegistryError::StagingSealed(d.clone()));
    }
    let staged: Vec<(u32, u32, blake3::Hash)> = {
        let mut stmt = tx
            .prepare(
                "SELECT part, parts, root_hash FROM dataset_parts \
                 WHERE name = ?1 AND version = ?2 ORDER BY part",
            )
            .ctx(loc, "read staged parts")?;
        stmt.query_map(params![d.name, d.version], |r| {
            Ok((r.get(0)?, r.get(1)?, get_hash(r, 2)?))
        })
        .ctx(loc, "read staged parts")?
        .collect::<rusqlite::Result<_>>()
        .ctx(loc, "read staged parts")?
    };
    if let Some((j, m, _)) = staged.iter().find(|(_, m, _)| *m != n) {
        return Err(RegistryError::PartCountDiffers {
            dataset: d.clone(),
            staged: i64::from(*j),
            parts: i64::from(*m),
            asked: n,
        });
    }
    if let Some((_, _, root)) = staged.iter().find(|(j, _, _)| *j == k) {
        if *root == ds.root_hash {
            return Ok(Registered::Unchanged);
        }
        return Err(RegistryError::PartChanged {
            dataset: d.clone(),
            part: k,
            parts: n,
        });
    }
    let mut parent_ids = Vec::with_capacity(ds.parents.len());
    for p in &ds.parents {
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM datasets WHERE name = ?1 AND version = ?2",
                params![p.name, p.version],
                |r| r.get(0),
            )
            .optional()
            .ctx(loc, "look up parent dataset")?;
        parent_ids.push(id.ok_or_else(|| RegistryError::UnknownParent(p.clone()))?);
    }
    tx.execute(
        "INSERT INTO dataset_parts (name, version, part, parts, org, collected, root_hash, \
         files, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            d.name,
            d.version,
            k,
            n,
            ds.org,
            ds.collected.to_string(),
            ds.root_hash.as_bytes().as_slice(),
            i(ds.members.len() as u64),
            utc_now_rfc3339(),
        ],
    )
    .ctx(loc, "stage part")?;
    let part_id = tx.last_insert_rowid();
    for p in parent_ids {
        tx.execute(
            "INSERT OR IGNORE INTO dataset_part_parents (part_id, parent_id) VALUES (?1, ?2)",
            params![part_id, p],
        )
        .ctx(loc, "stage part parents")?;
    }
    let (shard_ids, inherited_shards) = store_shards(&tx, loc, &ds.members)?;
    {
        let mut member_stmt = tx
            .prepare_cached(
                "INSERT INTO dataset_part_shards (part_id, path, shard_id) VALUES (?1, ?2, ?3)",
            )
            .ctx(loc, "stage part shards")?;
        for (m, shard_id) in ds.members.iter().zip(&shard_ids) {
            member_stmt
                .execute(params![part_id, m.path, shard_id])
                .ctx(loc, "stage part shards")?;
        }
    }
    if let Some((dir, state)) = &ds.state {
        tx.execute(
            "INSERT INTO scan_state (dir, state) VALUES (?1, ?2) \
             ON CONFLICT (dir) DO UPDATE SET state = excluded.state",
            params![dir, state],
        )
        .ctx(loc, "write scan state")?;
    }
    append_event(&tx, loc, event)?;
    tx.commit().ctx(loc, "commit part")?;
    Ok(Registered::Staged { inherited_shards })
}

/// Writes a published version's members (path, shard id) with their `dup` mark.
fn insert_members(
    tx: &rusqlite::Transaction<'_>,
    loc: &str,
    dataset_id: i64,
    members: &[(&[u8], i64)],
) -> Result<(), RegistryError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO dataset_shards (dataset_id, path, shard_id, dup) VALUES (?1, ?2, ?3, ?4)",
        )
        .ctx(loc, "store dataset shard")?;
    let dup = super::dup_flags(members.iter().copied());
    for ((path, shard), dup) in members.iter().zip(dup) {
        stmt.execute(params![dataset_id, path, shard, dup])
            .ctx(loc, "store dataset shard")?;
    }
    Ok(())
}

/// Stores the members' shards and attributions: the same bytes are one shard, whose stored
/// attributions are kept and added to. Returns each member's shard id, and how many shards
/// already known had attributions this scan did not find (same bytes, same provenance).
fn store_shards(
    tx: &Transaction<'_>,
    loc: &str,
    members: &[Member],
) -> Result<(Vec<i64>, u64), RegistryError> {
    let mut inherited_shards = 0;
    let mut insert_shard = tx
        .prepare_cached(
            "INSERT INTO shards (hash, size, format, records, unattributed_records, \
                 unattributed_bytes, malformed, problem) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (hash) DO NOTHING",
        )
        .ctx(loc, "store shard")?;
    let mut known_shard = tx
        .prepare_cached(
            "UPDATE shards SET \
                 unattributed_records = MIN(unattributed_records, ?2), \
                 unattributed_bytes = MIN(unattributed_bytes, ?3) \
                 WHERE hash = ?1 RETURNING id",
        )
        .ctx(loc, "store shard")?;
    let mut attr_stmt = tx
        .prepare_cached(
            "INSERT INTO attributions (shard_id, source_id, records, bytes, method) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (shard_id, source_id) DO NOTHING",
        )
        .ctx(loc, "store attribution")?;
    let mut count_attr = tx
        .prepare_cached("SELECT COUNT(*) FROM attributions WHERE shard_id = ?1")
        .ctx(loc, "store attribution")?;
    // Shards go in hash order and members in path order: each B-tree is then filled
    // sequentially instead of at random places.
    let mut by_hash: Vec<usize> = (0..members.len()).collect();
    by_hash.sort_by(|&a, &b| {
        members[a]
            .shard
            .hash
            .as_bytes()
            .cmp(members[b].shard.hash.as_bytes())
    });
    let mut shard_ids = vec![0i64; members.len()];
    let mut previous: Option<(&blake3::Hash, i64)> = None;
    for &k in &by_hash {
        let m = &members[k];
        let s = &m.shard;
        // The same bytes at several paths of this dataset: one shard.
        if let Some((h, id)) = previous
            && *h == s.hash
        {
            shard_ids[k] = id;
            continue;
        }
        let hash = s.hash.as_bytes().as_slice();
        let inserted = insert_shard
            .execute(params![
                hash,
                i(s.size),
                s.format,
                i(s.records),
                i(s.unattributed_records),
                i(s.unattributed_bytes),
                i(s.malformed),
                s.problem,
            ])
            .ctx(loc, "store shard")?;
        let (shard_id, existed) = if inserted == 1 {
            (tx.last_insert_rowid(), false)
        } else {
            let id: i64 = known_shard
                .query_row(
                    params![hash, i(s.unattributed_records), i(s.unattributed_bytes)],
                    |r| r.get(0),
                )
                .ctx(loc, "store shard")?;
            (id, true)
        };
        shard_ids[k] = shard_id;
        previous = Some((&s.hash, shard_id));
        for a in &m.attributions {
            attr_stmt
                .execute(params![
                    shard_id,
                    a.source,
                    i(a.records),
                    i(a.bytes),
                    a.method.as_str()
                ])
                .ctx(loc, "store attribution")?;
        }
        if existed {
            let stored: i64 = count_attr
                .query_row([shard_id], |r| r.get(0))
                .ctx(loc, "store attribution")?;
            if stored as usize > m.attributions.len() {
                inherited_shards += 1;
            }
        }
    }
    Ok((shard_ids, inherited_shards))
}

/// Appends one event to the chain inside `tx`.
fn append_event(tx: &Transaction<'_>, loc: &str, draft: &EventDraft) -> Result<(), RegistryError> {
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .ctx(loc, "read chain head")?;
    let (seq, prev) = last.unwrap_or((0, events::GENESIS.to_string()));
    let seq = seq as u64 + 1;
    let time = utc_now_rfc3339();
    let payload = events::canonical(&draft.payload);
    let hash = events::chain_hash(&prev, seq, &time, &draft.actor, &draft.kind, &payload);
    tx.execute(
        "INSERT INTO events (seq, time, actor, kind, payload, prev, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![i(seq), time, draft.actor, draft.kind, payload, prev, hash],
    )
    .ctx(loc, "append event")?;
    Ok(())
}

fn upsert_training(tx: &Transaction<'_>, loc: &str, t: &TrainingRun) -> Result<(), RegistryError> {
    tx.execute(
        "INSERT INTO training_runs (model, org, date) VALUES (?1, ?2, ?3) \
         ON CONFLICT (model) DO UPDATE SET org = excluded.org, date = excluded.date",
        params![t.model, t.org, t.date.to_string()],
    )
    .ctx(loc, "store training run")?;
    tx.execute("DELETE FROM training_datasets WHERE model = ?1", [&t.model])
        .ctx(loc, "store training run")?;
    tx.execute("DELETE FROM training_uses WHERE model = ?1", [&t.model])
        .ctx(loc, "store training run")?;
    for d in &t.datasets {
        tx.execute(
            "INSERT OR IGNORE INTO training_datasets (model, dataset) VALUES (?1, ?2)",
            params![t.model, d.to_string()],
        )
        .ctx(loc, "store training run")?;
    }
    for u in &t.uses {
        tx.execute(
            "INSERT OR IGNORE INTO training_uses (model, use_name) VALUES (?1, ?2)",
            params![t.model, u],
        )
        .ctx(loc, "store training run")?;
    }
    Ok(())
}

fn upsert_policy(tx: &Transaction<'_>, loc: &str, p: &Policy) -> Result<(), RegistryError> {
    for s in &p.sources {
        tx.execute(
            "INSERT INTO sources (id, name) VALUES (?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            params![s.id, s.name],
        )
        .ctx(loc, "store source")?;
        tx.execute("DELETE FROM source_domains WHERE source_id = ?1", [&s.id])
            .ctx(loc, "store source")?;
        for d in &s.domains {
            let owner: Option<String> = tx
                .query_row(
                    "SELECT source_id FROM source_domains WHERE domain = ?1",
                    [d],
                    |r| r.get(0),
                )
                .optional()
                .ctx(loc, "store source")?;
            if let Some(owner) = owner {
                return Err(RegistryError::DomainTaken {
                    domain: d.clone(),
                    source_id: s.id.clone(),
                    owner,
                });
            }
            tx.execute(
                "INSERT INTO source_domains (domain, source_id) VALUES (?1, ?2)",
                params![d, s.id],
            )
            .ctx(loc, "store source")?;
        }
    }
    for l in &p.licences {
        tx.execute(
            "INSERT INTO licences (id, name) VALUES (?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            params![l.id, l.name],
        )
        .ctx(loc, "store licence")?;
        tx.execute("DELETE FROM licence_terms WHERE licence_id = ?1", [&l.id])
            .ctx(loc, "store licence")?;
        let terms = l
            .allow
            .iter()
            .map(|t| ("allow", t))
            .chain(l.deny.iter().map(|t| ("deny", t)))
            .chain(l.conditions.iter().map(|t| ("condition", t)));
        for (kind, term) in terms {
            tx.execute(
                "INSERT OR IGNORE INTO licence_terms (licence_id, kind, term) VALUES (?1, ?2, ?3)",
                params![l.id, kind, term],
            )
            .ctx(loc, "store licence")?;
        }
    }
    for g in &p.grants {
        tx.execute(
            "INSERT INTO grants (id, source_id, licence_id, grantee, valid_from, valid_until, \
             cap_records, cap_per) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (id) DO UPDATE SET source_id = excluded.source_id, \
             licence_id = excluded.licence_id, grantee = excluded.grantee, \
             valid_from = excluded.valid_from, valid_until = excluded.valid_until, \
             cap_records = excluded.cap_records, cap_per = excluded.cap_per",
            params![
                g.id,
                g.source,
                g.licence,
                g.grantee,
                g.from.to_string(),
                g.until.map(|d| d.to_string()),
                g.cap.map(|c| i(c.records)),
                g.cap.map(|c| c.per.as_str()),
            ],
        )
        .ctx(loc, "store grant")?;
    }
    for t in &p.training {
        upsert_training(tx, loc, t)?;
    }
    for a in &p.applications {
        tx.execute(
            "INSERT INTO applications (id, org, disclosed) VALUES (?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET org = excluded.org, disclosed = excluded.disclosed",
            params![a.id, a.org, a.disclosed],
        )
        .ctx(loc, "store application")?;
        tx.execute(
            "DELETE FROM application_models WHERE application_id = ?1",
            [&a.id],
        )
        .ctx(loc, "store application")?;
        for m in &a.models {
            tx.execute(
                "INSERT OR IGNORE INTO application_models (application_id, model) VALUES (?1, ?2)",
                params![a.id, m],
            )
            .ctx(loc, "store application")?;
        }
    }
    for d in &p.disclosures {
        let (dataset, source) = match &d.subject {
            Subject::Dataset(r) => (Some(r.to_string()), None),
            Subject::Source(s) => (None, Some(s.clone())),
        };
        tx.execute(
            "INSERT INTO disclosures (id, dataset, source_id, recipient, kind, date, org) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (id) DO UPDATE SET dataset = excluded.dataset, \
             source_id = excluded.source_id, recipient = excluded.recipient, \
             kind = excluded.kind, date = excluded.date, org = excluded.org",
            params![
                d.id,
                dataset,
                source,
                d.recipient,
                d.kind,
                d.date.to_string(),
                d.org
            ],
        )
        .ctx(loc, "store disclosure")?;
    }
    Ok(())
}

fn read_members(
    conn: &Connection,
    loc: &str,
    dataset_id: i64,
) -> Result<Vec<StoredMember>, RegistryError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT m.path, s.hash, s.size, s.format, s.records, s.unattributed_records, \
             s.unattributed_bytes, s.malformed, s.problem \
             FROM dataset_shards m JOIN shards s ON s.id = m.shard_id \
             WHERE m.dataset_id = ?1 ORDER BY m.path",
        )
        .ctx(loc, "read dataset shards")?;
    let rows = stmt
        .query_map([dataset_id], |r| {
            Ok(StoredMember {
                path: r.get(0)?,
                shard: Shard {
                    hash: get_hash(r, 1)?,
                    size: get_u64(r, 2)?,
                    format: r.get(3)?,
                    records: get_u64(r, 4)?,
                    unattributed_records: get_u64(r, 5)?,
                    unattributed_bytes: get_u64(r, 6)?,
                    malformed: get_u64(r, 7)?,
                    problem: r.get(8)?,
                },
            })
        })
        .ctx(loc, "read dataset shards")?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .ctx(loc, "read dataset shards")
}

impl Registry for SqliteRegistry {
    fn apply_policy(&mut self, policy: &Policy, event: &EventDraft) -> Result<(), RegistryError> {
        let loc = self.location.clone();
        let tx = self.write_tx("apply a policy")?;
        upsert_policy(&tx, &loc, policy)?;
        append_event(&tx, &loc, event)?;
        tx.commit().ctx(&loc, "commit apply")
    }

    fn register_dataset(
        &mut self,
        ds: &NewDataset,
        event: &EventDraft,
    ) -> Result<Registered, RegistryError> {
        let loc = self.location.clone();
        let tx = self.write_tx("register a dataset")?;
        if let Some(part) = ds.part {
            return stage_part(tx, &loc, ds, part, event);
        }
        let existing: Option<(i64, blake3::Hash)> = tx
            .query_row(
                "SELECT id, root_hash FROM datasets WHERE name = ?1 AND version = ?2",
                params![ds.dataset.name, ds.dataset.version],
                |r| Ok((r.get(0)?, get_hash(r, 1)?)),
            )
            .optional()
            .ctx(&loc, "look up dataset")?;
        if let Some((id, root)) = existing {
            if root == ds.root_hash {
                return Ok(Registered::Unchanged);
            }
            let old = read_members(&tx, &loc, id)?;
            let old: Vec<(Vec<u8>, blake3::Hash)> =
                old.into_iter().map(|m| (m.path, m.shard.hash)).collect();
            return Err(RegistryError::DatasetChanged {
                dataset: ds.dataset.clone(),
                changes: super::describe_changes(&old, &ds.members),
            });
        }
        let mut parent_ids = Vec::with_capacity(ds.parents.len());
        for p in &ds.parents {
            let id: Option<i64> = tx
                .query_row(
                    "SELECT id FROM datasets WHERE name = ?1 AND version = ?2",
                    params![p.name, p.version],
                    |r| r.get(0),
                )
                .optional()
                .ctx(&loc, "look up parent dataset")?;
            parent_ids.push(id.ok_or_else(|| RegistryError::UnknownParent(p.clone()))?);
        }
        let files = ds.members.len() as u64;
        let bytes: u64 = ds.members.iter().map(|m| m.shard.size).sum();
        let records: u64 = ds.members.iter().map(|m| m.shard.records).sum();
        tx.execute(
            "INSERT INTO datasets (name, version, org, collected, root_hash, files, bytes, \
             records, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                ds.dataset.name,
                ds.dataset.version,
                ds.org,
                ds.collected.to_string(),
                ds.root_hash.as_bytes().as_slice(),
                i(files),
                i(bytes),
                i(records),
                utc_now_rfc3339(),
            ],
        )
        .ctx(&loc, "store dataset")?;
        let dataset_id = tx.last_insert_rowid();
        for p in parent_ids {
            tx.execute(
                "INSERT OR IGNORE INTO dataset_parents (dataset_id, parent_id) VALUES (?1, ?2)",
                params![dataset_id, p],
            )
            .ctx(&loc, "store dataset parents")?;
        }
        let (shard_ids, inherited_shards) = store_shards(&tx, &loc, &ds.members)?;
        insert_members(
            &tx,
            &loc,
            dataset_id,
            &super::member_rows(&ds.members, &shard_ids),
        )?;
        if let Some((dir, state)) = &ds.state {
            tx.execute(
                "INSERT INTO scan_state (dir, state) VALUES (?1, ?2) \
                 ON CONFLICT (dir) DO UPDATE SET state = excluded.state",
                params![dir, state],
            )
            .ctx(&loc, "write scan state")?;
        }
        append_event(&tx, &loc, event)?;
        tx.commit().ctx(&loc, "commit scan")?;
        Ok(Registered::Created { inherited_shards })
    }

    fn staged_parts(&self, d: &DatasetRef) -> Result<Vec<(u32, u32, u64)>, RegistryError> {
        let loc = &self.location;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT part, parts, files FROM dataset_parts \
                 WHERE name = ?1 AND version = ?2 ORDER BY part",
            )
            .ctx(loc, "read staged parts")?;
        stmt.query_map(params![d.name, d.version], |r| {
            Ok((r.get(0)?, r.get(1)?, get_u64(r, 2)?))
        })
        .ctx(loc, "read staged parts")?
        .collect::<rusqlite::Result<_>>()
        .ctx(loc, "read staged parts")
    }

    fn seal_dataset(
        &mut self,
        d: &DatasetRef,
        event: &dyn Fn(&DatasetInfo) -> EventDraft,
    ) -> Result<DatasetInfo, RegistryError> {
        let loc = self.location.clone();
        let loc = loc.as_str();
        let tx = self.write_tx("seal a dataset")?;
        let sealed: Option<i64> = tx
            .query_row(
                "SELECT id FROM datasets WHERE name = ?1 AND version = ?2",
                params![d.name, d.version],
                |r| r.get(0),
            )
            .optional()
            .ctx(loc, "look up dataset")?;
        let parts: Vec<StagedPartRow> = {
            let mut stmt = tx
                .prepare(
                    "SELECT id, part, parts, org, collected FROM dataset_parts \
                     WHERE name = ?1 AND version = ?2 ORDER BY part",
                )
                .ctx(loc, "read staged parts")?;
            stmt.query_map(params![d.name, d.version], |r| {
                Ok(StagedPartRow {
                    id: r.get(0)?,
                    part: r.get(1)?,
                    parts: r.get(2)?,
                    org: r.get(3)?,
                    collected: r.get(4)?,
                })
            })
            .ctx(loc, "read staged parts")?
            .collect::<rusqlite::Result<_>>()
            .ctx(loc, "read staged parts")?
        };
        super::check_staged_parts(d, sealed.is_some(), &parts)?;
        let mut parents = Vec::with_capacity(parts.len());
        let mut members: Vec<PartMember> = Vec::new();
        for p in &parts {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT parent_id FROM dataset_part_parents WHERE part_id = ?1 \
                     ORDER BY parent_id",
                )
                .ctx(loc, "read part parents")?;
            parents.push(
                stmt.query_map([p.id], |r| r.get(0))
                    .ctx(loc, "read part parents")?
                    .collect::<rusqlite::Result<Vec<i64>>>()
                    .ctx(loc, "read part parents")?,
            );
        }
        let parents = super::same_parents(d, &parts, parents)?;
        for p in &parts {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT m.path, s.id, s.hash, s.size, s.records FROM dataset_part_shards m \
                     JOIN shards s ON s.id = m.shard_id WHERE m.part_id = ?1",
                )
                .ctx(loc, "read part shards")?;
            let rows = stmt
                .query_map([p.id], |r| {
                    Ok(PartMember {
                        path: r.get(0)?,
                        shard_id: r.get(1)?,
                        hash: get_hash(r, 2)?,
                        size: get_u64(r, 3)?,
                        records: get_u64(r, 4)?,
                        part: p.part,
                    })
                })
                .ctx(loc, "read part shards")?;
            for row in rows {
                members.push(row.ctx(loc, "read part shards")?);
            }
        }
        let info = super::sealed_info(d, &parts, &mut members)?;
        tx.execute(
            "INSERT INTO datasets (name, version, org, collected, root_hash, files, bytes, \
             records, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                d.name,
                d.version,
                info.org,
                info.collected.to_string(),
                info.root.as_bytes().as_slice(),
                i(info.files),
                i(info.bytes),
                i(info.records),
                utc_now_rfc3339(),
            ],
        )
        .ctx(loc, "store dataset")?;
        let dataset_id = tx.last_insert_rowid();
        {
            let rows: Vec<(&[u8], i64)> = members
                .iter()
                .map(|m| (m.path.as_slice(), m.shard_id))
                .collect();
            insert_members(&tx, loc, dataset_id, &rows)?;
            for p in parents {
                tx.execute(
                    "INSERT OR IGNORE INTO dataset_parents (dataset_id, parent_id) VALUES (?1, ?2)",
                    params![dataset_id, p],
                )
                .ctx(loc, "store dataset parents")?;
            }
        }
        tx.execute(
            "DELETE FROM dataset_parts WHERE name = ?1 AND version = ?2",
            params![d.name, d.version],
        )
        .ctx(loc, "remove staged parts")?;
        append_event(&tx, loc, &event(&info))?;
        tx.commit().ctx(loc, "commit seal")?;
        drop(members);
        Ok(self.read_datasets(Some(dataset_id))?.pop().unwrap_or(info))
    }

    fn record_training(
        &mut self,
        run: &TrainingRun,
        event: &EventDraft,
    ) -> Result<(), RegistryError> {
        let loc = self.location.clone();
        let tx = self.write_tx("record a training run")?;
        upsert_training(&tx, &loc, run)?;
        append_event(&tx, &loc, event)?;
        tx.commit().ctx(&loc, "commit training run")
    }

    fn import_card(
        &mut self,
        card: &CardImport,
        event: &EventDraft,
    ) -> Result<CardAttributed, RegistryError> {
        let loc = self.location.clone();
        let dataset_id = self
            .dataset_id(&card.dataset)?
            .ok_or_else(|| RegistryError::UnknownDataset(card.dataset.clone()))?;
        let tx = self.write_tx("import a dataset card")?;
        tx.execute(
            "INSERT INTO sources (id, name) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
            params![card.source.id, card.source.name],
        )
        .ctx(&loc, "store source")?;
        for l in &card.licences {
            tx.execute(
                "INSERT INTO licences (id, name) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
                params![l.id, l.name],
            )
            .ctx(&loc, "store licence")?;
        }
        upsert_policy(
            &tx,
            &loc,
            &Policy {
                grants: card.grants.clone(),
                ..Policy::default()
            },
        )?;
        let members: Vec<(Vec<u8>, i64, i64, i64)> = {
            let mut stmt = tx
                .prepare(
                    "SELECT m.path, s.id, s.unattributed_records, s.unattributed_bytes \
                     FROM dataset_shards m JOIN shards s ON s.id = m.shard_id \
                     WHERE m.dataset_id = ?1 ORDER BY m.path",
                )
                .ctx(&loc, "read dataset shards")?;
            stmt.query_map([dataset_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .ctx(&loc, "read dataset shards")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(&loc, "read dataset shards")?
        };
        let (targets, attributed) = card.targets(&members);
        for (shard, records, bytes) in targets {
            tx.execute(
                "INSERT INTO attributions (shard_id, source_id, records, bytes, method) \
                 VALUES (?1, ?2, ?3, ?4, 'declared') ON CONFLICT (shard_id, source_id) \
                 DO UPDATE SET records = records + excluded.records, \
                 bytes = bytes + excluded.bytes",
                params![shard, card.source.id, records, bytes],
            )
            .ctx(&loc, "store attribution")?;
            tx.execute(
                "UPDATE shards SET unattributed_records = 0, unattributed_bytes = 0 \
                 WHERE id = ?1",
                [shard],
            )
            .ctx(&loc, "store attribution")?;
        }
        let mut event = event.clone();
        event.payload["attributed"] = serde_json::to_value(attributed).unwrap_or_default();
        append_event(&tx, &loc, &event)?;
        tx.commit().ctx(&loc, "commit import-card")?;
        Ok(attributed)
    }

    fn record_event(&mut self, event: &EventDraft) -> Result<(), RegistryError> {
        let loc = self.location.clone();
        let tx = self.write_tx("record an event")?;
        append_event(&tx, &loc, event)?;
        tx.commit().ctx(&loc, "commit event")
    }

    fn sources(&self) -> Result<Vec<Source>, RegistryError> {
        let loc = &self.location;
        let mut domains = self.grouped(
            "SELECT source_id, domain FROM source_domains ORDER BY source_id, domain",
            "read source domains",
        )?;
        let mut stmt = self
            .conn
            .prepare("SELECT id, name FROM sources ORDER BY id")
            .ctx(loc, "read sources")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .ctx(loc, "read sources")?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name) = row.ctx(loc, "read sources")?;
            let domains = domains.remove(&id).unwrap_or_default();
            out.push(Source { id, name, domains });
        }
        Ok(out)
    }

    fn licences(&self) -> Result<Vec<Licence>, RegistryError> {
        let loc = &self.location;
        let mut terms: HashMap<(String, String), Vec<String>> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT licence_id, kind, term FROM licence_terms ORDER BY licence_id, kind, term")
                .ctx(loc, "read licence terms")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .ctx(loc, "read licence terms")?;
            for row in rows {
                let (id, kind, term): (String, String, String) =
                    row.ctx(loc, "read licence terms")?;
                terms.entry((id, kind)).or_default().push(term);
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT id, name FROM licences ORDER BY id")
            .ctx(loc, "read licences")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .ctx(loc, "read licences")?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name) = row.ctx(loc, "read licences")?;
            let mut take = |k: &str| {
                terms
                    .remove(&(id.clone(), k.to_string()))
                    .unwrap_or_default()
            };
            let (allow, deny, conditions) = (take("allow"), take("deny"), take("condition"));
            out.push(Licence {
                id,
                name,
                allow,
                deny,
                conditions,
                builtin: false,
            });
        }
        Ok(out)
    }

    fn grants(&self) -> Result<Vec<Grant>, RegistryError> {
        let loc = &self.location;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, source_id, licence_id, grantee, valid_from, valid_until, cap_records, \
                 cap_per FROM grants ORDER BY id",
            )
            .ctx(loc, "read grants")?;
        let rows = stmt
            .query_map([], |r| {
                let until: Option<String> = r.get(5)?;
                let until = until
                    .map(|s| s.parse::<Date>().map_err(|e| bad_value(5, e)))
                    .transpose()?;
                let cap_records: Option<i64> = r.get(6)?;
                let cap_per: Option<String> = r.get(7)?;
                let cap = match (cap_records, cap_per) {
                    (Some(n), Some(p)) => Some(Cap {
                        records: n.max(0) as u64,
                        per: p.parse().map_err(|e| bad_value(7, e))?,
                    }),
                    _ => None,
                };
                Ok(Grant {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    licence: r.get(2)?,
                    grantee: r.get(3)?,
                    from: get_date(r, 4)?,
                    until,
                    cap,
                })
            })
            .ctx(loc, "read grants")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .ctx(loc, "read grants")
    }

    fn training_runs(&self) -> Result<Vec<TrainingRun>, RegistryError> {
        let loc = &self.location;
        let mut datasets = self.grouped(
            "SELECT model, dataset FROM training_datasets ORDER BY model, dataset",
            "read training datasets",
        )?;
        let mut uses = self.grouped(
            "SELECT model, use_name FROM training_uses ORDER BY model, use_name",
            "read training uses",
        )?;
        let mut stmt = self
            .conn
            .prepare("SELECT model, org, date FROM training_runs ORDER BY date, model")
            .ctx(loc, "read training runs")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    get_date(r, 2)?,
                ))
            })
            .ctx(loc, "read training runs")?;
        let mut out = Vec::new();
        for row in rows {
            let (model, org, date) = row.ctx(loc, "read training runs")?;
            let ds = datasets.remove(&model).unwrap_or_default();
            let ds = ds
                .iter()
                .map(|s| s.parse::<DatasetRef>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| RegistryError::Backend {
                    location: loc.clone(),
                    context: "read training datasets".into(),
                    source: e.into(),
                })?;
            let uses = uses.remove(&model).unwrap_or_default();
            out.push(TrainingRun {
                model,
                org,
                date,
                datasets: ds,
                uses,
            });
        }
        Ok(out)
    }

    fn applications(&self) -> Result<Vec<Application>, RegistryError> {
        let loc = &self.location;
        let mut models = self.grouped(
            "SELECT application_id, model FROM application_models ORDER BY application_id, model",
            "read application models",
        )?;
        let mut stmt = self
            .conn
            .prepare("SELECT id, org, disclosed FROM applications ORDER BY id")
            .ctx(loc, "read applications")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            })
            .ctx(loc, "read applications")?;
        let mut out = Vec::new();
        for row in rows {
            let (id, org, disclosed) = row.ctx(loc, "read applications")?;
            let models = models.remove(&id).unwrap_or_default();
            out.push(Application {
                id,
                org,
                models,
                disclosed,
            });
        }
        Ok(out)
    }

    fn disclosures(&self) -> Result<Vec<Disclosure>, RegistryError> {
        let loc = &self.location;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, dataset, source_id, recipient, kind, date, org FROM disclosures \
                 ORDER BY date, id",
            )
            .ctx(loc, "read disclosures")?;
        let rows = stmt
            .query_map([], |r| {
                let dataset: Option<String> = r.get(1)?;
                let source: Option<String> = r.get(2)?;
                let subject = match (dataset, source) {
                    (Some(d), _) => Subject::Dataset(d.parse().map_err(|e| bad_value(1, e))?),
                    (None, Some(s)) => Subject::Source(s),
                    (None, None) => return Err(bad_value(1, "disclosure without subject".into())),
                };
                Ok(Disclosure {
                    id: r.get(0)?,
                    subject,
                    recipient: r.get(3)?,
                    kind: r.get(4)?,
                    date: get_date(r, 5)?,
                    org: r.get(6)?,
                })
            })
            .ctx(loc, "read disclosures")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .ctx(loc, "read disclosures")
    }

    fn datasets(&self) -> Result<Vec<DatasetInfo>, RegistryError> {
        self.read_datasets(None)
    }

    fn dataset(&self, r: &DatasetRef) -> Result<Option<DatasetInfo>, RegistryError> {
        match self.dataset_id(r)? {
            Some(id) => Ok(self.read_datasets(Some(id))?.pop()),
            None => Ok(None),
        }
    }

    fn dataset_members(&self, r: &DatasetRef) -> Result<Vec<StoredMember>, RegistryError> {
        match self.dataset_id(r)? {
            Some(id) => read_members(&self.conn, &self.location, id),
            None => Ok(Vec::new()),
        }
    }

    fn dataset_usage(&self, r: &DatasetRef) -> Result<Vec<SourceUsage>, RegistryError> {
        let loc = &self.location;
        let Some(id) = self.dataset_id(r)? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached(
                "WITH ds AS (SELECT DISTINCT shard_id FROM dataset_shards WHERE dataset_id = ?1) \
                 SELECT a.source_id, COUNT(*), SUM(a.records), SUM(a.bytes) \
                 FROM attributions a JOIN ds ON a.shard_id = ds.shard_id \
                 GROUP BY a.source_id ORDER BY a.source_id",
            )
            .ctx(loc, "read dataset usage")?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(SourceUsage {
                    source: Some(r.get(0)?),
                    shards: get_u64(r, 1)?,
                    records: get_u64(r, 2)?,
                    bytes: get_u64(r, 3)?,
                })
            })
            .ctx(loc, "read dataset usage")?;
        for row in rows {
            out.push(row.ctx(loc, "read dataset usage")?);
        }
        let unattributed = self
            .conn
            .query_row(
                "WITH ds AS (SELECT DISTINCT shard_id FROM dataset_shards WHERE dataset_id = ?1) \
                 SELECT COUNT(*), COALESCE(SUM(s.unattributed_records), 0), \
                 COALESCE(SUM(s.unattributed_bytes), 0) \
                 FROM shards s JOIN ds ON s.id = ds.shard_id WHERE s.unattributed_records > 0",
                [id],
                |r| {
                    Ok(SourceUsage {
                        source: None,
                        shards: get_u64(r, 0)?,
                        records: get_u64(r, 1)?,
                        bytes: get_u64(r, 2)?,
                    })
                },
            )
            .ctx(loc, "read dataset usage")?;
        if unattributed.shards > 0 {
            out.push(unattributed);
        }
        Ok(out)
    }

    fn scan_state(&self, dir: &[u8]) -> Result<Option<Vec<u8>>, RegistryError> {
        self.conn
            .query_row("SELECT state FROM scan_state WHERE dir = ?1", [dir], |r| {
                r.get(0)
            })
            .optional()
            .ctx(&self.location, "read scan state")
    }

    fn store_scan_state(&mut self, dir: &[u8], state: &[u8]) -> Result<(), RegistryError> {
        let loc = self.location.clone();
        let tx = self.write_tx("save scan state")?;
        tx.execute(
            "INSERT INTO scan_state (dir, state) VALUES (?1, ?2) \
             ON CONFLICT (dir) DO UPDATE SET state = excluded.state",
            params![dir, state],
        )
        .ctx(&loc, "write scan state")?;
        tx.commit().ctx(&loc, "commit scan state")
    }

    fn dataset_totals(&self, r: &DatasetRef) -> Result<DatasetTotals, RegistryError> {
        let loc = &self.location;
        let mut out = DatasetTotals::default();
        let Some(id) = self.dataset_id(r)? else {
            return Ok(out);
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.source_id, SUM(a.records), SUM(a.bytes) FROM dataset_shards m \
                 JOIN attributions a ON a.shard_id = m.shard_id WHERE m.dataset_id = ?1 \
                 GROUP BY a.source_id ORDER BY a.source_id",
            )
            .ctx(loc, "read dataset totals")?;
        let rows = stmt
            .query_map([id], |r| {
                Ok((r.get::<_, String>(0)?, get_u64(r, 1)?, get_u64(r, 2)?))
            })
            .ctx(loc, "read dataset totals")?;
        for row in rows {
            let (s, records, bytes) = row.ctx(loc, "read dataset totals")?;
            out.sources.insert(s, (records, bytes));
        }
        out.unattributed_records = self
            .conn
            .query_row(
                "SELECT COALESCE(SUM(s.unattributed_records), 0) FROM dataset_shards m \
                 JOIN shards s ON s.id = m.shard_id WHERE m.dataset_id = ?1",
                [id],
                |r| get_u64(r, 0),
            )
            .ctx(loc, "read dataset totals")?;
        Ok(out)
    }

    fn shard_links(&self, hash: &blake3::Hash) -> Result<Option<ShardLinks>, RegistryError> {
        let loc = &self.location;
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM shards WHERE hash = ?1",
                [hash.as_bytes().as_slice()],
                |r| r.get(0),
            )
            .optional()
            .ctx(loc, "read shard")?;
        let Some(id) = id else { return Ok(None) };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT d.name || '@' || d.version FROM dataset_shards m \
                 JOIN datasets d ON d.id = m.dataset_id WHERE m.shard_id = ?1 ORDER BY 1",
            )
            .ctx(loc, "read shard datasets")?;
        let datasets = stmt
            .query_map([id], |r| get_dataset_ref(r, 0))
            .ctx(loc, "read shard datasets")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(loc, "read shard datasets")?;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT source_id FROM attributions WHERE shard_id = ?1 ORDER BY 1")
            .ctx(loc, "read shard sources")?;
        let sources = stmt
            .query_map([id], |r| r.get(0))
            .ctx(loc, "read shard sources")?
            .collect::<rusqlite::Result<Vec<String>>>()
            .ctx(loc, "read shard sources")?;
        Ok(Some(ShardLinks { datasets, sources }))
    }

    fn known_shards(
        &self,
        hashes: &[blake3::Hash],
    ) -> Result<HashMap<blake3::Hash, KnownShard>, RegistryError> {
        let loc = &self.location;
        let what = "look up shards";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT s.unattributed_records, s.unattributed_bytes, a.source_id, a.records, \
                 a.bytes FROM shards s LEFT JOIN attributions a ON a.shard_id = s.id \
                 WHERE s.hash = ?1 ORDER BY a.source_id",
            )
            .ctx(loc, what)?;
        let mut out = HashMap::new();
        for h in hashes {
            if out.contains_key(h) {
                continue;
            }
            let mut rows = stmt.query([h.as_bytes().as_slice()]).ctx(loc, what)?;
            let mut known: Option<KnownShard> = None;
            while let Some(r) = rows.next().ctx(loc, what)? {
                let k = known.get_or_insert(KnownShard {
                    sources: Vec::new(),
                    unattributed_records: get_u64(r, 0).ctx(loc, what)?,
                    unattributed_bytes: get_u64(r, 1).ctx(loc, what)?,
                });
                if let Some(source) = r.get::<_, Option<String>>(2).ctx(loc, what)? {
                    k.sources.push((
                        source,
                        get_u64(r, 3).ctx(loc, what)?,
                        get_u64(r, 4).ctx(loc, what)?,
                    ));
                }
            }
            if let Some(k) = known {
                out.insert(*h, k);
            }
        }
        Ok(out)
    }

    fn source_content(&self, source: &str) -> Result<Vec<ContentRow>, RegistryError> {
        let loc = &self.location;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT d.name || '@' || d.version, d.org, d.collected, s.hash, a.records, a.bytes \
                 FROM attributions a JOIN shards s ON s.id = a.shard_id \
                 JOIN dataset_shards m ON m.shard_id = a.shard_id \
                 JOIN datasets d ON d.id = m.dataset_id \
                 WHERE a.source_id = ?1 ORDER BY d.collected, d.name, d.version, m.path",
            )
            .ctx(loc, "read source content")?;
        let rows = stmt
            .query_map([source], |r| {
                Ok(ContentRow {
                    dataset: get_dataset_ref(r, 0)?,
                    org: r.get(1)?,
                    collected: get_date(r, 2)?,
                    shard: get_hash(r, 3)?,
                    records: get_u64(r, 4)?,
                    bytes: get_u64(r, 5)?,
                })
            })
            .ctx(loc, "read source content")?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .ctx(loc, "read source content")
    }

    fn export_table(
        &self,
        table: &str,
        columns: &[&str],
    ) -> Result<Vec<Vec<Value>>, RegistryError> {
        check_table(table, columns)?;
        let loc = &self.location;
        let what = format!("export {table}");
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM {table} ORDER BY 1, 2",
                columns.join(", ")
            ))
            .ctx(loc, &what)?;
        let n = columns.len();
        let rows = stmt
            .query_map([], |r| {
                (0..n)
                    .map(|k| {
                        Ok(match r.get_ref(k)? {
                            rusqlite::types::ValueRef::Null => Value::Null,
                            rusqlite::types::ValueRef::Integer(v) => Value::Int(v),
                            rusqlite::types::ValueRef::Real(v) => Value::Int(v as i64),
                            rusqlite::types::ValueRef::Text(t) => {
                                Value::Text(String::from_utf8_lossy(t).into_owned())
                            }
                            rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                        })
                    })
                    .collect::<rusqlite::Result<Vec<Value>>>()
            })
            .ctx(loc, &what)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().ctx(loc, &what)
    }

    fn import_tables(&mut self, tables: &[ExportedTable<'_>]) -> Result<(), RegistryError> {
        let loc = self.location.clone();
        let tx = self.write_tx("copy a registry into it")?;
        let held: i64 = tx
            .query_row(
                "SELECT (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM sources) + \
                 (SELECT COUNT(*) FROM datasets) + (SELECT COUNT(*) FROM dataset_parts)",
                [],
                |r| r.get(0),
            )
            .ctx(&loc, "inspect the target")?;
        if held > 0 {
            return Err(RegistryError::NotEmpty {
                location: loc.to_string(),
            });
        }
        for (table, columns, rows) in tables {
            check_table(table, columns)?;
            let what = format!("import {table}");
            let marks: Vec<String> = (1..=columns.len()).map(|k| format!("?{k}")).collect();
            let mut stmt = tx
                .prepare(&format!(
                    "INSERT INTO {table} ({}) VALUES ({})",
                    columns.join(", "),
                    marks.join(", ")
                ))
                .ctx(&loc, &what)?;
            for row in rows {
                let values = row.iter().map(|v| match v {
                    Value::Null => rusqlite::types::Value::Null,
                    Value::Int(n) => rusqlite::types::Value::Integer(*n),
                    Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
                    Value::Blob(b) => rusqlite::types::Value::Blob(b.clone()),
                });
                stmt.execute(rusqlite::params_from_iter(values))
                    .ctx(&loc, &what)?;
            }
        }
        tx.commit().ctx(&loc, "commit copy")
    }

    fn events(&self, limit: Option<u64>) -> Result<Vec<Event>, RegistryError> {
        let loc = &self.location;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT seq, time, actor, kind, payload, prev, hash FROM events \
                 ORDER BY seq DESC LIMIT ?1",
            )
            .ctx(loc, "read events")?;
        let limit = limit.map(i).unwrap_or(-1);
        let rows = stmt
            .query_map([limit], |r| {
                Ok(Event {
                    seq: get_u64(r, 0)?,
                    time: r.get(1)?,
                    actor: r.get(2)?,
                    kind: r.get(3)?,
                    payload: r.get(4)?,
                    prev: r.get(5)?,
                    hash: r.get(6)?,
                })
            })
            .ctx(loc, "read events")?;
        let mut out = rows
            .collect::<rusqlite::Result<Vec<_>>>()
            .ctx(loc, "read events")?;
        out.reverse();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_on_an_empty_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        for m in MIGRATIONS {
            tx.execute_batch(m).unwrap();
        }
        tx.commit().unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .unwrap();
        let tables: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        // Exactly the tables `registry copy` carries: a table added by a migration must be
        // added to TABLES too, or copies would silently drop it.
        let mut expected: Vec<&str> = super::super::TABLES.iter().map(|(t, _)| *t).collect();
        expected.sort_unstable();
        assert_eq!(expected.len(), 21);
        assert_eq!(tables, expected);
    }
}
