//! State digests: what every event commits to besides its own content. For each table whose
//! rows decide a verdict and stay small (the policy side, the dataset versions and their
//! retractions), a BLAKE3 digest over its rows in canonical form, and a state root over
//! those. Every event records the state after its transaction (`state`), and names the
//! tables that had changed since the previous event before its transaction began
//! (`unexplained`: edited outside provtrack). `verify` recomputes the digests and compares
//! them with the head event's.
//!
//! The big tables (shards, members, attributions) are not digested here: a version's
//! members are checked against its root hash, its totals against its registering event.

use std::collections::{BTreeMap, BTreeSet};

use super::conn::{Conn, Param, params};
use super::{DatasetTotals, EventDraft, Member, RegistryError, TABLES, Value, read};

/// The tables a state digest covers, in the order the root hashes them.
pub const STATE_TABLES: &[&str] = &[
    "sources",
    "source_domains",
    "licences",
    "licence_terms",
    "grants",
    "datasets",
    "dataset_parents",
    "retractions",
    "training_runs",
    "training_datasets",
    "training_uses",
    "applications",
    "application_models",
    "application_uses",
    "disclosures",
    "crawlers",
    "source_kinds",
    "optouts",
];

/// Per-table digests (hex) and the root over them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// Table → digest, hex.
    pub tables: BTreeMap<String, String>,
}

impl State {
    /// The digests of the registry's current rows.
    pub fn read(c: &mut dyn Conn) -> Result<State, RegistryError> {
        let mut tables = BTreeMap::new();
        for table in STATE_TABLES {
            let columns = TABLES
                .iter()
                .find(|(t, _)| t == table)
                .map(|(_, cols)| *cols)
                .unwrap_or(&[]);
            let rows = read::export_table(c, table, columns)?;
            tables.insert(table.to_string(), table_digest(table, &rows));
        }
        Ok(State { tables })
    }

    /// The state root: one hash over every table's digest.
    pub fn root(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"provtrack-state-v1\0");
        for table in STATE_TABLES {
            h.update(table.as_bytes());
            h.update(b"\0");
            if let Some(d) = self.tables.get(*table) {
                h.update(d.as_bytes());
            }
            h.update(b"\n");
        }
        h.finalize().to_hex().to_string()
    }

    /// As an event records it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "root": self.root(), "tables": self.tables })
    }

    /// The state root an event's payload records, if it records one.
    pub fn recorded_root(payload: &serde_json::Value) -> Option<String> {
        Some(payload.get("state")?.get("root")?.as_str()?.to_string())
    }

    /// As the event after one that recorded `previous` records it: the root alone when
    /// nothing changed (most events: gates), every table's digest otherwise — so that a
    /// long chain stays small, and the digests that name a changed table are those of
    /// the last event that recorded them.
    pub fn to_json_after(&self, previous: Option<&str>) -> serde_json::Value {
        let root = self.root();
        if previous == Some(root.as_str()) {
            serde_json::json!({ "root": root })
        } else {
            self.to_json()
        }
    }

    /// The per-table digests an event's payload records, if it records them.
    pub fn recorded(payload: &serde_json::Value) -> Option<State> {
        let tables = payload.get("state")?.get("tables")?.as_object()?;
        Some(State {
            tables: tables
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect(),
        })
    }

    /// Whether `committed` was recorded by an older schema (it names fewer tables) and this
    /// state differs from it only by the tables added since, all empty: its root was
    /// computed over fewer tables, so only the digests can be compared.
    pub fn upgraded_from(&self, committed: &State) -> bool {
        STATE_TABLES
            .iter()
            .any(|t| !committed.tables.contains_key(*t))
            && self.differing(committed).is_empty()
    }

    /// The tables whose digests differ from `committed`'s. A table `committed` does not
    /// name (added by a later schema) must be empty.
    pub fn differing(&self, committed: &State) -> Vec<String> {
        self.tables
            .iter()
            .filter(|(t, d)| match committed.tables.get(*t) {
                Some(c) => c != *d,
                None => **d != table_digest(t, &[]),
            })
            .map(|(t, _)| t.clone())
            .collect()
    }
}

/// The digest of a table's rows, whatever order the backend returns them in.
pub fn table_digest(table: &str, rows: &[Vec<Value>]) -> String {
    let mut encoded: Vec<Vec<u8>> = rows.iter().map(|r| encode(r)).collect();
    encoded.sort_unstable();
    let mut h = crate::digest::Batched::default();
    h.push(table.as_bytes());
    h.push(b"\0");
    h.push(&(encoded.len() as u64).to_le_bytes());
    for e in &encoded {
        h.push(e);
    }
    h.finalize().to_hex().to_string()
}

