//! The registry in a PostgreSQL database (`--registry postgres://user@host:port/db`), for
//! teams: many writers on many machines. Same model, same answers as the SQLite backend;
//! the schema is versioned the same way (migrations under `migrations/pg/`, applied under an
//! advisory lock) and large writes go through `COPY ... (FORMAT binary)`. The event chain
//! is appended under a transaction-scoped advisory lock, so concurrent writers still make
//! one chain. A password in the URL never appears in messages: the location shown is the
//! URL without it.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, Row, Transaction};

use super::{
    Application, Cap, CardAttributed, CardImport, ContentRow, DatasetInfo, DatasetTotals,
    Disclosure, Event, EventDraft, ExportedTable, Grant, KnownShard, Member, NewDataset,
    PartMember, Policy, Registered, Registry, RegistryError, Shard, ShardLinks, Source,
    SourceUsage, StagedPartRow, StoredMember, Subject, TrainingRun, Value, VolumeRow, check_table,
};
use crate::events;
use crate::licence::Licence;
use crate::types::{DatasetRef, Date, utc_now_rfc3339};

/// Ordered migrations; the same numbering as the SQLite ones.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/pg/0001_init.sql"),
    include_str!("migrations/pg/0002_scan_state.sql"),
    include_str!("migrations/pg/0003_parts.sql"),
    include_str!("migrations/pg/0004_first_member.sql"),
];

/// The schema version this binary writes (equal to SQLite's: one model).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Advisory lock keys: schema migration, and the event chain's head.
const MIGRATION_LOCK: i64 = 0x7072_6f76_0001;
const CHAIN_LOCK: i64 = 0x7072_6f76_0002;

/// A registry in a PostgreSQL database.
pub struct PgRegistry {
    client: RefCell<Client>,
    location: String,
    /// Prepared read statements, by SQL text: a query is then one round trip, not two.
    statements: RefCell<HashMap<String, postgres::Statement>>,
}

trait Ctx<T> {
    fn ctx(self, location: &str, context: &str) -> Result<T, RegistryError>;
}

impl<T> Ctx<T> for Result<T, postgres::Error> {
    fn ctx(self, location: &str, context: &str) -> Result<T, RegistryError> {
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

fn bad(location: &str, context: &str, what: String) -> RegistryError {
    RegistryError::Backend {
        location: location.to_string(),
        context: context.to_string(),
        source: what.into(),
    }
}

fn i(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

fn hash_of(loc: &str, bytes: &[u8]) -> Result<blake3::Hash, RegistryError> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| bad(loc, "read hash", format!("{} bytes, not 32", bytes.len())))?;
    Ok(blake3::Hash::from_bytes(arr))
}

fn date_of(loc: &str, s: &str) -> Result<Date, RegistryError> {
    s.parse().map_err(|e: String| bad(loc, "read date", e))
}

fn dataset_ref_of(loc: &str, s: &str) -> Result<DatasetRef, RegistryError> {
    s.parse().map_err(|e: String| bad(loc, "read dataset", e))
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

impl PgRegistry {
    /// Connects (TLS when the URL's `sslmode` asks for it) and migrates the schema.
    pub fn open(url: &str) -> Result<PgRegistry, RegistryError> {
        let location = redact(url);
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
        reg.migrate()?;
        Ok(reg)
    }

    fn schema_version(
        &self,
        c: &mut impl postgres::GenericClient,
    ) -> Result<Option<i64>, RegistryError> {
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

    fn migrate(&self) -> Result<(), RegistryError> {
        let loc = self.location.clone();
        let mut client = self.client.borrow_mut();
        if let Some(v) = self.schema_version(&mut *client)? {
            if v > SCHEMA_VERSION {
                return Err(RegistryError::TooNew {
                    location: loc,
                    found: v,
                    known: SCHEMA_VERSION,
                });
            }
            if v == SCHEMA_VERSION {
                return Ok(());
            }
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
                    return Err(RegistryError::NotARegistry {
                        location: loc,
                        why: "a database with tables of another program".into(),
                    });
                }
                tx.batch_execute(
                    "CREATE TABLE provtrack_schema (version BIGINT NOT NULL); \
                     INSERT INTO provtrack_schema VALUES (0);",
                )
                .ctx(&loc, "create schema version")?;
                0
            }
        };
        if version > SCHEMA_VERSION {
            return Err(RegistryError::TooNew {
                location: loc,
                found: version,
                known: SCHEMA_VERSION,
            });
        }
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

    fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        what: &str,
    ) -> Result<Vec<Row>, RegistryError> {
        let mut client = self.client.borrow_mut();
        let mut statements = self.statements.borrow_mut();
        let stmt = match statements.get(sql) {
            Some(s) => s.clone(),
            None => {
                let s = client.prepare(sql).ctx(&self.location, what)?;
                statements.insert(sql.to_string(), s.clone());
                s
            }
        };
        client.query(&stmt, params).ctx(&self.location, what)
    }

    fn dataset_id(&self, r: &DatasetRef) -> Result<Option<i64>, RegistryError> {
        Ok(self
            .query(
                "SELECT id FROM datasets WHERE name = $1 AND version = $2",
                &[&r.name, &r.version],
                "look up dataset",
            )?
            .first()
            .map(|r| r.get(0)))
    }

    fn read_datasets(&self, filter: Option<i64>) -> Result<Vec<DatasetInfo>, RegistryError> {
        Ok(self
            .read_datasets_by_id(filter)?
            .into_iter()
            .map(|(_, d)| d)
            .collect())
    }

    /// Dataset versions (all, or the one with id `filter`) with their ids, by name and
    /// version.
    fn read_datasets_by_id(
        &self,
        filter: Option<i64>,
    ) -> Result<Vec<(i64, DatasetInfo)>, RegistryError> {
        let loc = &self.location;
        let mut parents: HashMap<i64, Vec<DatasetRef>> = HashMap::new();
        for row in self.query(
            "SELECT p.dataset_id, d.name || '@' || d.version FROM dataset_parents p \
             JOIN datasets d ON d.id = p.parent_id ORDER BY d.name, d.version",
            &[],
            "read dataset parents",
        )? {
            parents
                .entry(row.get(0))
                .or_default()
                .push(dataset_ref_of(loc, row.get(1))?);
        }
        let rows = self.query(
            "SELECT id, name, version, org, collected, root_hash, files, bytes, records \
             FROM datasets WHERE $1::BIGINT IS NULL OR id = $1 ORDER BY name, version",
            &[&filter],
            "read datasets",
        )?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.get(0);
                Ok((
                    id,
                    DatasetInfo {
                        dataset: DatasetRef {
                            name: r.get(1),
                            version: r.get(2),
                        },
                        org: r.get(3),
                        collected: date_of(loc, r.get(4))?,
                        root: hash_of(loc, r.get(5))?,
                        files: u(r.get(6)),
                        bytes: u(r.get(7)),
                        records: u(r.get(8)),
                        parents: parents.get(&id).cloned().unwrap_or_default(),
                    },
                ))
            })
            .collect()
    }

    fn grouped(
        &self,
        sql: &str,
        what: &str,
    ) -> Result<HashMap<String, Vec<String>>, RegistryError> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for row in self.query(sql, &[], what)? {
            out.entry(row.get(0)).or_default().push(row.get(1));
        }
        Ok(out)
    }

    fn write<T>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Transaction<'_>, &str) -> Result<T, RegistryError>,
    ) -> Result<T, RegistryError> {
        let loc = self.location.clone();
        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction().ctx(&loc, what)?;
        let out = f(&mut tx, &loc)?;
        tx.commit().ctx(&loc, what)?;
        Ok(out)
    }
}

