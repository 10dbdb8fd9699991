//! The reads, once for every backend: the policy's tables, dataset versions and their
//! members, usage and totals, source content, events, exported tables, and what a scan
//! needs before it starts ([`scan_context`]). Reads about shards are in [`super::shards`].

use std::collections::{BTreeSet, HashMap};

use super::conn::{Conn, params};
use super::{
    Application, Cap, ContentRow, DatasetInfo, DatasetTotals, Disclosure, Event, Grant,
    RegistryError, Retraction, ScanContext, Shard, Source, SourceUsage, StoredMember, Subject,
    TrainingRun, Value, VolumeRow, check_table,
};
use crate::licence::Licence;
use crate::types::DatasetRef;

/// The id of a dataset version.
pub fn dataset_id(
    c: &mut dyn Conn,
    d: &DatasetRef,
    what: &str,
) -> Result<Option<i64>, RegistryError> {
    let rows = c.query(
        "SELECT id FROM datasets WHERE name = ?1 AND version = ?2",
        params![&d.name, &d.version],
        what,
    )?;
    rows.first().map(|r| r.int(0)).transpose()
}

/// (key, value) rows grouped by key.
fn grouped(
    c: &mut dyn Conn,
    sql: &str,
    what: &str,
) -> Result<HashMap<String, Vec<String>>, RegistryError> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for r in c.query(sql, &[], what)?.iter() {
        out.entry(r.text(0)?).or_default().push(r.text(1)?);
    }
    Ok(out)
}

/// All sources, by id.
pub fn sources(c: &mut dyn Conn) -> Result<Vec<Source>, RegistryError> {
    let mut domains = grouped(
        c,
        "SELECT source_id, domain FROM source_domains ORDER BY source_id, domain",
        "read source domains",
    )?;
    let rows = c.query(
        "SELECT id, name FROM sources ORDER BY id",
        &[],
        "read sources",
    )?;
    rows.iter()
        .map(|r| {
            let id = r.text(0)?;
            let domains = domains.remove(&id).unwrap_or_default();
            Ok(Source {
                id,
                name: r.text(1)?,
                domains,
            })
        })
        .collect()
}

/// Licences declared by policy files, by id.
pub fn licences(c: &mut dyn Conn) -> Result<Vec<Licence>, RegistryError> {
    let mut terms: HashMap<(String, String), Vec<String>> = HashMap::new();
    for r in c
        .query(
            "SELECT licence_id, kind, term FROM licence_terms ORDER BY licence_id, kind, term",
            &[],
            "read licence terms",
        )?
        .iter()
    {
        terms
            .entry((r.text(0)?, r.text(1)?))
            .or_default()
            .push(r.text(2)?);
    }
    let rows = c.query(
        "SELECT id, name FROM licences ORDER BY id",
        &[],
        "read licences",
    )?;
    rows.iter()
        .map(|r| {
            let id = r.text(0)?;
            let mut take = |k: &str| {
                terms
                    .remove(&(id.clone(), k.to_string()))
                    .unwrap_or_default()
            };
            let (allow, deny, conditions) = (take("allow"), take("deny"), take("condition"));
            Ok(Licence {
                id,
                name: r.text(1)?,
                allow,
                deny,
                conditions,
                builtin: false,
            })
        })
        .collect()
}

/// All grants, by id.
pub fn grants(c: &mut dyn Conn) -> Result<Vec<Grant>, RegistryError> {
    let rows = c.query(
        "SELECT id, source_id, licence_id, grantee, valid_from, valid_until, cap_records, \
         cap_per FROM grants ORDER BY id",
        &[],
        "read grants",
    )?;
    rows.iter()
        .map(|r| {
            let until = match r.opt_text(5)? {
                Some(_) => Some(r.date(5)?),
                None => None,
            };
            let cap = match (r.opt_int(6)?, r.opt_text(7)?) {
                (Some(n), Some(per)) => Some(Cap {
                    records: n.max(0) as u64,
                    per: per.parse().map_err(|e: String| r.bad(7, &e))?,
                }),
                _ => None,
            };
            Ok(Grant {
                id: r.text(0)?,
                source: r.text(1)?,
                licence: r.text(2)?,
                grantee: r.text(3)?,
                from: r.date(4)?,
                until,
                cap,
            })
        })
        .collect()
}

