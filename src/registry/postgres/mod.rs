//! The registry in a PostgreSQL database (`--registry postgres://user@host:port/db`), for
//! teams: many writers on many machines. Same model, same answers as the SQLite backend;
//! the schema is versioned the same way (migrations under `migrations/pg/`, applied under an
//! advisory lock) and large writes go through `COPY ... (FORMAT binary)`. The event chain
//! is appended under a transaction-scoped advisory lock, so concurrent writers still make
//! one chain. A password in the URL never appears in messages: the location shown is the
//! URL without it. The shared workflows' `?N` statements are prepared once per connection.

use std::cell::{RefCell, RefMut};
use std::collections::{HashMap, HashSet};
use std::ops::DerefMut;
use std::str::FromStr;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, GenericClient, Row, Statement};

mod bulk;

use super::backend::Backend;
use super::conn::{Conn, Owner, Param, Rows, StoredShards, dollar};
use super::error::Result;
use super::{
    DatasetInfo, KnownShard, Member, RegistryError, SCHEMA_VERSION, SourceUsage, Value, VolumeRow,
    read, shards,
};
use crate::types::{DatasetRef, Date};

/// The PostgreSQL schema's migrations (numbered as SQLite's), applied under an advisory
/// lock and counted in the table `provtrack_schema`.
const MIGRATIONS: &[&str] = &migrations!("../migrations/pg/");

/// Advisory lock keys: schema migration, and the event chain's head.
const MIGRATION_LOCK: i64 = 0x7072_6f76_0001;
const CHAIN_LOCK: i64 = 0x7072_6f76_0002;

/// A registry in a PostgreSQL database.
pub struct PgRegistry {
    client: RefCell<Client>,
    location: String,
    /// Prepared statements, by SQL text as written (`?N`): a query is then one round trip,
    /// not two.
    statements: RefCell<HashMap<String, Statement>>,
}

pub(super) trait Ctx<T> {
    fn ctx(self, location: &str, context: &str) -> Result<T>;
}

impl<T> Ctx<T> for Result<T, postgres::Error> {
    fn ctx(self, location: &str, context: &str) -> Result<T> {
        self.map_err(|e| backend(location, context, e))
    }
}

fn backend(location: &str, context: &str, e: postgres::Error) -> RegistryError {
    // The server's own message when there is one (it names the constraint or the cause),
    // else the client's: either way one line, and never the password.
    let msg = match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let mut msg = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                let text = c.to_string();
                if !msg.contains(&text) {
                    msg.push_str(": ");
                    msg.push_str(&text);
                }
                cause = c.source();
            }
            msg
        }
    };
    RegistryError::Backend {
        location: location.to_string(),
        context: context.to_string(),
        source: msg.replace('\n', " ").into(),
    }
}

pub(super) fn bad(location: &str, context: &str, what: String) -> RegistryError {
    RegistryError::Backend {
        location: location.to_string(),
        context: context.to_string(),
        source: what.into(),
    }
}

pub(super) fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(super) fn u(v: i64) -> u64 {
    v.max(0) as u64
}

fn hash_of(loc: &str, bytes: &[u8]) -> Result<blake3::Hash> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| bad(loc, "read hash", format!("{} bytes, not 32", bytes.len())))?;
    Ok(blake3::Hash::from_bytes(arr))
}

fn date_of(loc: &str, s: &str) -> Result<Date> {
    s.parse().map_err(|e: String| bad(loc, "read date", e))
}

impl PgRegistry {
    /// Connects (TLS when the URL's `sslmode` asks for it) and migrates the schema.
    pub fn open(url: &str) -> Result<PgRegistry> {
        PgRegistry::open_with(url, true)
    }

    /// Connects; with `create`, creates or migrates the schema, else refuses a database
    /// that holds no registry ([`RegistryError::Missing`]) and creates nothing.
    pub fn open_with(url: &str, create: bool) -> Result<PgRegistry> {
        let location = super::redact(url);
        let config = postgres::Config::from_str(url).map_err(|e| RegistryError::Unsupported {
            location: location.clone(),
            why: format!("not a PostgreSQL URL: {e}"),
        })?;
        let client = match config.get_ssl_mode() {
            postgres::config::SslMode::Disable => config.connect(postgres::NoTls),
            _ => {
                let roots = rustls::RootCertStore::from_iter(
                    webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
                );
                let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(|e| RegistryError::Unsupported {
                    location: location.clone(),
                    why: format!("TLS: {e}"),
                })?
                .with_root_certificates(roots)
                .with_no_client_auth();
                config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
            }
        }
        .map_err(|e| backend(&location, "connect", e))?;
        let reg = PgRegistry {
            client: RefCell::new(client),
            location,
            statements: RefCell::new(HashMap::new()),
        };
        if !create && reg.schema_version(&mut *reg.client.borrow_mut())?.is_none() {
            return Err(RegistryError::Missing {
                location: reg.location.clone(),
            });
        }
        reg.migrate()?;
        Ok(reg)
    }