/// Appends one event to the chain inside `tx`, holding the chain lock until it commits:
/// concurrent writers append one after the other, each after the previous head.
fn append_event(
    tx: &mut Transaction<'_>,
    loc: &str,
    draft: &EventDraft,
) -> Result<(), RegistryError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHAIN_LOCK])
        .ctx(loc, "lock the chain head")?;
    let last = tx
        .query_opt(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .ctx(loc, "read chain head")?;
    let (seq, prev) = match last {
        Some(r) => (r.get::<_, i64>(0), r.get::<_, String>(1)),
        None => (0, events::GENESIS.to_string()),
    };
    let seq = u(seq) + 1;
    let time = utc_now_rfc3339();
    let payload = events::canonical(&draft.payload);
    let hash = events::chain_hash(&prev, seq, &time, &draft.actor, &draft.kind, &payload);
    tx.execute(
        "INSERT INTO events (seq, time, actor, kind, payload, prev, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &i(seq),
            &time,
            &draft.actor,
            &draft.kind,
            &payload,
            &prev,
            &hash,
        ],
    )
    .ctx(loc, "append event")?;
    Ok(())
}

fn upsert_training(
    tx: &mut Transaction<'_>,
    loc: &str,
    t: &TrainingRun,
) -> Result<(), RegistryError> {
    tx.execute(
        "INSERT INTO training_runs (model, org, date) VALUES ($1, $2, $3) \
         ON CONFLICT (model) DO UPDATE SET org = excluded.org, date = excluded.date",
        &[&t.model, &t.org, &t.date.to_string()],
    )
    .ctx(loc, "store training run")?;
    tx.execute(
        "DELETE FROM training_datasets WHERE model = $1",
        &[&t.model],
    )
    .ctx(loc, "store training run")?;
    tx.execute("DELETE FROM training_uses WHERE model = $1", &[&t.model])
        .ctx(loc, "store training run")?;
    for d in &t.datasets {
        tx.execute(
            "INSERT INTO training_datasets (model, dataset) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&t.model, &d.to_string()],
        )
        .ctx(loc, "store training run")?;
    }
    for use_ in &t.uses {
        tx.execute(
            "INSERT INTO training_uses (model, use_name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&t.model, use_],
        )
        .ctx(loc, "store training run")?;
    }
    Ok(())
}