/// All training runs, by date then model.
pub fn training_runs(c: &mut dyn Conn) -> Result<Vec<TrainingRun>, RegistryError> {
    let mut datasets = grouped(
        c,
        "SELECT model, dataset FROM training_datasets ORDER BY model, dataset",
        "read training datasets",
    )?;
    let mut uses = grouped(
        c,
        "SELECT model, use_name FROM training_uses ORDER BY model, use_name",
        "read training uses",
    )?;
    let rows = c.query(
        "SELECT model, org, date FROM training_runs ORDER BY date, model",
        &[],
        "read training runs",
    )?;
    rows.iter()
        .map(|r| {
            let model = r.text(0)?;
            let ds = datasets
                .remove(&model)
                .unwrap_or_default()
                .iter()
                .map(|s| s.parse::<DatasetRef>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| r.bad(0, &format!("training dataset: {e}")))?;
            let uses = uses.remove(&model).unwrap_or_default();
            Ok(TrainingRun {
                model,
                org: r.text(1)?,
                date: r.date(2)?,
                datasets: ds,
                uses,
            })
        })
        .collect()
}

/// All applications, by id.
pub fn applications(c: &mut dyn Conn) -> Result<Vec<Application>, RegistryError> {
    let mut models = grouped(
        c,
        "SELECT application_id, model FROM application_models ORDER BY application_id, model",
        "read application models",
    )?;
    let mut uses = grouped(
        c,
        "SELECT application_id, use_name FROM application_uses ORDER BY application_id, use_name",
        "read application uses",
    )?;
    let rows = c.query(
        "SELECT id, org, disclosed FROM applications ORDER BY id",
        &[],
        "read applications",
    )?;
    rows.iter()
        .map(|r| {
            let id = r.text(0)?;
            let models = models.remove(&id).unwrap_or_default();
            let uses = uses.remove(&id).unwrap_or_default();
            Ok(Application {
                uses,
                id,
                org: r.text(1)?,
                models,
                disclosed: r.flag(2)?,
            })
        })
        .collect()
}

/// All disclosures, by date then id.
pub fn disclosures(c: &mut dyn Conn) -> Result<Vec<Disclosure>, RegistryError> {
    let rows = c.query(
        "SELECT id, dataset, source_id, recipient, kind, date, org FROM disclosures \
         ORDER BY date, id",
        &[],
        "read disclosures",
    )?;
    rows.iter()
        .map(|r| {
            let subject = match (r.opt_text(1)?, r.opt_text(2)?) {
                (Some(_), _) => Subject::Dataset(r.dataset(1)?),
                (None, Some(s)) => Subject::Source(s),
                (None, None) => return Err(r.bad(1, "disclosure without subject")),
            };
            Ok(Disclosure {
                id: r.text(0)?,
                subject,
                recipient: r.text(3)?,
                kind: r.text(4)?,
                date: r.date(5)?,
                org: r.opt_text(6)?,
            })
        })
        .collect()
}

