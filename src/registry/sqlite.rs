//! The SQLite backend: one file, WAL mode, foreign keys on, a busy timeout, schema versioned
//! by `PRAGMA user_version` and migrated forward in one transaction on open; rusqlite's
//! values as [`Value`]s and [`Param`]s for the shared workflows, and the batched shard and
//! member inserts. The only file that speaks to SQLite.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Transaction, TransactionBehavior, params};

use super::backend::Backend;
use super::conn::{Conn, Owner, Param, Rows, StoredShards};
use super::error::Result;
use super::{Member, RegistryError, SCHEMA_VERSION, Value};

/// The SQLite schema's migrations, applied in one transaction and counted in
/// `PRAGMA user_version`.
const MIGRATIONS: &[&str] = &migrations!("migrations/");

/// Prepared statements kept per connection: every statement of the shared workflows.
const STATEMENT_CACHE: usize = 128;

/// Page size of a new registry file (SQLite's default is 4 KiB). A scan writes tens of
/// thousands of rows into four B-trees in one transaction: larger pages split less and
/// log fewer frames. `scripts/bench-pagesize.sh`: a first scan of 50,000 small files
/// registers in a quarter less time and `report` reads faster, for about 9 ms more per
/// small registration into a 1,000,000-shard registry. A file keeps the size it was
/// created with.
const PAGE_SIZE: u32 = 16384;

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
    fn ctx(self, location: &str, context: &str) -> Result<T>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn ctx(self, location: &str, context: &str) -> Result<T> {
        self.map_err(|e| RegistryError::Backend {
            location: location.to_string(),
            context: context.to_string(),
            source: Box::new(e),
        })
    }
}