    fn schema_version(&self, c: &mut impl postgres::GenericClient) -> Result<Option<i64>> {
        let loc = &self.location;
        let exists: bool = c
            // pg_tables, not to_regclass: a name looked up before another process created
            // the table may still be cached as missing in this session.
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() \
                 AND tablename = 'provtrack_schema')",
                &[],
            )
            .ctx(loc, "read schema version")?
            .get(0);
        if !exists {
            return Ok(None);
        }
        let row = c
            .query_opt("SELECT version FROM provtrack_schema", &[])
            .ctx(loc, "read schema version")?;
        Ok(Some(row.map_or(0, |r| r.get(0))))
    }

    fn migrate(&self) -> Result<()> {
        let loc = self.location.clone();
        let mut client = self.client.borrow_mut();
        if let Some(v) = self.schema_version(&mut *client)?
            && !RegistryError::older_schema(&loc, v, SCHEMA_VERSION)?
        {
            return Ok(());
        }
        let mut tx = client.transaction().ctx(&loc, "begin migration")?;
        // Two processes migrating at once: the second waits here, then finds it done.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .ctx(&loc, "lock for migration")?;
        let version = match self.schema_version(&mut tx)? {
            Some(v) => v,
            None => {
                let tables: i64 = tx
                    .query_one(
                        "SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()",
                        &[],
                    )
                    .ctx(&loc, "inspect schema")?
                    .get(0);
                if tables > 0 {
                    return Err(RegistryError::foreign(&loc, "a database"));
                }
                tx.batch_execute(
                    "CREATE TABLE provtrack_schema (version BIGINT NOT NULL); \
                     INSERT INTO provtrack_schema VALUES (0);",
                )
                .ctx(&loc, "create schema version")?;
                0
            }
        };
        RegistryError::older_schema(&loc, version, SCHEMA_VERSION)?;
        for (k, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.batch_execute(sql)
                .ctx(&loc, &format!("apply migration {}", k + 1))?;
        }
        tx.execute(
            "UPDATE provtrack_schema SET version = $1",
            &[&SCHEMA_VERSION],
        )
        .ctx(&loc, "set schema version")?;
        tx.commit().ctx(&loc, "commit migration")
    }
}

/// A parameter as the statement's declared type wants it (NULL typed too: the client
/// checks types, and binary COPY as well).
fn pg_param<'p>(p: Param<'p>, ty: &Type) -> Box<dyn ToSql + Sync + 'p> {
    match (p, ty) {
        (Param::Int(n), t) if *t == Type::BOOL => Box::new(n != 0),
        (Param::Int(n), t) if *t == Type::INT4 => Box::new(i32::try_from(n).unwrap_or(i32::MAX)),
        (Param::Int(n), _) => Box::new(n),
        (Param::Bool(b), _) => Box::new(b),
        (Param::Text(s), _) => Box::new(s),
        (Param::Blob(b), _) => Box::new(b),
        (Param::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
        (Param::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Param::Null, t) if *t == Type::INT4 => Box::new(None::<i32>),
        (Param::Null, t) if *t == Type::BYTEA => Box::new(None::<&[u8]>),
        (Param::Null, _) => Box::new(None::<&str>),
    }
}

/// A stored value as a parameter.
fn param_of(v: &Value) -> Param<'_> {
    match v {
        Value::Null => Param::Null,
        Value::Int(n) => Param::Int(*n),
        Value::Text(s) => Param::Text(s),
        Value::Blob(b) => Param::Blob(b),
    }
}