fn upsert_policy(tx: &mut Transaction<'_>, loc: &str, p: &Policy) -> Result<(), RegistryError> {
    for s in &p.sources {
        tx.execute(
            "INSERT INTO sources (id, name) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            &[&s.id, &s.name],
        )
        .ctx(loc, "store source")?;
        tx.execute("DELETE FROM source_domains WHERE source_id = $1", &[&s.id])
            .ctx(loc, "store source")?;
        for d in &s.domains {
            let owner = tx
                .query_opt(
                    "SELECT source_id FROM source_domains WHERE domain = $1",
                    &[d],
                )
                .ctx(loc, "store source")?;
            if let Some(owner) = owner {
                let owner: String = owner.get(0);
                return Err(RegistryError::DomainTaken {
                    domain: d.clone(),
                    source_id: s.id.clone(),
                    owner,
                });
            }
            tx.execute(
                "INSERT INTO source_domains (domain, source_id) VALUES ($1, $2)",
                &[d, &s.id],
            )
            .ctx(loc, "store source")?;
        }
    }
    for l in &p.licences {
        tx.execute(
            "INSERT INTO licences (id, name) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
            &[&l.id, &l.name],
        )
        .ctx(loc, "store licence")?;
        tx.execute("DELETE FROM licence_terms WHERE licence_id = $1", &[&l.id])
            .ctx(loc, "store licence")?;
        let terms = l
            .allow
            .iter()
            .map(|t| ("allow", t))
            .chain(l.deny.iter().map(|t| ("deny", t)))
            .chain(l.conditions.iter().map(|t| ("condition", t)));
        for (kind, term) in terms {
            tx.execute(
                "INSERT INTO licence_terms (licence_id, kind, term) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&l.id, &kind, term],
            )
            .ctx(loc, "store licence")?;
        }
    }
    for g in &p.grants {
        tx.execute(
            "INSERT INTO grants (id, source_id, licence_id, grantee, valid_from, valid_until, \
             cap_records, cap_per) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET source_id = excluded.source_id, \
             licence_id = excluded.licence_id, grantee = excluded.grantee, \
             valid_from = excluded.valid_from, valid_until = excluded.valid_until, \
             cap_records = excluded.cap_records, cap_per = excluded.cap_per",
            &[
                &g.id,
                &g.source,
                &g.licence,
                &g.grantee,
                &g.from.to_string(),
                &g.until.map(|d| d.to_string()),
                &g.cap.map(|c| i(c.records)),
                &g.cap.map(|c| c.per.as_str()),
            ],
        )
        .ctx(loc, "store grant")?;
    }
    for t in &p.training {
        upsert_training(tx, loc, t)?;
    }
    for a in &p.applications {
        tx.execute(
            "INSERT INTO applications (id, org, disclosed) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET org = excluded.org, disclosed = excluded.disclosed",
            &[&a.id, &a.org, &a.disclosed],
        )
        .ctx(loc, "store application")?;
        tx.execute(
            "DELETE FROM application_models WHERE application_id = $1",
            &[&a.id],
        )
        .ctx(loc, "store application")?;
        for m in &a.models {
            tx.execute(
                "INSERT INTO application_models (application_id, model) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
                &[&a.id, m],
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
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET dataset = excluded.dataset, \
             source_id = excluded.source_id, recipient = excluded.recipient, \
             kind = excluded.kind, date = excluded.date, org = excluded.org",
            &[
                &d.id,
                &dataset,
                &source,
                &d.recipient,
                &d.kind,
                &d.date.to_string(),
                &d.org,
            ],
        )
        .ctx(loc, "store disclosure")?;
    }
    Ok(())
}

/// Stores the members' shards and attributions in bulk (binary COPY into temporary tables,
/// then set-based inserts in hash order): the same bytes are one shard, whose stored
/// attributions are kept and added to, and the smaller unattributed count wins. Returns
/// each member's shard id and how many known shards had attributions this scan did not find.
fn store_shards(
    tx: &mut Transaction<'_>,
    loc: &str,
    members: &[Member],
) -> Result<(Vec<i64>, u64), RegistryError> {
    let what = "store shards";
    // One row per distinct hash: the first member holding it, as SQLite's path does; in hash
    // order, the order every writer takes shard rows in (concurrent writers cannot deadlock).
    let mut first: HashMap<&[u8; 32], usize> = HashMap::with_capacity(members.len());
    for (k, m) in members.iter().enumerate() {
        first.entry(m.shard.hash.as_bytes()).or_insert(k);
    }
    let mut distinct: Vec<usize> = first.values().copied().collect();
    distinct.sort_by(|&a, &b| {
        members[a]
            .shard
            .hash
            .as_bytes()
            .cmp(members[b].shard.hash.as_bytes())
    });
    let hashes: Vec<&[u8]> = distinct
        .iter()
        .map(|&k| members[k].shard.hash.as_bytes().as_slice())
        .collect();

    // The references the schema does not check row by row (see migration 4): every source
    // named must exist.
    let mut sources: Vec<&str> = distinct
        .iter()
        .flat_map(|&k| members[k].attributions.iter().map(|a| a.source.as_str()))
        .collect();
    sources.sort_unstable();
    sources.dedup();
    if !sources.is_empty() {
        let known: HashSet<String> = tx
            .query("SELECT id FROM sources WHERE id = ANY($1)", &[&sources])
            .ctx(loc, what)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if let Some(s) = sources.iter().find(|s| !known.contains(**s)) {
            return Err(RegistryError::UnknownSource(s.to_string()));
        }
    }

    // Shard ids by hash, from rows of (hash, id).
    let mut ids: HashMap<blake3::Hash, i64> = HashMap::with_capacity(hashes.len());
    let take = |ids: &mut HashMap<blake3::Hash, i64>, rows: &[Row]| {
        for r in rows {
            if let Ok(h) = <[u8; 32]>::try_from(r.get::<_, &[u8]>(0)) {
                ids.insert(blake3::Hash::from_bytes(h), r.get(1));
            }
        }
    };
    let rows = tx
        .query(
            "SELECT hash, id FROM shards WHERE hash = ANY($1)",
            &[&hashes],
        )
        .ctx(loc, what)?;
    take(&mut ids, &rows);
    let existing: HashSet<blake3::Hash> = ids.keys().copied().collect();

    // New shards: one INSERT of arrays; a shard another writer stored meanwhile is skipped
    // here and treated as an existing one below.
    let new: Vec<usize> = distinct
        .iter()
        .copied()
        .filter(|&k| !existing.contains(&members[k].shard.hash))
        .collect();
    if !new.is_empty() {
        let col = |f: &dyn Fn(&Shard) -> i64| -> Vec<i64> {
            new.iter().map(|&k| f(&members[k].shard)).collect()
        };
        let new_hashes: Vec<&[u8]> = new
            .iter()
            .map(|&k| members[k].shard.hash.as_bytes().as_slice())
            .collect();
        let formats: Vec<&str> = new
            .iter()
            .map(|&k| members[k].shard.format.as_str())
            .collect();
        let problems: Vec<Option<&str>> = new
            .iter()
            .map(|&k| members[k].shard.problem.as_deref())
            .collect();
        let rows = tx
            .query(
                "INSERT INTO shards (hash, size, format, records, unattributed_records, \
                 unattributed_bytes, malformed, problem) \
                 SELECT * FROM UNNEST($1::BYTEA[], $2::BIGINT[], $3::TEXT[], $4::BIGINT[], \
                 $5::BIGINT[], $6::BIGINT[], $7::BIGINT[], $8::TEXT[]) \
                 ON CONFLICT (hash) DO NOTHING RETURNING hash, id",
                &[
                    &new_hashes,
                    &col(&|s| i(s.size)),
                    &formats,
                    &col(&|s| i(s.records)),
                    &col(&|s| i(s.unattributed_records)),
                    &col(&|s| i(s.unattributed_bytes)),
                    &col(&|s| i(s.malformed)),
                    &problems,
                ],
            )
            .ctx(loc, what)?;
        take(&mut ids, &rows);
    }
    let inserted: HashSet<blake3::Hash> = ids
        .keys()
        .copied()
        .filter(|h| !existing.contains(h))
        .collect();
    // Raced: stored by another writer after our first look.
    let raced: Vec<&[u8]> = new
        .iter()
        .map(|&k| &members[k].shard.hash)
        .filter(|h| !ids.contains_key(h))
        .map(|h| h.as_bytes().as_slice())
        .collect();
    if !raced.is_empty() {
        let rows = tx
            .query(
                "SELECT hash, id FROM shards WHERE hash = ANY($1)",
                &[&raced],
            )
            .ctx(loc, what)?;
        take(&mut ids, &rows);
    }
    let id_of = |h: &blake3::Hash| -> Result<i64, RegistryError> {
        ids.get(h)
            .copied()
            .ok_or_else(|| bad(loc, what, "a stored shard was not found again".into()))
    };

    // Attributions of the shards stored here: nobody else can hold them yet, so straight
    // into the table by binary COPY, in key order.
    let mut fresh: Vec<(i64, usize)> = Vec::with_capacity(inserted.len());
    let mut known: Vec<(i64, usize)> = Vec::new();
    for &k in &distinct {
        let id = id_of(&members[k].shard.hash)?;
        if inserted.contains(&members[k].shard.hash) {
            fresh.push((id, k));
        } else {
            known.push((id, k));
        }
    }
    fresh.sort_unstable();
    known.sort_unstable();
    if fresh
        .iter()
        .any(|&(_, k)| !members[k].attributions.is_empty())
    {
        let w = tx
            .copy_in(
                "COPY attributions (shard_id, source_id, records, bytes, method) \
                 FROM STDIN (FORMAT binary)",
            )
            .ctx(loc, what)?;
        let mut w = BinaryCopyInWriter::new(
            w,
            &[Type::INT8, Type::TEXT, Type::INT8, Type::INT8, Type::TEXT],
        );
        for &(id, k) in &fresh {
            for a in &members[k].attributions {
                w.write(&[
                    &id,
                    &a.source,
                    &i(a.records),
                    &i(a.bytes),
                    &a.method.as_str(),
                ])
                .ctx(loc, what)?;
            }
        }
        w.finish().ctx(loc, what)?;
    }

    // Shards already stored keep what was known of them: the smaller unattributed counts,
    // the attributions they had, plus the ones found now.
    let mut inherited = 0;
    if !known.is_empty() {
        let known_ids: Vec<i64> = known.iter().map(|&(id, _)| id).collect();
        let un_records: Vec<i64> = known
            .iter()
            .map(|&(_, k)| i(members[k].shard.unattributed_records))
            .collect();
        let un_bytes: Vec<i64> = known
            .iter()
            .map(|&(_, k)| i(members[k].shard.unattributed_bytes))
            .collect();
        tx.execute(
            "UPDATE shards s SET unattributed_records = LEAST(s.unattributed_records, t.ur), \
             unattributed_bytes = LEAST(s.unattributed_bytes, t.ub) \
             FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[]) AS t(id, ur, ub) \
             WHERE s.id = t.id AND (t.ur < s.unattributed_records OR t.ub < s.unattributed_bytes)",
            &[&known_ids, &un_records, &un_bytes],
        )
        .ctx(loc, what)?;
        let mut a_ids = Vec::new();
        let mut a_sources = Vec::new();
        let mut a_records = Vec::new();
        let mut a_bytes = Vec::new();
        let mut a_methods = Vec::new();
        for &(id, k) in &known {
            for a in &members[k].attributions {
                a_ids.push(id);
                a_sources.push(a.source.as_str());
                a_records.push(i(a.records));
                a_bytes.push(i(a.bytes));
                a_methods.push(a.method.as_str());
            }
        }
        if !a_ids.is_empty() {
            tx.execute(
                "INSERT INTO attributions (shard_id, source_id, records, bytes, method) \
                 SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], \
                 $5::TEXT[]) ORDER BY 1, 2 ON CONFLICT (shard_id, source_id) DO NOTHING",
                &[&a_ids, &a_sources, &a_records, &a_bytes, &a_methods],
            )
            .ctx(loc, what)?;
        }
        let stored: HashMap<i64, i64> = tx
            .query(
                "SELECT shard_id, COUNT(*) FROM attributions WHERE shard_id = ANY($1) \
                 GROUP BY shard_id",
                &[&known_ids],
            )
            .ctx(loc, what)?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        for &(id, k) in &known {
            // Only shards this scan did not store first can have inherited attributions.
            if existing.contains(&members[k].shard.hash)
                && stored
                    .get(&id)
                    .is_some_and(|&n| u(n) as usize > members[k].attributions.len())
            {
                inherited += 1;
            }
        }
    }
    let shard_ids = members
        .iter()
        .map(|m| id_of(&m.shard.hash))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((shard_ids, inherited))
}

/// Whose members `copy_members` writes.
enum Owner {
    /// A published version's (`dataset_shards`, with the `dup` mark).
    Dataset(i64),
    /// A staged part's (`dataset_part_shards`).
    Part(i64),
}

/// Writes members (path, shard id) by binary COPY, in path order.
fn copy_members(
    tx: &mut Transaction<'_>,
    loc: &str,
    owner: Owner,
    members: &[(&[u8], i64)],
) -> Result<(), RegistryError> {
    let what = "store dataset shards";
    let (sql, types, id, dup): (_, &[Type], _, _) = match owner {
        Owner::Dataset(id) => (
            "COPY dataset_shards (dataset_id, path, shard_id, dup) FROM STDIN (FORMAT binary)",
            &[Type::INT8, Type::BYTEA, Type::INT8, Type::BOOL],
            id,
            Some(super::dup_flags(members.iter().copied())),
        ),
        Owner::Part(id) => (
            "COPY dataset_part_shards (part_id, path, shard_id) FROM STDIN (FORMAT binary)",
            &[Type::INT8, Type::BYTEA, Type::INT8],
            id,
            None,
        ),
    };
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by(|&a, &b| members[a].0.cmp(members[b].0));
    let w = tx.copy_in(sql).ctx(loc, what)?;
    let mut w = BinaryCopyInWriter::new(w, types);
    for k in order {
        let (path, shard) = &members[k];
        match &dup {
            Some(dup) => w.write(&[&id, path, shard, &dup[k]]),
            None => w.write(&[&id, path, shard]),
        }
        .ctx(loc, what)?;
    }
    w.finish().ctx(loc, what)?;
    Ok(())
}

fn parent_ids(
    tx: &mut Transaction<'_>,
    loc: &str,
    parents: &[DatasetRef],
) -> Result<Vec<i64>, RegistryError> {
    let mut out = Vec::with_capacity(parents.len());
    for p in parents {
        let id = tx
            .query_opt(
                "SELECT id FROM datasets WHERE name = $1 AND version = $2",
                &[&p.name, &p.version],
            )
            .ctx(loc, "look up parent dataset")?;
        out.push(
            id.map(|r| r.get::<_, i64>(0))
                .ok_or_else(|| RegistryError::UnknownParent(p.clone()))?,
        );
    }
    Ok(out)
}

fn save_state(tx: &mut Transaction<'_>, loc: &str, ds: &NewDataset) -> Result<(), RegistryError> {
    if let Some((dir, state)) = &ds.state {
        tx.execute(
            "INSERT INTO scan_state (dir, state) VALUES ($1, $2) \
             ON CONFLICT (dir) DO UPDATE SET state = excluded.state",
            &[dir, state],
        )
        .ctx(loc, "write scan state")?;
    }
    Ok(())
}

fn read_members(
    client: &mut impl postgres::GenericClient,
    loc: &str,
    dataset_id: i64,
) -> Result<Vec<StoredMember>, RegistryError> {
    let rows = client
        .query(
            "SELECT m.path, s.hash, s.size, s.format, s.records, s.unattributed_records, \
             s.unattributed_bytes, s.malformed, s.problem \
             FROM dataset_shards m JOIN shards s ON s.id = m.shard_id \
             WHERE m.dataset_id = $1 ORDER BY m.path",
            &[&dataset_id],
        )
        .ctx(loc, "read dataset shards")?;
    rows.iter()
        .map(|r| {
            Ok(StoredMember {
                path: r.get(0),
                shard: Shard {
                    hash: hash_of(loc, r.get(1))?,
                    size: u(r.get(2)),
                    format: r.get(3),
                    records: u(r.get(4)),
                    unattributed_records: u(r.get(5)),
                    unattributed_bytes: u(r.get(6)),
                    malformed: u(r.get(7)),
                    problem: r.get(8),
                },
            })
        })
        .collect()
}

fn stage_part(
    tx: &mut Transaction<'_>,
    loc: &str,
    ds: &NewDataset,
    (k, n): (u32, u32),
    event: &EventDraft,
) -> Result<Registered, RegistryError> {
    let d = &ds.dataset;
    let sealed = tx
        .query_opt(
            "SELECT id FROM datasets WHERE name = $1 AND version = $2",
            &[&d.name, &d.version],
        )
        .ctx(loc, "look up dataset")?;
    if sealed.is_some() {
        return Err(RegistryError::StagingSealed(d.clone()));
    }
    let staged: Vec<(i64, i64, Vec<u8>)> = tx
        .query(
            "SELECT part, parts, root_hash FROM dataset_parts \
             WHERE name = $1 AND version = $2 ORDER BY part",
            &[&d.name, &d.version],
        )
        .ctx(loc, "read staged parts")?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let (k64, n64) = (i64::from(k), i64::from(n));
    if let Some((j, m, _)) = staged.iter().find(|(_, m, _)| *m != n64) {
        return Err(RegistryError::PartCountDiffers {
            dataset: d.clone(),
            staged: *j,
            parts: *m,
            asked: n,
        });
    }
    if let Some((_, _, root)) = staged.iter().find(|(j, _, _)| *j == k64) {
        if root.as_slice() == ds.root_hash.as_bytes() {
            return Ok(Registered::Unchanged);
        }
        return Err(RegistryError::PartChanged {
            dataset: d.clone(),
            part: k,
            parts: n,
        });
    }
    let parents = parent_ids(tx, loc, &ds.parents)?;
    let part_id: i64 = tx
        .query_one(
            "INSERT INTO dataset_parts (name, version, part, parts, org, collected, root_hash, \
             files, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[
                &d.name,
                &d.version,
                &k64,
                &n64,
                &ds.org,
                &ds.collected.to_string(),
                &ds.root_hash.as_bytes().as_slice(),
                &i(ds.members.len() as u64),
                &utc_now_rfc3339(),
            ],
        )
        .ctx(loc, "stage part")?
        .get(0);
    for p in parents {
        tx.execute(
            "INSERT INTO dataset_part_parents (part_id, parent_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
            &[&part_id, &p],
        )
        .ctx(loc, "stage part parents")?;
    }
    let (shard_ids, inherited_shards) = store_shards(tx, loc, &ds.members)?;
    copy_members(
        tx,
        loc,
        Owner::Part(part_id),
        &super::member_rows(&ds.members, &shard_ids),
    )?;
    save_state(tx, loc, ds)?;
    append_event(tx, loc, event)?;
    Ok(Registered::Staged { inherited_shards })
}

