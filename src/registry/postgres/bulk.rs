//! PostgreSQL's bulk write paths: a scan's shards and attributions by arrays and binary
//! COPY, and members by binary COPY — set-based, in hash and path order, one round trip per
//! step instead of one per row (see the README on the bulk tables).

use std::collections::{HashMap, HashSet};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{GenericClient, Row};

use super::{Ctx, bad, i, u};
use crate::registry::conn::{Owner, StoredShards};
use crate::registry::error::Result;
use crate::registry::{Member, RegistryError, Shard};

/// Stores the members' shards and attributions in bulk (binary COPY into temporary tables,
/// then set-based inserts in hash order): the same bytes are one shard, whose stored
/// attributions are kept and added to, and the smaller unattributed count wins. Returns
/// each member's shard id, how many known shards had attributions this scan did not find,
/// and which were known.
pub(super) fn store_shards<G: GenericClient>(
    tx: &mut G,
    loc: &str,
    members: &[Member],
) -> Result<StoredShards> {
    let what = "store shards";
    // One row per distinct hash: the first member holding it, as SQLite's path does; in hash
    // order, the order every writer takes shard rows in (concurrent writers cannot deadlock).
    let mut distinct = crate::registry::by_hash(members);
    distinct.dedup_by_key(|k| members[*k].shard.hash);
    let hashes: Vec<&[u8]> = distinct
        .iter()
        .map(|&k| members[k].shard.hash.as_bytes().as_slice())
        .collect();

    // The references the schema does not check row by row (see migration 4): every source
    // named must exist.
    let mut sources: Vec<&str> = distinct
        .iter()
        .flat_map(|&k| members[k].content().map(|a| a.source.as_str()))
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
    let id_of = |h: &blake3::Hash| -> Result<i64> {
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
    Ok(StoredShards {
        ids: shard_ids,
        inherited,
        known: {
            let mut ids: Vec<i64> = known.iter().map(|&(id, _)| id).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        },
    })
}

/// Writes members (path, shard id) by binary COPY, in path order.
pub(super) fn copy_members<G: GenericClient>(
    tx: &mut G,
    loc: &str,
    owner: Owner,
    members: &[(&[u8], i64)],
) -> Result<()> {
    let what = "store dataset shards";
    let (sql, types, id, dup): (_, &[Type], _, _) = match owner {
        Owner::Dataset(id) => (
            "COPY dataset_shards (dataset_id, path, shard_id, dup) FROM STDIN (FORMAT binary)",
            &[Type::INT8, Type::BYTEA, Type::INT8, Type::BOOL],
            id,
            Some(crate::registry::dup_flags(members.iter().copied())),
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
