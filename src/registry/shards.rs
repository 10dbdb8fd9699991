//! The reads about shards, once for every backend: registered hashes by prefix, where a
//! shard sits (the versions holding it, what its bytes showed and what versions declared),
//! its record prints, and what is known of shards a gate reads.

use std::collections::HashMap;

use super::conn::{Conn, params};
use super::read::live_dataset_id;
use super::{KnownShard, PrintSet, RegistryError, ShardLinks, StoredPrints};
use crate::types::DatasetRef;

/// The registered shard hashes that begin with the bytes `prefix`, in hash order, at most
/// `limit` of them (a range scan of the hash index on both backends).
pub fn shards_with_prefix(
    c: &mut dyn Conn,
    prefix: &[u8],
    limit: u64,
) -> Result<Vec<blake3::Hash>, RegistryError> {
    // The first byte string after every string that starts with `prefix`, if there is one.
    let mut upper = prefix.to_vec();
    while upper.last() == Some(&0xff) {
        upper.pop();
    }
    let rows = match upper.last_mut() {
        Some(b) => {
            *b += 1;
            c.query(
                "SELECT hash FROM shards WHERE hash >= ?1 AND hash < ?2 ORDER BY hash LIMIT ?3",
                params![prefix, &upper, limit],
                "read shards by prefix",
            )?
        }
        None => c.query(
            "SELECT hash FROM shards WHERE hash >= ?1 ORDER BY hash LIMIT ?2",
            params![prefix, limit],
            "read shards by prefix",
        )?,
    };
    rows.iter().map(|r| r.hash(0)).collect()
}

/// Datasets holding the shard with this hash and the sources it is attributed to.
pub fn shard_links(
    c: &mut dyn Conn,
    hash: &blake3::Hash,
) -> Result<Option<ShardLinks>, RegistryError> {
    let rows = c.query(
        "SELECT id FROM shards WHERE hash = ?1",
        params![hash],
        "read shard",
    )?;
    let Some(id) = rows.first().map(|r| r.int(0)).transpose()? else {
        return Ok(None);
    };
    let datasets = c
        .query(
            "SELECT DISTINCT d.name || '@' || d.version FROM dataset_shards m \
             JOIN datasets d ON d.id = m.dataset_id WHERE m.shard_id = ?1 ORDER BY 1",
            params![id],
            "read shard datasets",
        )?
        .iter()
        .map(|r| r.dataset(0))
        .collect::<Result<Vec<_>, _>>()?;
    let sources = c
        .query(
            "SELECT source_id FROM attributions WHERE shard_id = ?1 ORDER BY 1",
            params![id],
            "read shard sources",
        )?
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<Vec<_>, _>>()?;
    let declared = c
        .query(
            "SELECT x.name || '@' || x.version, d.source_id FROM declarations d \
             JOIN datasets x ON x.id = d.dataset_id WHERE d.shard_id = ?1 ORDER BY 1, 2",
            params![id],
            "read shard declarations",
        )?
        .iter()
        .map(|r| Ok((r.dataset(0)?, r.text(1)?)))
        .collect::<Result<Vec<_>, RegistryError>>()?;
    Ok(Some(ShardLinks {
        datasets,
        sources,
        declared,
    }))
}

/// [`super::Registry::print_sets`].
pub fn print_sets(
    c: &mut dyn Conn,
    kind: crate::prints::Kind,
    within: &[DatasetRef],
) -> Result<Vec<StoredPrints>, RegistryError> {
    let what = "read record prints";
    let cols = "p.shard_id, p.source_id, p.records, p.prints";
    let mut rows = Vec::new();
    if within.is_empty() {
        rows.push(c.query(
            &format!("SELECT {cols} FROM record_prints p WHERE p.kind = ?1 ORDER BY 1, 2"),
            params![kind.as_str()],
            what,
        )?);
    }
    for d in within {
        let id = live_dataset_id(c, d, RegistryError::UnknownParent)?;
        rows.push(c.query(
            &format!(
                "SELECT {cols} FROM record_prints p WHERE p.kind = ?1 AND p.shard_id IN \
                 (SELECT shard_id FROM dataset_shards WHERE dataset_id = ?2) ORDER BY 1, 2"
            ),
            params![kind.as_str(), id],
            what,
        )?);
    }
    let mut out = Vec::new();
    for r in rows.iter().flat_map(|r| r.iter()) {
        let source = r.text(1)?;
        out.push(StoredPrints {
            shard: r.int(0)?,
            set: PrintSet {
                kind,
                source: (!source.is_empty()).then_some(source),
                records: r.count(2)?,
                blob: r.blob(3)?.to_vec(),
            },
        });
    }
    Ok(out)
}

/// [`super::Registry::shard_versions`], one query per shard.
pub fn shard_versions(
    c: &mut dyn Conn,
    shards: &[i64],
) -> Result<Vec<(i64, DatasetRef)>, RegistryError> {
    let mut out = Vec::new();
    for &s in shards {
        for r in c
            .query(
                "SELECT DISTINCT d.name || '@' || d.version FROM dataset_shards m \
                 JOIN datasets d ON d.id = m.dataset_id WHERE m.shard_id = ?1 AND NOT EXISTS \
                 (SELECT 1 FROM retractions r WHERE r.dataset_id = d.id) ORDER BY 1",
                params![s],
                "read shard datasets",
            )?
            .iter()
        {
            out.push((s, r.dataset(0)?));
        }
    }
    Ok(out)
}

/// The declarations of live versions, as (version, source), from the shards `s` (a
/// query's columns and tables, then the start of its `WHERE`).
pub const DECLARED_BY: &str = "DISTINCT x.name || '@' || x.version, d.source_id, s.hash \
     FROM declarations d JOIN shards s ON s.id = d.shard_id \
     JOIN datasets x ON x.id = d.dataset_id \
     WHERE NOT EXISTS (SELECT 1 FROM retractions r WHERE r.dataset_id = x.id) AND";

/// [`super::Registry::known_shards`], one query per hash.
pub fn known_shards_each(
    c: &mut dyn Conn,
    hashes: &[blake3::Hash],
) -> Result<HashMap<blake3::Hash, KnownShard>, RegistryError> {
    let mut out = HashMap::new();
    for h in hashes {
        if out.contains_key(h) {
            continue;
        }
        let rows = c.query(
            "SELECT s.unattributed_records, s.unattributed_bytes, a.source_id, a.records, \
             a.bytes FROM shards s LEFT JOIN attributions a ON a.shard_id = s.id \
             WHERE s.hash = ?1 ORDER BY a.source_id",
            params![h],
            "look up shards",
        )?;
        let mut known: Option<KnownShard> = None;
        for r in rows.iter() {
            if known.is_none() {
                known = Some(KnownShard {
                    sources: Vec::new(),
                    unattributed_records: r.count(0)?,
                    unattributed_bytes: r.count(1)?,
                    declared: Vec::new(),
                });
            }
            if let (Some(k), Some(source)) = (known.as_mut(), r.opt_text(2)?) {
                k.sources.push((source, r.count(3)?, r.count(4)?));
            }
        }
        if let Some(mut k) = known {
            for r in c
                .query(
                    &format!("SELECT {DECLARED_BY} s.hash = ?1 ORDER BY 1, 2"),
                    params![h],
                    "look up shards",
                )?
                .iter()
            {
                k.declared.push((r.dataset(0)?, r.text(1)?));
            }
            out.insert(*h, k);
        }
    }
    Ok(out)
}