/// A copied value as the column's type wants it (NULL typed too: binary COPY checks).
fn pg_value(v: &Value, ty: &Type) -> Box<dyn ToSql + Sync> {
    match (v, ty) {
        (Value::Int(n), t) if *t == Type::BOOL => Box::new(*n != 0),
        (Value::Int(n), _) => Box::new(*n),
        (Value::Text(s), _) => Box::new(s.clone()),
        (Value::Blob(b), _) => Box::new(b.clone()),
        (Value::Null, t) if *t == Type::BOOL => Box::new(None::<bool>),
        (Value::Null, t) if *t == Type::INT8 => Box::new(None::<i64>),
        (Value::Null, t) if *t == Type::BYTEA => Box::new(None::<Vec<u8>>),
        (Value::Null, _) => Box::new(None::<String>),
    }
}

impl Registry for PgRegistry {
    fn apply_policy(&mut self, policy: &Policy, event: &EventDraft) -> Result<(), RegistryError> {
        self.write("apply a policy", |tx, loc| {
            upsert_policy(tx, loc, policy)?;
            append_event(tx, loc, event)
        })
    }

    fn seal_dataset(
        &mut self,
        d: &DatasetRef,
        event: &dyn Fn(&DatasetInfo) -> EventDraft,
    ) -> Result<DatasetInfo, RegistryError> {
        let id = self.write("seal a dataset", |tx, loc| {
            let sealed = tx
                .query_opt(
                    "SELECT id FROM datasets WHERE name = $1 AND version = $2",
                    &[&d.name, &d.version],
                )
                .ctx(loc, "look up dataset")?;
            // Parts are locked while they are checked and published.
            let parts: Vec<StagedPartRow> = tx
                .query(
                    "SELECT id, part, parts, org, collected FROM dataset_parts \
                     WHERE name = $1 AND version = $2 ORDER BY part FOR UPDATE",
                    &[&d.name, &d.version],
                )
                .ctx(loc, "read staged parts")?
                .iter()
                .map(|r| StagedPartRow {
                    id: r.get(0),
                    part: r.get(1),
                    parts: r.get(2),
                    org: r.get(3),
                    collected: r.get(4),
                })
                .collect();
            super::check_staged_parts(d, sealed.is_some(), &parts)?;
            let mut parents = Vec::with_capacity(parts.len());
            for p in &parts {
                parents.push(
                    tx.query(
                        "SELECT parent_id FROM dataset_part_parents WHERE part_id = $1 \
                         ORDER BY parent_id",
                        &[&p.id],
                    )
                    .ctx(loc, "read part parents")?
                    .iter()
                    .map(|r| r.get(0))
                    .collect(),
                );
            }
            let parents = super::same_parents(d, &parts, parents)?;
            let part_ids: Vec<i64> = parts.iter().map(|p| p.id).collect();
            let rows = tx
                .query(
                    "SELECT m.path, s.id, s.hash, s.size, s.records, p.part \
                     FROM dataset_part_shards m JOIN shards s ON s.id = m.shard_id \
                     JOIN dataset_parts p ON p.id = m.part_id \
                     WHERE m.part_id = ANY($1) ORDER BY m.path, p.part",
                    &[&part_ids],
                )
                .ctx(loc, "read part shards")?;
            let mut members: Vec<PartMember> = Vec::with_capacity(rows.len());
            for r in &rows {
                members.push(PartMember {
                    path: r.get(0),
                    shard_id: r.get(1),
                    hash: hash_of(loc, r.get(2))?,
                    size: u(r.get(3)),
                    records: u(r.get(4)),
                    part: r.get(5),
                });
            }
            drop(rows);
            let info = super::sealed_info(d, &parts, &mut members)?;
            let dataset_id: i64 = tx
                .query_one(
                    "INSERT INTO datasets (name, version, org, collected, root_hash, files, \
                     bytes, records, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     RETURNING id",
                    &[
                        &d.name,
                        &d.version,
                        &info.org,
                        &info.collected.to_string(),
                        &info.root.as_bytes().as_slice(),
                        &i(info.files),
                        &i(info.bytes),
                        &i(info.records),
                        &utc_now_rfc3339(),
                    ],
                )
                .ctx(loc, "store dataset")?
                .get(0);
            let rows: Vec<(&[u8], i64)> = members
                .iter()
                .map(|m| (m.path.as_slice(), m.shard_id))
                .collect();
            copy_members(tx, loc, Owner::Dataset(dataset_id), &rows)?;
            for p in parents {
                tx.execute(
                    "INSERT INTO dataset_parents (dataset_id, parent_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                    &[&dataset_id, &p],
                )
                .ctx(loc, "store dataset parents")?;
            }
            tx.execute(
                "DELETE FROM dataset_parts WHERE name = $1 AND version = $2",
                &[&d.name, &d.version],
            )
            .ctx(loc, "remove staged parts")?;
            append_event(tx, loc, &event(&info))?;
            Ok(dataset_id)
        })?;
        self.read_datasets(Some(id))?.pop().ok_or_else(|| {
            bad(
                &self.location,
                "seal a dataset",
                "sealed dataset not found".into(),
            )
        })
    }