/// One row, unambiguously: per value a tag and, for text and bytes, a length prefix.
fn encode(row: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in row {
        match v {
            Value::Null => out.push(0),
            Value::Int(i) => {
                out.push(1);
                out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Text(s) => {
                out.push(2);
                out.extend_from_slice(&(s.len() as u64).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Value::Blob(b) => {
                out.push(3);
                out.extend_from_slice(&(b.len() as u64).to_le_bytes());
                out.extend_from_slice(b);
            }
        }
    }
    out
}

/// The tables that changed since the head event committed its state: edits made outside
/// provtrack, which the event about to be appended would otherwise absorb into its own
/// state. None when the head event records no state (an older provtrack wrote it).
pub fn unexplained(c: &mut dyn Conn) -> Result<Vec<String>, RegistryError> {
    // Under the chain lock, held to the commit: no other writer's event or rows can land
    // between the head read here and the rows compared with it.
    c.lock_chain()?;
    let head = c.query(
        "SELECT payload FROM events ORDER BY seq DESC LIMIT 1",
        &[],
        "read chain head",
    )?;
    let Some(payload) = head.first().map(|r| r.text(0)).transpose()? else {
        return Ok(Vec::new());
    };
    let payload: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
    let Some(root) = State::recorded_root(&payload) else {
        return Ok(Vec::new());
    };
    let now = State::read(c)?;
    if now.root() == root {
        return Ok(Vec::new());
    }
    match last_tables(c)? {
        Some(committed) => Ok(now.differing(&committed)),
        None => Ok(vec!["state".into()]),
    }
}

/// The per-table digests of the last event that recorded them.
pub fn last_tables(c: &mut dyn Conn) -> Result<Option<State>, RegistryError> {
    let rows = c.query(
        "SELECT payload FROM events WHERE payload LIKE '%\"tables\"%' ORDER BY seq DESC LIMIT 1",
        &[],
        "read the last state digests",
    )?;
    Ok(rows
        .first()
        .map(|r| r.text(0))
        .transpose()?
        .and_then(|p| State::recorded(&serde_json::from_str(&p).unwrap_or_default())))
}

/// `event`, naming the `unexplained` tables when there are any.
pub fn mark(mut event: EventDraft, unexplained: &[String]) -> EventDraft {
    if !unexplained.is_empty() {
        event.payload["unexplained"] = serde_json::json!(unexplained);
    }
    event
}

/// `event` as the transaction about to run should append it (see [`unexplained`]).
pub fn annotate(c: &mut dyn Conn, event: &EventDraft) -> Result<EventDraft, RegistryError> {
    Ok(mark(event.clone(), &unexplained(c)?))
}

/// A version's content per source as events record it: `{"sources": {SOURCE: [records,
/// bytes]}, "unattributed_records": N, "content": DIGEST}` (the digest where computed).
pub fn totals_json(t: &DatasetTotals) -> serde_json::Value {
    let mut v = serde_json::json!({
        "sources": t.sources,
        "unattributed_records": t.unattributed_records,
    });
    if let Some(d) = &t.content {
        v["content"] = d.clone().into();
    }
    v
}

/// One row of a version's content: (shard hash, source or `""` for none, records, bytes).
pub type ContentLine = ([u8; 32], String, u64, u64);

/// The digest of a version's content rows, in whatever order they come: BLAKE3 over the
/// sorted rows, each field length-prefixed or fixed-width. It binds every shard's count per
/// source, which the sums alone do not (records moved from one shard to another, or from
/// one source to another and back in a second shard, keep the sums).
pub fn content_digest(mut rows: Vec<ContentLine>) -> String {
    rows.sort_unstable();
    let mut h = crate::digest::Batched::default();
    for (hash, source, records, bytes) in &rows {
        h.push(hash);
        h.push(&(source.len() as u64).to_le_bytes());
        h.push(source.as_bytes());
        h.push(&records.to_le_bytes());
        h.push(&bytes.to_le_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// Version `id`'s totals with their [`content_digest`], as the registry holds them (the
/// rows of the views `version_content` and `version_unattributed`), in one pass over its
/// distinct shards with their attributions and one over its declarations: what an event
/// records of a version, and what `verify` compares with it.
pub fn digested(c: &mut dyn Conn, id: i64) -> Result<DatasetTotals, RegistryError> {
    let what = "read version content";
    let mut declared: std::collections::HashMap<i64, Vec<String>> = Default::default();
    for r in c
        .query(
            "SELECT shard_id, source_id FROM declarations WHERE dataset_id = ?1",
            params![id],
            what,
        )?
        .iter()
    {
        declared.entry(r.int(0)?).or_default().push(r.text(1)?);
    }
    let rows = c.query(
        "SELECT s.id, s.hash, s.unattributed_records, s.unattributed_bytes, a.source_id, \
         a.records, a.bytes FROM dataset_shards m JOIN shards s ON s.id = m.shard_id \
         LEFT JOIN attributions a ON a.shard_id = m.shard_id \
         WHERE m.dataset_id = ?1 AND NOT m.dup",
        params![id],
        what,
    )?;
    let mut totals = DatasetTotals::default();
    let add = |t: &mut DatasetTotals, source: &str, records: u64, bytes: u64| {
        let e = t.sources.entry(source.to_string()).or_default();
        e.0 = e.0.saturating_add(records);
        e.1 = e.1.saturating_add(bytes);
    };
    let mut out = Vec::with_capacity(rows.len());
    // A member's attribution rows come one after the other.
    let mut previous = None;
    for r in rows.iter() {
        let shard = r.int(0)?;
        let hash = *r.hash(1)?.as_bytes();
        if let Some(source) = r.opt_text(4)? {
            let (records, bytes) = (r.count(5)?, r.count(6)?);
            add(&mut totals, &source, records, bytes);
            out.push((hash, source, records, bytes));
        }
        // The shard's unattributed content once: to its declared sources, or to none.
        if previous == Some(shard) {
            continue;
        }
        previous = Some(shard);
        let (records, bytes) = (r.count(2)?, r.count(3)?);
        if records == 0 {
            continue;
        }
        match declared.get(&shard) {
            Some(sources) => {
                for s in sources {
                    add(&mut totals, s, records, bytes);
                    out.push((hash, s.clone(), records, bytes));
                }
            }
            None => {
                totals.unattributed_records = totals.unattributed_records.saturating_add(records);
                out.push((hash, String::new(), records, bytes));
            }
        }
    }
    totals.content = Some(content_digest(out));
    Ok(totals)
}

/// What [`digested`] answers for a version whose shards were all stored by its own
/// registration, from the members (each distinct shard once): its totals and the same
/// content rows the views give, so no query is needed.
pub fn found(members: &[Member]) -> DatasetTotals {
    let mut seen = foldhash::HashSet::with_capacity_and_hasher(members.len(), Default::default());
    let mut totals = DatasetTotals::default();
    let mut rows = Vec::new();
    for m in members {
        if !seen.insert(m.shard.hash) {
            continue;
        }
        totals.unattributed_records += m.unattributed_records();
        for a in m.content() {
            let t = totals.sources.entry(a.source.clone()).or_default();
            t.0 += a.records;
            t.1 += a.bytes;
        }
        let hash = *m.shard.hash.as_bytes();
        for a in &m.attributions {
            rows.push((hash, a.source.clone(), a.records, a.bytes));
        }
        let (r, b) = (m.shard.unattributed_records, m.shard.unattributed_bytes);
        if r == 0 {
            continue;
        }
        if m.declared.is_empty() {
            rows.push((hash, String::new(), r, b));
        }
        for a in &m.declared {
            rows.push((hash, a.source.clone(), r, b));
        }
    }
    totals.content = Some(content_digest(rows));
    totals
}

/// The registered versions that hold a shard with one of `hashes`, each with its totals
/// now: read before a write that may add to those shards, to name afterwards the versions
/// whose counts it changed. Nothing is read when no shard is stored yet.
pub fn holders<'a>(
    c: &mut dyn Conn,
    hashes: impl Iterator<Item = &'a [u8]>,
) -> Result<BTreeMap<i64, DatasetTotals>, RegistryError> {
    let what = "read versions sharing shards";
    let mut ids = BTreeSet::new();
    if c.query("SELECT 1 FROM shards LIMIT 1", &[], what)?
        .first()
        .is_none()
    {
        return Ok(BTreeMap::new());
    }
    let hashes: Vec<&[u8]> = hashes.collect();
    for chunk in hashes.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "SELECT DISTINCT m.dataset_id FROM shards s \
             JOIN dataset_shards m ON m.shard_id = s.id WHERE s.hash IN ({})",
            marks.join(", ")
        );
        let params: Vec<Param<'_>> = chunk.iter().map(|h| Param::Blob(h)).collect();
        for r in c.query(&sql, &params, what)?.iter() {
            ids.insert(r.int(0)?);
        }
    }
    totals_of(c, ids)
}

/// The registered versions that share a shard with version `id` (itself included), each
/// with its totals now.
pub fn sharing(c: &mut dyn Conn, id: i64) -> Result<BTreeMap<i64, DatasetTotals>, RegistryError> {
    let rows = c.query(
        "SELECT DISTINCT o.dataset_id FROM dataset_shards m \
         JOIN dataset_shards o ON o.shard_id = m.shard_id WHERE m.dataset_id = ?1",
        params![id],
        "read versions sharing shards",
    )?;
    let ids = rows
        .iter()
        .map(|r| r.int(0))
        .collect::<Result<BTreeSet<i64>, _>>()?;
    totals_of(c, ids)
}

fn totals_of(
    c: &mut dyn Conn,
    ids: BTreeSet<i64>,
) -> Result<BTreeMap<i64, DatasetTotals>, RegistryError> {
    let mut out = BTreeMap::new();
    for id in ids {
        out.insert(id, digested(c, id)?);
    }
    Ok(out)
}

/// The versions among `before` (other than `except`) whose totals a write changed, by
/// `NAME@VERSION`, with their totals now (as events record them under `changed`).
pub fn changed(
    c: &mut dyn Conn,
    before: BTreeMap<i64, DatasetTotals>,
    except: Option<i64>,
) -> Result<serde_json::Map<String, serde_json::Value>, RegistryError> {
    let mut out = serde_json::Map::new();
    for (id, was) in before {
        if Some(id) == except {
            continue;
        }
        let now = digested(c, id)?;
        if now != was
            && let Some((_, info)) = read::datasets(c, Some(id))?.pop()
        {
            out.insert(info.dataset.to_string(), totals_json(&now));
        }
    }
    Ok(out)
}

/// `event` with the totals of the version it registers (`totals`) and of the other
/// versions whose counts its write changed (`changed`).
pub fn with_totals(
    mut event: EventDraft,
    totals: Option<&DatasetTotals>,
    changed: serde_json::Map<String, serde_json::Value>,
) -> EventDraft {
    if let Some(t) = totals {
        event.payload["totals"] = totals_json(t);
    }
    if !changed.is_empty() {
        event.payload["changed"] = serde_json::Value::Object(changed);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_digest_hashes_the_sorted_lines_field_by_field() {
        let rows: Vec<ContentLine> = (0..3000u32)
            .rev()
            .map(|k| {
                (
                    *blake3::hash(&k.to_le_bytes()).as_bytes(),
                    format!("src{}", k % 7),
                    k as u64,
                    2 * k as u64,
                )
            })
            .collect();
        let mut sorted = rows.clone();
        sorted.sort_unstable();
        let mut h = blake3::Hasher::new();
        for (hash, source, records, bytes) in &sorted {
            h.update(hash);
            h.update(&(source.len() as u64).to_le_bytes());
            h.update(source.as_bytes());
            h.update(&records.to_le_bytes());
            h.update(&bytes.to_le_bytes());
        }
        assert_eq!(content_digest(rows), h.finalize().to_hex().to_string());
    }

    #[test]
    fn table_digests_ignore_row_order_and_see_every_value() {
        let a = vec![Value::Text("x".into()), Value::Int(1)];
        let b = vec![Value::Text("y".into()), Value::Null];
        let d = table_digest("t", &[a.clone(), b.clone()]);
        assert_eq!(d, table_digest("t", &[b.clone(), a.clone()]));
        assert_ne!(d, table_digest("t", std::slice::from_ref(&a)));
        assert_ne!(d, table_digest("u", &[a.clone(), b.clone()]));
        let b2 = vec![Value::Text("y".into()), Value::Int(0)];
        assert_ne!(d, table_digest("t", &[a.clone(), b2]));
        // Lengths are prefixed: ("ab", "c") is not ("a", "bc").
        let r1 = vec![Value::Text("ab".into()), Value::Text("c".into())];
        let r2 = vec![Value::Text("a".into()), Value::Text("bc".into())];
        assert_ne!(table_digest("t", &[r1]), table_digest("t", &[r2]));
    }

    #[test]
    fn a_table_a_newer_schema_added_must_be_empty() {
        let mut now = State {
            tables: BTreeMap::new(),
        };
        now.tables
            .insert("grants".into(), table_digest("grants", &[]));
        now.tables
            .insert("retractions".into(), table_digest("retractions", &[]));
        let mut committed = now.clone();
        committed.tables.remove("retractions");
        assert!(now.differing(&committed).is_empty());
        now.tables.insert(
            "retractions".into(),
            table_digest("retractions", &[vec![Value::Int(1)]]),
        );
        assert_eq!(now.differing(&committed), vec!["retractions".to_string()]);
        assert_ne!(now.root(), committed.root());
        assert!(!now.upgraded_from(&committed));
        now.tables
            .insert("retractions".into(), table_digest("retractions", &[]));
        assert!(now.upgraded_from(&committed));
    }
}