/// A row's columns as values, by their declared types (booleans as 0/1).
fn values_of(r: &Row) -> Result<Vec<Value>, postgres::Error> {
    (0..r.len())
        .map(|k| {
            let ty = r.columns()[k].type_();
            if *ty == Type::BOOL {
                r.try_get::<_, Option<bool>>(k)
                    .map(|v| v.map_or(Value::Null, |b| Value::Int(i64::from(b))))
            } else if *ty == Type::INT8 {
                r.try_get::<_, Option<i64>>(k)
                    .map(|v| v.map_or(Value::Null, Value::Int))
            } else if *ty == Type::INT4 {
                r.try_get::<_, Option<i32>>(k)
                    .map(|v| v.map_or(Value::Null, |n| Value::Int(i64::from(n))))
            } else if *ty == Type::BYTEA {
                r.try_get::<_, Option<Vec<u8>>>(k)
                    .map(|v| v.map_or(Value::Null, Value::Blob))
            } else {
                r.try_get::<_, Option<String>>(k)
                    .map(|v| v.map_or(Value::Null, Value::Text))
            }
        })
        .collect()
}

/// The connection, or a transaction on it, with the statement cache.
struct PgConn<'a, C> {
    c: C,
    statements: RefMut<'a, HashMap<String, Statement>>,
    location: &'a str,
}

impl<C> PgConn<'_, C>
where
    C: DerefMut,
    C::Target: GenericClient + Sized,
{
    /// `sql` prepared once (its `?N` read as `$N`).
    fn statement(&mut self, sql: &str, what: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.c.prepare(&dollar(sql)).ctx(self.location, what)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Runs `sql` with parameters given as the client's own values (arrays).
    fn raw(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)], what: &str) -> Result<Vec<Row>> {
        let stmt = self.statement(sql, what)?;
        self.c.query(&stmt, params).ctx(self.location, what)
    }

    /// Runs `sql` with `params` bound as the statement's declared types want them: its
    /// rows with `query`, else the number of rows it changed.
    fn bound(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        what: &str,
        query: bool,
    ) -> Result<(Vec<Row>, u64)> {
        let stmt = self.statement(sql, what)?;
        let values: Vec<Box<dyn ToSql + Sync>> = params
            .iter()
            .zip(stmt.params())
            .map(|(p, ty)| pg_param(*p, ty))
            .collect();
        let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|b| &**b).collect();
        let out = if query {
            self.c.query(&stmt, &refs).map(|rows| (rows, 0))
        } else {
            self.c.execute(&stmt, &refs).map(|n| (Vec::new(), n))
        };
        out.ctx(self.location, what)
    }
}

impl<C> Conn for PgConn<'_, C>
where
    C: DerefMut,
    C::Target: GenericClient + Sized,
{
    fn location(&self) -> &str {
        self.location
    }

    fn execute(&mut self, sql: &str, params: &[Param<'_>], what: &str) -> Result<u64> {
        Ok(self.bound(sql, params, what, false)?.1)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>], what: &str) -> Result<Rows> {
        let (rows, _) = self.bound(sql, params, what, true)?;
        let values = rows
            .iter()
            .map(values_of)
            .collect::<Result<Vec<_>, _>>()
            .ctx(self.location, what)?;
        Ok(Rows::new(values, self.location, what))
    }

    fn insert_id(&mut self, sql: &str, params: &[Param<'_>], what: &str) -> Result<i64> {
        let (rows, _) = self.bound(&format!("{sql} RETURNING id"), params, what, true)?;
        match rows.first() {
            Some(r) => r.try_get(0).ctx(self.location, what),
            None => Err(bad(self.location, what, "no id returned".into())),
        }
    }

    fn row_lock(&self, clause: &'static str) -> &'static str {
        clause
    }

    fn lock_chain(&mut self) -> Result<()> {
        // Held until the transaction ends: concurrent writers append one after the other,
        // each after the previous head.
        self.raw(
            "SELECT pg_advisory_xact_lock($1)",
            &[&CHAIN_LOCK],
            "lock the chain head",
        )?;
        Ok(())
    }

    fn store_shards(&mut self, members: &[Member]) -> Result<StoredShards> {
        bulk::store_shards(&mut *self.c, self.location, members)
    }

    fn write_members(&mut self, owner: Owner, members: &[(&[u8], i64)]) -> Result<()> {
        bulk::copy_members(&mut *self.c, self.location, owner, members)
    }

    fn insert_rows(&mut self, table: &str, columns: &[&str], rows: &[Vec<Value>]) -> Result<()> {
        let loc = self.location;
        let what = format!("import {table}");
        let cols = columns.join(", ");
        let types: Vec<Type> = self
            .c
            .prepare(&format!("SELECT {cols} FROM {table} LIMIT 0"))
            .ctx(loc, &what)?
            .columns()
            .iter()
            .map(|c| c.type_().clone())
            .collect();
        let w = self
            .c
            .copy_in(&format!("COPY {table} ({cols}) FROM STDIN (FORMAT binary)"))
            .ctx(loc, &what)?;
        let mut w = BinaryCopyInWriter::new(w, &types);
        for row in rows {
            let values: Vec<Box<dyn ToSql + Sync>> = row
                .iter()
                .zip(&types)
                .map(|(v, ty)| pg_param(param_of(v), ty))
                .collect();
            let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|b| &**b).collect();
            w.write(&refs).ctx(loc, &what)?;
        }
        w.finish().ctx(loc, &what)?;
        Ok(())
    }

    fn continue_ids(&mut self) -> Result<()> {
        for table in super::GENERATED_IDS {
            self.c
                .execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                         COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    ),
                    &[],
                )
                .ctx(self.location, "continue generated ids")?;
        }
        Ok(())
    }
}