fn i(v: u64) -> i64 {
    // Counts and sizes beyond i64::MAX (8 EiB) do not occur; saturate rather than wrap.
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl SqliteRegistry {
    /// Opens or creates the registry file and migrates it to the current schema.
    pub fn open(path: &Path) -> Result<SqliteRegistry> {
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
    fn open_read_only(path: &Path, location: String, why: String) -> Result<SqliteRegistry> {
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
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        stable_plans(&conn, &location)?;
        let reg = SqliteRegistry {
            conn,
            location,
            read_only: Some(why),
        };
        let version = reg.user_version()?;
        if RegistryError::older_schema(&reg.location, version, SCHEMA_VERSION)? {
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

    fn configure(&mut self) -> Result<()> {
        let loc = &self.location;
        self.conn
            .set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        stable_plans(&self.conn, loc)?;
        self.conn
            .busy_timeout(Duration::from_secs(30))
            .ctx(loc, "set busy timeout")?;
        // Only a new, empty file takes it; set before WAL, which writes the first page.
        self.conn
            .execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}"))
            .ctx(loc, "set page size")?;
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

    fn migrate(&mut self) -> Result<()> {
        let loc = self.location.clone();
        if !RegistryError::older_schema(&loc, self.user_version()?, SCHEMA_VERSION)? {
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
                return Err(RegistryError::foreign(&loc, "an SQLite database"));
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

    fn user_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| not_a_registry_or(&self.location, "read schema version", e))
    }

    /// Begins a write transaction, taking the write lock at once. The busy timeout waits
    /// for other writers; SQLite can still answer `SQLITE_BUSY` without waiting (another
    /// connection recovering the WAL), so that is retried here for as long.
    fn write_tx(&mut self, what: &str) -> Result<Transaction<'_>> {
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
}

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
fn check_header(path: &Path, location: &str) -> Result<()> {
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

/// Keeps a cached statement's plan when new values are bound to it (SQLite's query planner
/// stability guarantee). Without it SQLite re-prepares a statement at each new binding of a
/// parameter its planner looked at — every per-version read, 8,000 times in one `report` of
/// 2,000 versions — though with no statistics tables the plan cannot change.
fn stable_plans(conn: &Connection, loc: &str) -> Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .ctx(loc, "set query planner stability")?;
    Ok(())
}

/// Stages part `k` of `n` of a version (see [`Registry::seal_dataset`]).
/// Writes members (path, shard id) of a published version, with their `dup` mark, or of
/// a staged part.
fn insert_members(
    conn: &Connection,
    loc: &str,
    owner: Owner,
    members: &[(&[u8], i64)],
) -> Result<()> {
    match owner {
        Owner::Dataset(id) => {
            let mut stmt = conn
                .prepare_cached(
                    "INSERT INTO dataset_shards (dataset_id, path, shard_id, dup) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .ctx(loc, "store dataset shard")?;
            let dup = super::dup_flags(members.iter().copied());
            for ((path, shard), dup) in members.iter().zip(dup) {
                stmt.execute(params![id, path, shard, dup])
                    .ctx(loc, "store dataset shard")?;
            }
        }
        Owner::Part(id) => {
            let mut stmt = conn
                .prepare_cached(
                    "INSERT INTO dataset_part_shards (part_id, path, shard_id) VALUES (?1, ?2, ?3)",
                )
                .ctx(loc, "stage part shards")?;
            for (path, shard) in members {
                stmt.execute(params![id, path, shard])
                    .ctx(loc, "stage part shards")?;
            }
        }
    }
    Ok(())
}

/// Stores the members' shards and attributions: the same bytes are one shard, whose stored
/// attributions are kept and added to. Returns each member's shard id, how many shards
/// already known had attributions this scan did not find (same bytes, same provenance),
/// and whether none was known.
fn store_shards(tx: &Connection, loc: &str, members: &[Member]) -> Result<StoredShards> {
    check_sources(tx, loc, members)?;
    let mut inherited_shards = 0;
    let mut known = Vec::new();
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
    let by_hash = super::by_hash(members);
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
            known.push(id);
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
    Ok(StoredShards {
        ids: shard_ids,
        inherited: inherited_shards,
        known: {
            known.sort_unstable();
            known.dedup();
            known
        },
    })
}

/// Every source the members' attributions name must exist. A scan's write runs without
/// SQLite's per-row foreign-key checks (see `write_scan`), so the reference is checked here
/// once per source, as the PostgreSQL backend does.
fn check_sources(tx: &Connection, loc: &str, members: &[Member]) -> Result<()> {
    let mut sources: Vec<&str> = members
        .iter()
        .flat_map(|m| m.content().map(|a| a.source.as_str()))
        .collect();
    sources.sort_unstable();
    sources.dedup();
    let mut stmt = tx
        .prepare_cached("SELECT COUNT(*) FROM sources WHERE id = ?1")
        .ctx(loc, "check sources")?;
    for s in sources {
        let n: i64 = stmt
            .query_row([s], |r| r.get(0))
            .ctx(loc, "check sources")?;
        if n == 0 {
            return Err(RegistryError::UnknownSource(s.to_string()));
        }
    }
    Ok(())
}

/// A connection, or the write transaction open on it, as the shared workflows use it.
struct Lite<'a> {
    conn: &'a Connection,
    location: &'a str,
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Param::Null => ValueRef::Null,
            Param::Int(v) => ValueRef::Integer(v),
            Param::Bool(b) => ValueRef::Integer(i64::from(b)),
            Param::Text(s) => ValueRef::Text(s.as_bytes()),
            Param::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn value_of(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(v) => Value::Int(v),
        // The schema stores no floating point; a REAL can only be an integer stored so.
        ValueRef::Real(v) => Value::Int(v as i64),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

impl Conn for Lite<'_> {
    fn location(&self) -> &str {
        self.location
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>], what: &str) -> Result<u64> {
        let mut stmt = self.conn.prepare_cached(sql).ctx(self.location, what)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params))
            .ctx(self.location, what)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>], what: &str) -> Result<Rows> {
        let loc = self.location;
        let mut stmt = self.conn.prepare_cached(sql).ctx(loc, what)?;
        let n = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params))
            .ctx(loc, what)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().ctx(loc, what)? {
            let row = (0..n)
                .map(|k| r.get_ref(k).map(value_of))
                .collect::<rusqlite::Result<Vec<_>>>()
                .ctx(loc, what)?;
            out.push(row);
        }
        Ok(Rows::new(out, loc, what))
    }

    fn insert_id(&mut self, sql: &str, params: &[Param<'_>], what: &str) -> Result<i64> {
        self.execute(sql, params, what)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn row_lock(&self, _clause: &'static str) -> &'static str {
        // A write transaction here is IMMEDIATE: it holds the whole file's write lock.
        ""
    }

    fn lock_chain(&mut self) -> Result<()> {
        // Likewise: one writer at a time, so the head read is the head appended after.
        Ok(())
    }

    fn store_shards(&mut self, members: &[Member]) -> Result<StoredShards> {
        store_shards(self.conn, self.location, members)
    }

    fn write_members(&mut self, owner: Owner, members: &[(&[u8], i64)]) -> Result<()> {
        insert_members(self.conn, self.location, owner, members)
    }

    fn insert_rows(&mut self, table: &str, columns: &[&str], rows: &[Vec<Value>]) -> Result<()> {
        let what = format!("import {table}");
        let marks: Vec<String> = (1..=columns.len()).map(|k| format!("?{k}")).collect();
        let mut stmt = self
            .conn
            .prepare(&format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                columns.join(", "),
                marks.join(", ")
            ))
            .ctx(self.location, &what)?;
        for row in rows {
            let values = row.iter().map(|v| {
                ToSqlOutput::Borrowed(match v {
                    Value::Null => ValueRef::Null,
                    Value::Int(n) => ValueRef::Integer(*n),
                    Value::Text(t) => ValueRef::Text(t.as_bytes()),
                    Value::Blob(b) => ValueRef::Blob(b),
                })
            });
            stmt.execute(rusqlite::params_from_iter(values))
                .ctx(self.location, &what)?;
        }
        Ok(())
    }

    fn continue_ids(&mut self) -> Result<()> {
        // SQLite gives a new row the largest rowid plus one: nothing to move on.
        Ok(())
    }
}

impl Backend for SqliteRegistry {
    fn read(&self) -> Box<dyn Conn + '_> {
        Box::new(Lite {
            conn: &self.conn,
            location: &self.location,
        })
    }

    fn write<T>(&mut self, what: &str, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        let location = self.location.clone();
        let tx = self.write_tx(what)?;
        let out = f(&mut Lite {
            conn: &tx,
            location: &location,
        })?;
        tx.commit().ctx(&location, what)?;
        Ok(out)
    }

    fn write_scan<T>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut dyn Conn) -> Result<T>,
    ) -> Result<T> {
        // The pragma cannot change inside a transaction: it is set around it, and set back
        // whatever the write did.
        self.conn
            .execute_batch("PRAGMA foreign_keys = OFF")
            .ctx(&self.location, "set pragmas")?;
        let out = self.write(what, f);
        let on = self
            .conn
            .execute_batch("PRAGMA foreign_keys = ON")
            .ctx(&self.location, "set pragmas");
        let out = out?;
        on?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn foreign_keys_are_checked_again_after_a_scan_write_whatever_it_did() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = SqliteRegistry::open(&dir.path().join("r.db")).unwrap();
        let fk = |reg: &SqliteRegistry| -> i64 {
            reg.conn
                .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
                .unwrap()
        };
        let failed: Result<()> =
            reg.write_scan("test", |_| Err(RegistryError::UnknownSource("x".into())));
        assert!(failed.is_err());
        assert_eq!(fk(&reg), 1);
        let inside = reg
            .write_scan("test", |c| {
                let r = c.query("PRAGMA foreign_keys", &[], "test")?;
                r.first().map_or(Ok(-1), |r| r.int(0))
            })
            .unwrap();
        assert_eq!((inside, fk(&reg)), (0, 1));
    }

    #[test]
    fn a_new_file_takes_the_page_size_and_an_older_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let size = |reg: &SqliteRegistry| -> i64 {
            reg.conn
                .query_row("PRAGMA page_size", [], |r| r.get(0))
                .unwrap()
        };
        let new = SqliteRegistry::open(&dir.path().join("new.db")).unwrap();
        assert_eq!(size(&new), i64::from(PAGE_SIZE));
        let old = dir.path().join("old.db");
        let c = Connection::open(&old).unwrap();
        // An empty file set to WAL, as a registry created before is: its first page is
        // written with 4 KiB pages.
        c.execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL")
            .unwrap();
        drop(c);
        let reopened = SqliteRegistry::open(&old).unwrap();
        assert_eq!(size(&reopened), 4096);
    }

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
        assert_eq!(expected.len(), 30);
        assert_eq!(tables, expected);
    }
}