/// Dataset versions (all, or the one with id `filter`) with their ids, by name and version.
pub fn datasets(
    c: &mut dyn Conn,
    filter: Option<i64>,
) -> Result<Vec<(i64, DatasetInfo)>, RegistryError> {
    let mut parents: HashMap<i64, Vec<DatasetRef>> = HashMap::new();
    for r in c
        .query(
            "SELECT p.dataset_id, d.name || '@' || d.version FROM dataset_parents p \
             JOIN datasets d ON d.id = p.parent_id ORDER BY d.name, d.version",
            &[],
            "read dataset parents",
        )?
        .iter()
    {
        parents.entry(r.int(0)?).or_default().push(r.dataset(1)?);
    }
    let rows = c.query(
        "SELECT d.id, d.name, d.version, d.org, d.collected, d.root_hash, d.files, d.bytes, \
         d.records, r.reason, r.time FROM datasets d LEFT JOIN retractions r \
         ON r.dataset_id = d.id WHERE CAST(?1 AS BIGINT) IS NULL OR d.id = ?1 \
         ORDER BY d.name, d.version",
        params![filter],
        "read datasets",
    )?;
    rows.iter()
        .map(|r| {
            let id = r.int(0)?;
            Ok((
                id,
                DatasetInfo {
                    dataset: DatasetRef {
                        name: r.text(1)?,
                        version: r.text(2)?,
                    },
                    org: r.opt_text(3)?,
                    collected: r.date(4)?,
                    root: r.hash(5)?,
                    files: r.count(6)?,
                    bytes: r.count(7)?,
                    records: r.count(8)?,
                    parents: parents.remove(&id).unwrap_or_default(),
                    retracted: match r.opt_text(9)? {
                        Some(reason) => Some(Retraction {
                            reason,
                            time: r.text(10)?,
                        }),
                        None => None,
                    },
                },
            ))
        })
        .collect()
}

/// One dataset version.
pub fn dataset(c: &mut dyn Conn, d: &DatasetRef) -> Result<Option<DatasetInfo>, RegistryError> {
    match dataset_id(c, d, "look up dataset")? {
        Some(id) => Ok(datasets(c, Some(id))?.pop().map(|(_, info)| info)),
        None => Ok(None),
    }
}

/// A version's members with their shards, by path.
pub fn members(c: &mut dyn Conn, dataset_id: i64) -> Result<Vec<StoredMember>, RegistryError> {
    let rows = c.query(
        // A shard's unattributed content is none in a version that declared its source.
        "SELECT m.path, s.hash, s.size, s.format, s.records, \
         CASE WHEN d.shard_id IS NULL THEN s.unattributed_records ELSE 0 END, \
         CASE WHEN d.shard_id IS NULL THEN s.unattributed_bytes ELSE 0 END, \
         s.malformed, s.problem \
         FROM dataset_shards m JOIN shards s ON s.id = m.shard_id \
         LEFT JOIN (SELECT DISTINCT shard_id FROM declarations WHERE dataset_id = ?1) d \
         ON d.shard_id = m.shard_id \
         WHERE m.dataset_id = ?1 ORDER BY m.path",
        params![dataset_id],
        "read dataset shards",
    )?;
    rows.iter()
        .map(|r| {
            Ok(StoredMember {
                path: r.blob(0)?.to_vec(),
                shard: Shard {
                    hash: r.hash(1)?,
                    size: r.count(2)?,
                    format: r.text(3)?,
                    records: r.count(4)?,
                    unattributed_records: r.count(5)?,
                    unattributed_bytes: r.count(6)?,
                    malformed: r.count(7)?,
                    problem: r.opt_text(8)?,
                },
            })
        })
        .collect()
}

/// What versions declared, per version and source, over the shards `s` and declarations `d`
/// (a query's tables, then the start of its `WHERE`): shards, records, bytes, and how many
/// of those shards the bytes also attribute to the source (see [`super::merge_usage`]).
pub const DECLARED_USAGE: &str = "COUNT(*), CAST(SUM(s.unattributed_records) AS BIGINT), \
     CAST(SUM(s.unattributed_bytes) AS BIGINT), CAST(SUM(CASE WHEN EXISTS (SELECT 1 FROM \
     attributions a WHERE a.shard_id = d.shard_id AND a.source_id = d.source_id) THEN 1 ELSE 0 \
     END) AS BIGINT) FROM declarations d JOIN shards s ON s.id = d.shard_id \
     WHERE s.unattributed_records > 0 AND";