    fn staged_parts(&self, d: &DatasetRef) -> Result<Vec<(u32, u32, u64)>, RegistryError> {
        Ok(self
            .query(
                "SELECT part, parts, files FROM dataset_parts \
                 WHERE name = $1 AND version = $2 ORDER BY part",
                &[&d.name, &d.version],
                "read staged parts",
            )?
            .iter()
            .map(|r| (u(r.get(0)) as u32, u(r.get(1)) as u32, u(r.get(2))))
            .collect())
    }

    fn register_dataset(
        &mut self,
        ds: &NewDataset,
        event: &EventDraft,
    ) -> Result<Registered, RegistryError> {
        self.write("register a dataset", |tx, loc| {
            if let Some(part) = ds.part {
                return stage_part(tx, loc, ds, part, event);
            }
            let existing = tx
                .query_opt(
                    "SELECT id, root_hash FROM datasets WHERE name = $1 AND version = $2",
                    &[&ds.dataset.name, &ds.dataset.version],
                )
                .ctx(loc, "look up dataset")?;
            if let Some(row) = existing {
                let id: i64 = row.get(0);
                let root = hash_of(loc, row.get(1))?;
                if root == ds.root_hash {
                    return Ok(Registered::Unchanged);
                }
                let old = read_members(tx, loc, id)?;
                let old: Vec<(Vec<u8>, blake3::Hash)> =
                    old.into_iter().map(|m| (m.path, m.shard.hash)).collect();
                return Err(RegistryError::DatasetChanged {
                    dataset: ds.dataset.clone(),
                    changes: super::describe_changes(&old, &ds.members),
                });
            }
            let parents = parent_ids(tx, loc, &ds.parents)?;
            let files = ds.members.len() as u64;
            let bytes: u64 = ds.members.iter().map(|m| m.shard.size).sum();
            let records: u64 = ds.members.iter().map(|m| m.shard.records).sum();
            // A concurrent scan of the same version: the unique key makes the second wait
            // for the first, then fail on the conflict rather than store a second copy.
            let dataset_id: i64 = tx
                .query_one(
                    "INSERT INTO datasets (name, version, org, collected, root_hash, files, bytes, \
                     records, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                    &[
                        &ds.dataset.name,
                        &ds.dataset.version,
                        &ds.org,
                        &ds.collected.to_string(),
                        &ds.root_hash.as_bytes().as_slice(),
                        &i(files),
                        &i(bytes),
                        &i(records),
                        &utc_now_rfc3339(),
                    ],
                )
                .ctx(loc, "store dataset")?
                .get(0);
            for p in parents {
                tx.execute(
                    "INSERT INTO dataset_parents (dataset_id, parent_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                    &[&dataset_id, &p],
                )
                .ctx(loc, "store dataset parents")?;
            }
            let (shard_ids, inherited_shards) = store_shards(tx, loc, &ds.members)?;
            copy_members(
                tx,
                loc,
                Owner::Dataset(dataset_id),
                &super::member_rows(&ds.members, &shard_ids),
            )?;
            save_state(tx, loc, ds)?;
            append_event(tx, loc, event)?;
            Ok(Registered::Created { inherited_shards })
        })
    }

    fn record_training(
        &mut self,
        run: &TrainingRun,
        event: &EventDraft,
    ) -> Result<(), RegistryError> {
        self.write("record a training run", |tx, loc| {
            upsert_training(tx, loc, run)?;
            append_event(tx, loc, event)
        })
    }

    fn import_card(
        &mut self,
        card: &CardImport,
        event: &EventDraft,
    ) -> Result<CardAttributed, RegistryError> {
        let dataset_id = self
            .dataset_id(&card.dataset)?
            .ok_or_else(|| RegistryError::UnknownDataset(card.dataset.clone()))?;
        self.write("import a dataset card", |tx, loc| {
            tx.execute(
                "INSERT INTO sources (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                &[&card.source.id, &card.source.name],
            )
            .ctx(loc, "store source")?;
            for l in &card.licences {
                tx.execute(
                    "INSERT INTO licences (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                    &[&l.id, &l.name],
                )
                .ctx(loc, "store licence")?;
            }
            upsert_policy(
                tx,
                loc,
                &Policy {
                    grants: card.grants.clone(),
                    ..Policy::default()
                },
            )?;
            // FOR UPDATE: a scan merging its counts into the same shards waits for us.
            let members: Vec<(Vec<u8>, i64, i64, i64)> = tx
                .query(
                    "SELECT m.path, s.id, s.unattributed_records, s.unattributed_bytes \
                     FROM dataset_shards m JOIN shards s ON s.id = m.shard_id \
                     WHERE m.dataset_id = $1 ORDER BY m.path FOR UPDATE OF s",
                    &[&dataset_id],
                )
                .ctx(loc, "read dataset shards")?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect();
            let (targets, attributed) = card.targets(&members);
            for (shard, records, bytes) in targets {
                tx.execute(
                    "INSERT INTO attributions (shard_id, source_id, records, bytes, method) \
                     VALUES ($1, $2, $3, $4, 'declared') ON CONFLICT (shard_id, source_id) \
                     DO UPDATE SET records = attributions.records + excluded.records, \
                     bytes = attributions.bytes + excluded.bytes",
                    &[&shard, &card.source.id, &records, &bytes],
                )
                .ctx(loc, "store attribution")?;
                tx.execute(
                    "UPDATE shards SET unattributed_records = 0, unattributed_bytes = 0 \
                     WHERE id = $1",
                    &[&shard],
                )
                .ctx(loc, "store attribution")?;
            }
            let mut event = event.clone();
            event.payload["attributed"] = serde_json::to_value(attributed).unwrap_or_default();
            append_event(tx, loc, &event)?;
            Ok(attributed)
        })
    }

    fn record_event(&mut self, event: &EventDraft) -> Result<(), RegistryError> {
        self.write("record an event", |tx, loc| append_event(tx, loc, event))
    }

    fn sources(&self) -> Result<Vec<Source>, RegistryError> {
        let mut domains = self.grouped(
            "SELECT source_id, domain FROM source_domains ORDER BY source_id, domain",
            "read source domains",
        )?;
        Ok(self
            .query(
                "SELECT id, name FROM sources ORDER BY id",
                &[],
                "read sources",
            )?
            .iter()
            .map(|r| {
                let id: String = r.get(0);
                let domains = domains.remove(&id).unwrap_or_default();
                Source {
                    id,
                    name: r.get(1),
                    domains,
                }
            })
            .collect())
    }

    fn licences(&self) -> Result<Vec<Licence>, RegistryError> {
        let mut terms: HashMap<(String, String), Vec<String>> = HashMap::new();
        for r in self.query(
            "SELECT licence_id, kind, term FROM licence_terms ORDER BY licence_id, kind, term",
            &[],
            "read licence terms",
        )? {
            terms
                .entry((r.get(0), r.get(1)))
                .or_default()
                .push(r.get(2));
        }
        Ok(self
            .query(
                "SELECT id, name FROM licences ORDER BY id",
                &[],
                "read licences",
            )?
            .iter()
            .map(|r| {
                let id: String = r.get(0);
                let mut take = |k: &str| {
                    terms
                        .remove(&(id.clone(), k.to_string()))
                        .unwrap_or_default()
                };
                let (allow, deny, conditions) = (take("allow"), take("deny"), take("condition"));
                Licence {
                    id,
                    name: r.get(1),
                    allow,
                    deny,
                    conditions,
                    builtin: false,
                }
            })
            .collect())
    }

    fn grants(&self) -> Result<Vec<Grant>, RegistryError> {
        let loc = &self.location;
        self.query(
            "SELECT id, source_id, licence_id, grantee, valid_from, valid_until, cap_records, \
             cap_per FROM grants ORDER BY id",
            &[],
            "read grants",
        )?
        .iter()
        .map(|r| {
            let until: Option<String> = r.get(5);
            let until = until.map(|s| date_of(loc, &s)).transpose()?;
            let cap_records: Option<i64> = r.get(6);
            let cap_per: Option<String> = r.get(7);
            let cap = match (cap_records, cap_per) {
                (Some(n), Some(p)) => Some(Cap {
                    records: u(n),
                    per: p.parse().map_err(|e: String| bad(loc, "read grants", e))?,
                }),
                _ => None,
            };
            Ok(Grant {
                id: r.get(0),
                source: r.get(1),
                licence: r.get(2),
                grantee: r.get(3),
                from: date_of(loc, r.get(4))?,
                until,
                cap,
            })
        })
        .collect()
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
        self.query(
            "SELECT model, org, date FROM training_runs ORDER BY date, model",
            &[],
            "read training runs",
        )?
        .iter()
        .map(|r| {
            let model: String = r.get(0);
            let ds = datasets
                .remove(&model)
                .unwrap_or_default()
                .iter()
                .map(|s| dataset_ref_of(loc, s))
                .collect::<Result<Vec<_>, _>>()?;
            let uses = uses.remove(&model).unwrap_or_default();
            Ok(TrainingRun {
                model,
                org: r.get(1),
                date: date_of(loc, r.get(2))?,
                datasets: ds,
                uses,
            })
        })
        .collect()
    }

    fn applications(&self) -> Result<Vec<Application>, RegistryError> {
        let mut models = self.grouped(
            "SELECT application_id, model FROM application_models ORDER BY application_id, model",
            "read application models",
        )?;
        Ok(self
            .query(
                "SELECT id, org, disclosed FROM applications ORDER BY id",
                &[],
                "read applications",
            )?
            .iter()
            .map(|r| {
                let id: String = r.get(0);
                let models = models.remove(&id).unwrap_or_default();
                Application {
                    id,
                    org: r.get(1),
                    models,
                    disclosed: r.get(2),
                }
            })
            .collect())
    }

    fn disclosures(&self) -> Result<Vec<Disclosure>, RegistryError> {
        let loc = &self.location;
        self.query(
            "SELECT id, dataset, source_id, recipient, kind, date, org FROM disclosures \
             ORDER BY date, id",
            &[],
            "read disclosures",
        )?
        .iter()
        .map(|r| {
            let dataset: Option<String> = r.get(1);
            let source: Option<String> = r.get(2);
            let subject = match (dataset, source) {
                (Some(d), _) => Subject::Dataset(dataset_ref_of(loc, &d)?),
                (None, Some(s)) => Subject::Source(s),
                (None, None) => {
                    return Err(bad(
                        loc,
                        "read disclosures",
                        "disclosure without subject".into(),
                    ));
                }
            };
            Ok(Disclosure {
                id: r.get(0),
                subject,
                recipient: r.get(3),
                kind: r.get(4),
                date: date_of(loc, r.get(5))?,
                org: r.get(6),
            })
        })
        .collect()
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
            Some(id) => read_members(&mut *self.client.borrow_mut(), &self.location, id),
            None => Ok(Vec::new()),
        }
    }

    fn dataset_usage(&self, r: &DatasetRef) -> Result<Vec<SourceUsage>, RegistryError> {
        let Some(id) = self.dataset_id(r)? else {
            return Ok(Vec::new());
        };
        let mut out: Vec<SourceUsage> = self
            .query(
                "WITH ds AS (SELECT DISTINCT shard_id FROM dataset_shards WHERE dataset_id = $1) \
                 SELECT a.source_id, COUNT(*), SUM(a.records)::BIGINT, SUM(a.bytes)::BIGINT \
                 FROM attributions a JOIN ds ON a.shard_id = ds.shard_id \
                 GROUP BY a.source_id ORDER BY a.source_id",
                &[&id],
                "read dataset usage",
            )?
            .iter()
            .map(|r| SourceUsage {
                source: Some(r.get(0)),
                shards: u(r.get(1)),
                records: u(r.get(2)),
                bytes: u(r.get(3)),
            })
            .collect();
        let row = self.query(
            "WITH ds AS (SELECT DISTINCT shard_id FROM dataset_shards WHERE dataset_id = $1) \
             SELECT COUNT(*), COALESCE(SUM(s.unattributed_records), 0)::BIGINT, \
             COALESCE(SUM(s.unattributed_bytes), 0)::BIGINT \
             FROM shards s JOIN ds ON s.id = ds.shard_id WHERE s.unattributed_records > 0",
            &[&id],
            "read dataset usage",
        )?;
        if let Some(r) = row.first() {
            let shards = u(r.get(0));
            if shards > 0 {
                out.push(SourceUsage {
                    source: None,
                    shards,
                    records: u(r.get(1)),
                    bytes: u(r.get(2)),
                });
            }
        }
        Ok(out)
    }

    fn scan_state(&self, dir: &[u8]) -> Result<Option<Vec<u8>>, RegistryError> {
        Ok(self
            .query(
                "SELECT state FROM scan_state WHERE dir = $1",
                &[&dir],
                "read scan state",
            )?
            .first()
            .map(|r| r.get(0)))
    }

    fn store_scan_state(&mut self, dir: &[u8], state: &[u8]) -> Result<(), RegistryError> {
        self.write("save scan state", |tx, loc| {
            tx.execute(
                "INSERT INTO scan_state (dir, state) VALUES ($1, $2) \
                 ON CONFLICT (dir) DO UPDATE SET state = excluded.state",
                &[&dir, &state],
            )
            .ctx(loc, "write scan state")?;
            Ok(())
        })
    }

    fn dataset_totals(&self, r: &DatasetRef) -> Result<DatasetTotals, RegistryError> {
        let mut out = DatasetTotals::default();
        let Some(id) = self.dataset_id(r)? else {
            return Ok(out);
        };
        for r in self.query(
            "SELECT a.source_id, SUM(a.records)::BIGINT, SUM(a.bytes)::BIGINT \
             FROM dataset_shards m JOIN attributions a ON a.shard_id = m.shard_id \
             WHERE m.dataset_id = $1 GROUP BY a.source_id ORDER BY a.source_id",
            &[&id],
            "read dataset totals",
        )? {
            out.sources.insert(r.get(0), (u(r.get(1)), u(r.get(2))));
        }
        out.unattributed_records = self
            .query(
                "SELECT COALESCE(SUM(s.unattributed_records), 0)::BIGINT FROM dataset_shards m \
                 JOIN shards s ON s.id = m.shard_id WHERE m.dataset_id = $1",
                &[&id],
                "read dataset totals",
            )?
            .first()
            .map_or(0, |r| u(r.get(0)));
        Ok(out)
    }

    fn shard_links(&self, hash: &blake3::Hash) -> Result<Option<ShardLinks>, RegistryError> {
        let loc = &self.location;
        let key = hash.as_bytes().as_slice();
        let Some(id) = self
            .query(
                "SELECT id FROM shards WHERE hash = $1",
                &[&key],
                "read shard",
            )?
            .first()
            .map(|r| r.get::<_, i64>(0))
        else {
            return Ok(None);
        };
        let datasets = self
            .query(
                "SELECT DISTINCT d.name || '@' || d.version FROM dataset_shards m \
                 JOIN datasets d ON d.id = m.dataset_id WHERE m.shard_id = $1 ORDER BY 1",
                &[&id],
                "read shard datasets",
            )?
            .iter()
            .map(|r| dataset_ref_of(loc, r.get(0)))
            .collect::<Result<Vec<_>, _>>()?;
        let sources = self
            .query(
                "SELECT source_id FROM attributions WHERE shard_id = $1 ORDER BY 1",
                &[&id],
                "read shard sources",
            )?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(Some(ShardLinks { datasets, sources }))
    }

    fn known_shards(
        &self,
        hashes: &[blake3::Hash],
    ) -> Result<HashMap<blake3::Hash, KnownShard>, RegistryError> {
        let loc = &self.location;
        let mut out: HashMap<blake3::Hash, KnownShard> = HashMap::new();
        for chunk in hashes.chunks(20_000) {
            let keys: Vec<&[u8]> = chunk.iter().map(|h| h.as_bytes().as_slice()).collect();
            for r in self.query(
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
                });
                if let Some(source) = r.get::<_, Option<String>>(3) {
                    k.sources
                        .push((source, u(r.get::<_, i64>(4)), u(r.get::<_, i64>(5))));
                }
            }
        }
        Ok(out)
    }

    fn datasets_usage(
        &self,
        refs: &[DatasetRef],
    ) -> Result<HashMap<DatasetRef, (DatasetInfo, Vec<SourceUsage>)>, RegistryError> {
        if refs.is_empty() {
            return Ok(HashMap::new());
        }
        let wanted: HashSet<&DatasetRef> = refs.iter().collect();
        let mut by_id: HashMap<i64, (DatasetInfo, Vec<SourceUsage>)> = self
            .read_datasets_by_id(None)?
            .into_iter()
            .filter(|(_, info)| wanted.contains(&info.dataset))
            .map(|(id, info)| (id, (info, Vec::new())))
            .collect();
        let ids: Vec<i64> = by_id.keys().copied().collect();
        // Each distinct shard of a version once: the members not marked `dup`.
        for row in self.query(
            "SELECT m.dataset_id, a.source_id, COUNT(*), SUM(a.records)::BIGINT, \
             SUM(a.bytes)::BIGINT FROM dataset_shards m \
             JOIN attributions a ON a.shard_id = m.shard_id \
             WHERE m.dataset_id = ANY($1) AND NOT m.dup GROUP BY 1, 2 ORDER BY 1, 2",
            &[&ids],
            "read dataset usage",
        )? {
            if let Some((_, usage)) = by_id.get_mut(&row.get::<_, i64>(0)) {
                usage.push(SourceUsage {
                    source: Some(row.get(1)),
                    shards: u(row.get(2)),
                    records: u(row.get(3)),
                    bytes: u(row.get(4)),
                });
            }
        }
        for row in self.query(
            "SELECT m.dataset_id, COUNT(*), SUM(s.unattributed_records)::BIGINT, \
             SUM(s.unattributed_bytes)::BIGINT FROM dataset_shards m \
             JOIN shards s ON s.id = m.shard_id \
             WHERE m.dataset_id = ANY($1) AND NOT m.dup AND s.unattributed_records > 0 \
             GROUP BY 1",
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

    fn cap_volumes(
        &self,
        sources: &[String],
    ) -> Result<HashMap<(String, String), Vec<VolumeRow>>, RegistryError> {
        let loc = &self.location;
        let mut out: HashMap<(String, String), Vec<VolumeRow>> = HashMap::new();
        if sources.is_empty() {
            return Ok(out);
        }
        for r in self.query(
            "SELECT a.source_id, d.org, s.hash, MIN(d.collected), MIN(a.records) \
             FROM attributions a JOIN dataset_shards m ON m.shard_id = a.shard_id \
             JOIN datasets d ON d.id = m.dataset_id JOIN shards s ON s.id = a.shard_id \
             WHERE a.source_id = ANY($1) AND d.org IS NOT NULL \
             GROUP BY a.source_id, d.org, a.shard_id, s.hash",
            &[&sources],
            "read source volumes",
        )? {
            out.entry((r.get(0), r.get(1)))
                .or_default()
                .push(VolumeRow {
                    collected: date_of(loc, r.get(3))?,
                    shard: hash_of(loc, r.get(2))?,
                    records: u(r.get(4)),
                });
        }
        Ok(out)
    }

    fn source_content(&self, source: &str) -> Result<Vec<ContentRow>, RegistryError> {
        let loc = &self.location;
        self.query(
            "SELECT d.name || '@' || d.version, d.org, d.collected, s.hash, a.records, a.bytes \
             FROM attributions a JOIN shards s ON s.id = a.shard_id \
             JOIN dataset_shards m ON m.shard_id = a.shard_id \
             JOIN datasets d ON d.id = m.dataset_id \
             WHERE a.source_id = $1 ORDER BY d.collected, d.name, d.version, m.path",
            &[&source],
            "read source content",
        )?
        .iter()
        .map(|r| {
            Ok(ContentRow {
                dataset: dataset_ref_of(loc, r.get(0))?,
                org: r.get(1),
                collected: date_of(loc, r.get(2))?,
                shard: hash_of(loc, r.get(3))?,
                records: u(r.get(4)),
                bytes: u(r.get(5)),
            })
        })
        .collect()
    }

    fn export_table(
        &self,
        table: &str,
        columns: &[&str],
    ) -> Result<Vec<Vec<Value>>, RegistryError> {
        check_table(table, columns)?;
        let loc = &self.location;
        let what = format!("export {table}");
        let rows = self.query(
            &format!("SELECT {} FROM {table} ORDER BY 1, 2", columns.join(", ")),
            &[],
            &what,
        )?;
        rows.iter()
            .map(|r| {
                (0..columns.len())
                    .map(|k| {
                        let ty = r.columns()[k].type_();
                        let v = if *ty == Type::BOOL {
                            r.try_get::<_, Option<bool>>(k)
                                .map(|v| v.map_or(Value::Null, |b| Value::Int(i64::from(b))))
                        } else if *ty == Type::INT8 {
                            r.try_get::<_, Option<i64>>(k)
                                .map(|v| v.map_or(Value::Null, Value::Int))
                        } else if *ty == Type::BYTEA {
                            r.try_get::<_, Option<Vec<u8>>>(k)
                                .map(|v| v.map_or(Value::Null, Value::Blob))
                        } else {
                            r.try_get::<_, Option<String>>(k)
                                .map(|v| v.map_or(Value::Null, Value::Text))
                        };
                        v.ctx(loc, &what)
                    })
                    .collect()
            })
            .collect()
    }

    fn import_tables(&mut self, tables: &[ExportedTable<'_>]) -> Result<(), RegistryError> {
        self.write("copy a registry into it", |tx, loc| {
            let held: i64 = tx
                .query_one(
                    "SELECT (SELECT COUNT(*) FROM events) + (SELECT COUNT(*) FROM sources) + \
                     (SELECT COUNT(*) FROM datasets) + (SELECT COUNT(*) FROM dataset_parts)",
                    &[],
                )
                .ctx(loc, "inspect the target")?
                .get(0);
            if held > 0 {
                return Err(RegistryError::NotEmpty {
                    location: loc.to_string(),
                });
            }
            for (table, columns, rows) in tables {
                check_table(table, columns)?;
                if rows.is_empty() {
                    continue;
                }
                let what = format!("import {table}");
                let cols = columns.join(", ");
                let types: Vec<Type> = tx
                    .prepare(&format!("SELECT {cols} FROM {table} LIMIT 0"))
                    .ctx(loc, &what)?
                    .columns()
                    .iter()
                    .map(|c| c.type_().clone())
                    .collect();
                let w = tx
                    .copy_in(&format!("COPY {table} ({cols}) FROM STDIN (FORMAT binary)"))
                    .ctx(loc, &what)?;
                let mut w = BinaryCopyInWriter::new(w, &types);
                for row in rows {
                    let values: Vec<Box<dyn ToSql + Sync>> = row
                        .iter()
                        .zip(&types)
                        .map(|(v, ty)| pg_value(v, ty))
                        .collect();
                    let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|b| &**b).collect();
                    w.write(&refs).ctx(loc, &what)?;
                }
                w.finish().ctx(loc, &what)?;
            }
            for table in super::GENERATED_IDS {
                tx.execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                         COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    ),
                    &[],
                )
                .ctx(loc, "continue generated ids")?;
            }
            Ok(())
        })
    }

    fn events(&self, limit: Option<u64>) -> Result<Vec<Event>, RegistryError> {
        let limit = limit.map(i);
        let mut out: Vec<Event> = self
            .query(
                "SELECT seq, time, actor, kind, payload, prev, hash FROM events \
                 ORDER BY seq DESC LIMIT $1",
                &[&limit],
                "read events",
            )?
            .iter()
            .map(|r| Event {
                seq: u(r.get(0)),
                time: r.get(1),
                actor: r.get(2),
                kind: r.get(3),
                payload: r.get(4),
                prev: r.get(5),
                hash: r.get(6),
            })
            .collect();
        out.reverse();
        Ok(out)
    }
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