impl PgRegistry {
    fn conn(&self) -> PgConn<'_, RefMut<'_, Client>> {
        PgConn {
            c: self.client.borrow_mut(),
            statements: self.statements.borrow_mut(),
            location: &self.location,
        }
    }
}

impl Backend for PgRegistry {
    fn read(&self) -> Box<dyn Conn + '_> {
        Box::new(self.conn())
    }

    fn write<T>(&mut self, what: &str, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        let loc = self.location.as_str();
        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction().ctx(loc, what)?;
        let out = f(&mut PgConn {
            c: &mut tx,
            statements: self.statements.borrow_mut(),
            location: loc,
        })?;
        tx.commit().ctx(loc, what)?;
        Ok(out)
    }

    fn known_shards(&self, hashes: &[blake3::Hash]) -> Result<HashMap<blake3::Hash, KnownShard>> {
        let loc = &self.location;
        let mut c = self.conn();
        let mut out: HashMap<blake3::Hash, KnownShard> = HashMap::new();
        for chunk in hashes.chunks(20_000) {
            let keys: Vec<&[u8]> = chunk.iter().map(|h| h.as_bytes().as_slice()).collect();
            for r in c.raw(
                "SELECT s.hash, s.unattributed_records, s.unattributed_bytes, a.source_id, \
                 a.records, a.bytes FROM shards s LEFT JOIN attributions a ON a.shard_id = s.id \
                 WHERE s.hash = ANY($1) ORDER BY s.hash, a.source_id",
                &[&keys],
                "look up shards",
            )? {
                let h = hash_of(loc, r.get(0))?;
                let k = out.entry(h).or_insert_with(|| KnownShard {
                    sources: Vec::new(),
                    unattributed_records: u(r.get(1)),
                    unattributed_bytes: u(r.get(2)),
                    declared: Vec::new(),
                });
                if let Some(source) = r.get::<_, Option<String>>(3) {
                    k.sources
                        .push((source, u(r.get::<_, i64>(4)), u(r.get::<_, i64>(5))));
                }
            }
            for r in c.raw(
                &format!(
                    "SELECT {} s.hash = ANY($1) ORDER BY 1, 2",
                    shards::DECLARED_BY
                ),
                &[&keys],
                "look up shards",
            )? {
                let h = hash_of(loc, r.get(2))?;
                if let Some(k) = out.get_mut(&h) {
                    let version: String = r.get(0);
                    let version = version
                        .parse()
                        .map_err(|e: String| bad(loc, "look up shards", e))?;
                    k.declared.push((version, r.get(1)));
                }
            }
        }
        Ok(out)
    }

    fn datasets_usage(
        &self,
        refs: &[DatasetRef],
    ) -> Result<HashMap<DatasetRef, (DatasetInfo, Vec<SourceUsage>)>> {
        if refs.is_empty() {
            return Ok(HashMap::new());
        }
        let wanted: HashSet<&DatasetRef> = refs.iter().collect();
        let mut by_id: HashMap<i64, (DatasetInfo, Vec<SourceUsage>)> =
            read::datasets(&mut self.conn(), None)?
                .into_iter()
                .filter(|(_, info)| wanted.contains(&info.dataset))
                .map(|(id, info)| (id, (info, Vec::new())))
                .collect();
        let ids: Vec<i64> = by_id.keys().copied().collect();
        let mut c = self.conn();
        // What its shards' bytes showed (each distinct shard of a version once: the members
        // not marked `dup`), then what it declared, merged as on every backend.
        let mut observed: HashMap<i64, Vec<SourceUsage>> = HashMap::new();
        for row in c.raw(
            "SELECT m.dataset_id, a.source_id, COUNT(*), SUM(a.records)::BIGINT, \
             SUM(a.bytes)::BIGINT FROM dataset_shards m \
             JOIN attributions a ON a.shard_id = m.shard_id \
             WHERE m.dataset_id = ANY($1) AND NOT m.dup GROUP BY 1, 2 ORDER BY 1, 2",
            &[&ids],
            "read dataset usage",
        )? {
            observed.entry(row.get(0)).or_default().push(SourceUsage {
                source: Some(row.get(1)),
                shards: u(row.get(2)),
                records: u(row.get(3)),
                bytes: u(row.get(4)),
            });
        }
        let mut declared: HashMap<i64, Vec<(SourceUsage, u64)>> = HashMap::new();
        for row in c.raw(
            &format!(
                "SELECT d.dataset_id, d.source_id, {} d.dataset_id = ANY($1) GROUP BY 1, 2",
                read::DECLARED_USAGE
            ),
            &[&ids],
            "read dataset usage",
        )? {
            declared.entry(row.get(0)).or_default().push((
                SourceUsage {
                    source: Some(row.get(1)),
                    shards: u(row.get(2)),
                    records: u(row.get(3)),
                    bytes: u(row.get(4)),
                },
                u(row.get(5)),
            ));
        }
        for (id, (_, usage)) in by_id.iter_mut() {
            *usage = super::merge_usage(
                observed.remove(id).unwrap_or_default(),
                declared.remove(id).unwrap_or_default(),
            );
        }
        for row in c.raw(
            "SELECT dataset_id, COUNT(*), SUM(records)::BIGINT, SUM(bytes)::BIGINT \
             FROM version_unattributed WHERE dataset_id = ANY($1) GROUP BY 1",
            &[&ids],
            "read dataset usage",
        )? {
            if let Some((_, usage)) = by_id.get_mut(&row.get::<_, i64>(0)) {
                usage.push(SourceUsage {
                    source: None,
                    shards: u(row.get(1)),
                    records: u(row.get(2)),
                    bytes: u(row.get(3)),
                });
            }
        }
        Ok(by_id
            .into_values()
            .map(|(info, usage)| (info.dataset.clone(), (info, usage)))
            .collect())
    }

    fn cap_volumes(&self, sources: &[String]) -> Result<HashMap<(String, String), Vec<VolumeRow>>> {
        let loc = &self.location;
        let mut out: HashMap<(String, String), Vec<VolumeRow>> = HashMap::new();
        if sources.is_empty() {
            return Ok(out);
        }
        let mut rows: HashMap<(String, String, blake3::Hash), VolumeRow> = HashMap::new();
        for r in self.conn().raw(
            // What the bytes showed, per org the shard's first collection; then what versions
            // declared, added to the same (source, org, shard).
            "SELECT a.source_id, d.org, s.hash, MIN(d.collected), MIN(a.records) \
             FROM attributions a JOIN dataset_shards m ON m.shard_id = a.shard_id \
             JOIN datasets d ON d.id = m.dataset_id JOIN shards s ON s.id = a.shard_id \
             WHERE a.source_id = ANY($1) AND d.org IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM retractions r WHERE r.dataset_id = d.id) \
             GROUP BY a.source_id, d.org, a.shard_id, s.hash \
             UNION ALL \
             SELECT d.source_id, x.org, s.hash, MIN(x.collected), MIN(s.unattributed_records) \
             FROM declarations d JOIN datasets x ON x.id = d.dataset_id \
             JOIN shards s ON s.id = d.shard_id \
             WHERE d.source_id = ANY($1) AND x.org IS NOT NULL AND s.unattributed_records > 0 \
             AND NOT EXISTS (SELECT 1 FROM retractions r WHERE r.dataset_id = x.id) \
             GROUP BY d.source_id, x.org, d.shard_id, s.hash",
            &[&sources],
            "read source volumes",
        )? {
            let row = VolumeRow {
                collected: date_of(loc, r.get(3))?,
                shard: hash_of(loc, r.get(2))?,
                records: u(r.get(4)),
            };
            // The same shard observed and declared: one row, its records added.
            match rows.entry((r.get(0), r.get(1), row.shard)) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    let v = e.get_mut();
                    v.records = v.records.saturating_add(row.records);
                    v.collected = v.collected.min(row.collected);
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(row);
                }
            }
        }
        for ((source, org, _), row) in rows {
            out.entry((source, org)).or_default().push(row);
        }
        Ok(out)
    }
}