/// Per-source content of a version's distinct shards, by source; unattributed content last
/// as `None`. The same counts as the views `version_content` and `version_unattributed`,
/// read in two passes (what the bytes showed, what the version declared) that use the
/// tables' keys directly.
pub fn usage(c: &mut dyn Conn, dataset_id: i64) -> Result<Vec<SourceUsage>, RegistryError> {
    let what = "read dataset usage";
    let usage_of = |r: &super::conn::Row<'_>, k: usize| -> Result<SourceUsage, RegistryError> {
        Ok(SourceUsage {
            source: Some(r.text(k)?),
            shards: r.count(k + 1)?,
            records: r.count(k + 2)?,
            bytes: r.count(k + 3)?,
        })
    };
    let observed = c
        .query(
            // Each distinct shard once: the members not marked `dup` (no DISTINCT to sort).
            "SELECT a.source_id, COUNT(*), CAST(SUM(a.records) AS BIGINT), \
             CAST(SUM(a.bytes) AS BIGINT) FROM dataset_shards m \
             JOIN attributions a ON a.shard_id = m.shard_id \
             WHERE m.dataset_id = ?1 AND NOT m.dup GROUP BY a.source_id ORDER BY a.source_id",
            params![dataset_id],
            what,
        )?
        .iter()
        .map(|r| usage_of(&r, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let declared = c
        .query(
            &format!("SELECT d.source_id, {DECLARED_USAGE} d.dataset_id = ?1 GROUP BY d.source_id"),
            params![dataset_id],
            what,
        )?
        .iter()
        .map(|r| Ok((usage_of(&r, 0)?, r.count(4)?)))
        .collect::<Result<Vec<_>, RegistryError>>()?;
    let mut out = super::merge_usage(observed, declared);
    // Unattributed: what the bytes left, less the shards the version declared (as the view
    // `version_unattributed`, without a declaration lookup per member).
    let mut sums = [0u64; 3];
    for (k, sql) in [
        "SELECT COUNT(*), CAST(COALESCE(SUM(s.unattributed_records), 0) AS BIGINT), \
         CAST(COALESCE(SUM(s.unattributed_bytes), 0) AS BIGINT) FROM dataset_shards m \
         JOIN shards s ON s.id = m.shard_id \
         WHERE m.dataset_id = ?1 AND NOT m.dup AND s.unattributed_records > 0",
        "SELECT COUNT(*), CAST(COALESCE(SUM(s.unattributed_records), 0) AS BIGINT), \
         CAST(COALESCE(SUM(s.unattributed_bytes), 0) AS BIGINT) \
         FROM (SELECT DISTINCT shard_id FROM declarations WHERE dataset_id = ?1) d \
         JOIN shards s ON s.id = d.shard_id WHERE s.unattributed_records > 0",
    ]
    .into_iter()
    .enumerate()
    {
        if let Some(r) = c.query(sql, params![dataset_id], what)?.first() {
            for (i, sum) in sums.iter_mut().enumerate() {
                let v = r.count(i)?;
                *sum = if k == 0 { v } else { sum.saturating_sub(v) };
            }
        }
    }
    if sums[0] > 0 {
        out.push(SourceUsage {
            source: None,
            shards: sums[0],
            records: sums[1],
            bytes: sums[2],
        });
    }
    Ok(out)
}

/// Per-source totals of a version's content, each distinct shard once (a file held at two
/// paths is the same content), as `scan` prints them and every other count is made.
pub fn dataset_totals(c: &mut dyn Conn, dataset_id: i64) -> Result<DatasetTotals, RegistryError> {
    let mut out = DatasetTotals::default();
    for u in usage(c, dataset_id)? {
        match u.source {
            Some(s) => {
                out.sources.insert(s, (u.records, u.bytes));
            }
            None => out.unattributed_records = u.records,
        }
    }
    Ok(out)
}

/// The staged parts of a version: (part, of N, files, root hash over the part).
pub fn staged(
    c: &mut dyn Conn,
    d: &DatasetRef,
) -> Result<Vec<(u32, u32, u64, blake3::Hash)>, RegistryError> {
    let rows = c.query(
        "SELECT part, parts, files, root_hash FROM dataset_parts \
         WHERE name = ?1 AND version = ?2 ORDER BY part",
        params![&d.name, &d.version],
        "read staged parts",
    )?;
    rows.iter()
        .map(|r| {
            let k = |i| r.count(i).map(|v| u32::try_from(v).unwrap_or(u32::MAX));
            Ok((k(0)?, k(1)?, r.count(2)?, r.hash(3)?))
        })
        .collect()
}

/// The reason version `id` was retracted for, when it was.
pub fn retraction(c: &mut dyn Conn, id: i64) -> Result<Option<String>, RegistryError> {
    let rows = c.query(
        "SELECT reason FROM retractions WHERE dataset_id = ?1",
        params![id],
        "read retraction",
    )?;
    rows.first().map(|r| r.text(0)).transpose()
}

/// The id of `d`, registered and not retracted: unregistered is `missing(d)`, retracted
/// is [`RegistryError::Retracted`].
pub fn live_dataset_id(
    c: &mut dyn Conn,
    d: &DatasetRef,
    missing: fn(DatasetRef) -> RegistryError,
) -> Result<i64, RegistryError> {
    let id = dataset_id(c, d, "look up dataset")?.ok_or_else(|| missing(d.clone()))?;
    refuse_retracted(c, d, id)?;
    Ok(id)
}

/// Nothing when version `d` (id `id`) counts; [`RegistryError::Retracted`] when it was
/// retracted: nothing is written into it, derived from it or declared of it.
pub fn refuse_retracted(c: &mut dyn Conn, d: &DatasetRef, id: i64) -> Result<(), RegistryError> {
    match retraction(c, id)? {
        Some(reason) => Err(RegistryError::Retracted {
            dataset: d.clone(),
            reason,
        }),
        None => Ok(()),
    }
}

/// What a scan reads before it starts (see [`super::Registry::scan_context`]).
pub fn scan_context(
    c: &mut dyn Conn,
    dataset: Option<&DatasetRef>,
    parents: &[DatasetRef],
    dir: &[u8],
) -> Result<ScanContext, RegistryError> {
    let mut parent_sources = BTreeSet::new();
    for p in parents {
        let id = live_dataset_id(c, p, RegistryError::UnknownParent)?;
        parent_sources.extend(usage(c, id)?.into_iter().filter_map(|u| u.source));
    }
    let id = match dataset {
        Some(d) => dataset_id(c, d, "look up dataset")?,
        None => None,
    };
    // A retracted version is never scanned again, not even as unchanged.
    if let (Some(d), Some(id)) = (dataset, id) {
        refuse_retracted(c, d, id)?;
    }
    let mut existing = None;
    if let Some(id) = id
        && let Some((_, info)) = datasets(c, Some(id))?.pop()
    {
        existing = Some((info, dataset_totals(c, id)?));
    }
    let state = c.query(
        "SELECT state FROM scan_state WHERE dir = ?1",
        params![dir],
        "read scan state",
    )?;
    Ok(ScanContext {
        sources: sources(c)?,
        state: state
            .first()
            .map(|r| r.blob(0).map(<[u8]>::to_vec))
            .transpose()?,
        existing,
        parent_sources: parent_sources.into_iter().collect(),
    })
}

/// [`super::Registry::datasets_usage`]: the versions read once (with their parents), then
/// each wanted one's usage.
pub fn datasets_usage_each(
    c: &mut dyn Conn,
    refs: &[DatasetRef],
) -> Result<HashMap<DatasetRef, (DatasetInfo, Vec<SourceUsage>)>, RegistryError> {
    let wanted: std::collections::HashSet<&DatasetRef> = refs.iter().collect();
    let mut out = HashMap::with_capacity(wanted.len());
    if wanted.is_empty() {
        return Ok(out);
    }
    for (id, info) in datasets(c, None)? {
        if wanted.contains(&info.dataset) {
            let u = usage(c, id)?;
            out.insert(info.dataset.clone(), (info, u));
        }
    }
    Ok(out)
}

/// [`super::Registry::cap_volumes`], from each source's content.
pub fn cap_volumes_each(
    c: &mut dyn Conn,
    sources: &[String],
) -> Result<HashMap<(String, String), Vec<VolumeRow>>, RegistryError> {
    let mut out: HashMap<(String, String), Vec<VolumeRow>> = HashMap::new();
    for source in sources {
        let mut first: HashMap<(String, blake3::Hash), VolumeRow> = HashMap::new();
        for r in source_content(c, source)? {
            let Some(org) = r.org.clone() else { continue };
            let row = first.entry((org, r.shard)).or_insert_with(|| r.volume());
            if r.collected < row.collected {
                row.collected = r.collected;
            }
        }
        for ((org, _), row) in first {
            out.entry((source.clone(), org)).or_default().push(row);
        }
    }
    Ok(out)
}

/// Every member holding content of `source`, by collection date: what its bytes showed
/// (each path), with what its version declared of the same shard added (see
/// [`super::merge_content`]).
pub fn source_content(c: &mut dyn Conn, source: &str) -> Result<Vec<ContentRow>, RegistryError> {
    let what = "read source content";
    let observed = c.query(
        "SELECT d.name || '@' || d.version, d.org, d.collected, s.hash, a.records, a.bytes \
         FROM attributions a JOIN shards s ON s.id = a.shard_id \
         JOIN dataset_shards m ON m.shard_id = a.shard_id \
         JOIN datasets d ON d.id = m.dataset_id \
         WHERE a.source_id = ?1 AND NOT EXISTS \
         (SELECT 1 FROM retractions r WHERE r.dataset_id = d.id) ORDER BY d.collected, d.name, d.version, m.path",
        params![source],
        what,
    )?;
    let declared = c.query(
        "SELECT x.name || '@' || x.version, x.org, x.collected, s.hash, \
         s.unattributed_records, s.unattributed_bytes \
         FROM declarations d JOIN shards s ON s.id = d.shard_id \
         JOIN datasets x ON x.id = d.dataset_id \
         WHERE d.source_id = ?1 AND s.unattributed_records > 0 AND NOT EXISTS \
         (SELECT 1 FROM retractions r WHERE r.dataset_id = x.id)",
        params![source],
        what,
    )?;
    let rows = |rows: super::conn::Rows| {
        rows.iter()
            .map(|r| {
                Ok(ContentRow {
                    dataset: r.dataset(0)?,
                    org: r.opt_text(1)?,
                    collected: r.date(2)?,
                    shard: r.hash(3)?,
                    records: r.count(4)?,
                    bytes: r.count(5)?,
                })
            })
            .collect::<Result<Vec<_>, RegistryError>>()
    };
    Ok(super::merge_content(rows(observed)?, rows(declared)?))
}

/// The newest `limit` events (all when `None`), oldest first.
pub fn events(c: &mut dyn Conn, limit: Option<u64>) -> Result<Vec<Event>, RegistryError> {
    let rows = c.query(
        "SELECT seq, time, actor, kind, payload, prev, hash FROM events \
         ORDER BY seq DESC LIMIT ?1",
        params![limit.unwrap_or(i64::MAX as u64)],
        "read events",
    )?;
    let mut out = rows
        .iter()
        .map(|r| {
            Ok(Event {
                seq: r.count(0)?,
                time: r.text(1)?,
                actor: r.text(2)?,
                kind: r.text(3)?,
                payload: r.text(4)?,
                prev: r.text(5)?,
                hash: r.text(6)?,
            })
        })
        .collect::<Result<Vec<_>, RegistryError>>()?;
    out.reverse();
    Ok(out)
}

/// Every row of one of [`super::TABLES`], in primary-key order.
pub fn export_table(
    c: &mut dyn Conn,
    table: &str,
    columns: &[&str],
) -> Result<Vec<Vec<Value>>, RegistryError> {
    check_table(table, columns)?;
    let sql = format!("SELECT {} FROM {table} ORDER BY 1, 2", columns.join(", "));
    Ok(c.query(&sql, &[], &format!("export {table}"))?
        .into_values())
}
