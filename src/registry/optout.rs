//! Storage of rights reservations and what they are judged on: each shard's records per
//! URL host (written with the shard), the policy's crawlers and source kinds, and the
//! dated reservation evidence `optout import` records.

use super::conn::{Conn, StoredShards, params};
use super::{Member, RegistryError};
use crate::hosts::HostCounts;
use crate::rights::{Crawler, Protocol, Reservation, SourceKind};
use crate::types::DatasetRef;

/// A version's records per host over its distinct shards.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatasetHosts {
    /// (host, records, bytes, shards), by host; the host `""` is the remainder past each
    /// shard's top hosts.
    pub hosts: Vec<(String, u64, u64, u64)>,
    /// Shards whose hosts were not measured (Arrow, Parquet, or stored before hosts were
    /// counted): (shards, records, bytes).
    pub unmeasured: (u64, u64, u64),
    /// Opaque shards (an image, a model file: one record without a URL). Measured by what
    /// they are, with no host, they have no host rows: (shards, records, bytes).
    pub opaque: (u64, u64, u64),
}

impl DatasetHosts {
    /// BLAKE3 (hex) over the rows, in order: what the registering event records, so that
    /// `verify` catches host counts edited outside provtrack.
    pub fn digest(&self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(b"provtrack-hosts-v1\0");
        for (host, records, bytes, shards) in &self.hosts {
            h.update(format!("{host}\0{records}\0{bytes}\0{shards}\n").as_bytes());
        }
        // Opaque shards stored without host rows count where a shard without rows always
        // counted, so that digests recorded before they had none still verify.
        let (s, r, b) = add3(self.unmeasured, self.opaque);
        h.update(format!("\0unmeasured\0{s}\0{r}\0{b}\n").as_bytes());
        h.finalize().to_hex().to_string()
    }
}

fn add3(a: (u64, u64, u64), b: (u64, u64, u64)) -> (u64, u64, u64) {
    (
        a.0.saturating_add(b.0),
        a.1.saturating_add(b.1),
        a.2.saturating_add(b.2),
    )
}

/// Whether a shard is opaque (stored format `binary`): no record of it has a URL, so it
/// has no host rows.
fn is_opaque(m: &Member) -> bool {
    m.shard.format == OPAQUE
}

/// The stored format name of an opaque shard.
const OPAQUE: &str = "binary";

/// The rows [`store_hosts`] writes for one shard: its top hosts, then always one remainder
/// row with host `""` (a shard with rows is a shard whose hosts were measured). A host
/// named twice keeps its first row, as the insert's `ON CONFLICT … DO NOTHING` does.
fn host_rows(h: &HostCounts) -> impl Iterator<Item = (&str, u64, u64)> {
    let top = h.top.iter().map(|(host, r, b)| (host.as_str(), *r, *b));
    let all = top.chain(std::iter::once(("", h.other.0, h.other.1)));
    all.enumerate().filter_map(move |(k, row)| {
        let earlier = h.top[..k.min(h.top.len())].iter().any(|(x, ..)| x == row.0);
        (!earlier).then_some(row)
    })
}

/// Stores the host counts of the members' shards (`ids`, in the members' order). A shard's
/// hosts are measured once, by the first scan that read them: a shard already counted keeps
/// its rows, for a second reading's rows (say with another `--url-field`) would add up with
/// the first and change the counts of every version already holding the shard. One row
/// per statement: a statement of many rows costs SQLite a statement journal, more than it
/// saves.
pub fn store_hosts(
    c: &mut dyn Conn,
    members: &[Member],
    stored: &StoredShards,
) -> Result<(), RegistryError> {
    let sql = "INSERT INTO shard_hosts (shard_id, host, records, bytes) VALUES (?1, ?2, ?3, ?4) \
               ON CONFLICT (shard_id, host) DO NOTHING";
    let mut done = foldhash::HashSet::default();
    for (m, id) in members.iter().zip(&stored.ids) {
        let Some(h) = &m.hosts else { continue };
        if is_opaque(m) || !done.insert(*id) {
            continue;
        }
        // Only a shard stored before this scan can have been measured already.
        if stored.was_known(*id)
            && c.query(
                "SELECT 1 FROM shard_hosts WHERE shard_id = ?1 LIMIT 1",
                params![*id],
                "store shard hosts",
            )?
            .first()
            .is_some()
        {
            continue;
        }
        for (host, records, bytes) in host_rows(h) {
            c.execute(sql, params![*id, host, records, bytes], "store shard hosts")?;
        }
    }
    Ok(())
}

/// What [`dataset_hosts`] reads back for a version whose shards were all stored by its
/// own registration, [`store_hosts`] writing every host row: computed from the members
/// instead of queried back (each distinct shard once).
pub fn found_hosts(members: &[Member]) -> DatasetHosts {
    let mut seen = foldhash::HashSet::with_capacity_and_hasher(members.len(), Default::default());
    let mut hosts: std::collections::BTreeMap<&str, (u64, u64, u64)> = Default::default();
    let mut out = DatasetHosts::default();
    for m in members {
        if !seen.insert(m.shard.hash) {
            continue;
        }
        match &m.hosts {
            // As `dataset_hosts` reads them: an opaque shard of records has no rows.
            _ if is_opaque(m) && m.shard.records > 0 => {
                out.opaque = add3(out.opaque, (1, m.shard.records, m.shard.size));
            }
            _ if is_opaque(m) => {}
            Some(h) => {
                for (host, records, bytes) in host_rows(h) {
                    let t = hosts.entry(host).or_default();
                    t.0 = t.0.saturating_add(records);
                    t.1 = t.1.saturating_add(bytes);
                    t.2 += 1;
                }
            }
            None if m.shard.records > 0 => {
                let u = &mut out.unmeasured;
                u.0 += 1;
                u.1 = u.1.saturating_add(m.shard.records);
                u.2 = u.2.saturating_add(m.shard.size);
            }
            None => {}
        }
    }
    out.hosts = hosts
        .into_iter()
        .map(|(host, (r, b, n))| (host.to_string(), r, b, n))
        .collect();
    out
}

/// Upserts the policy's crawlers and source kinds.
pub fn upsert_rights(
    c: &mut dyn Conn,
    crawlers: &[Crawler],
    kinds: &[(String, SourceKind)],
) -> Result<(), RegistryError> {
    for cr in crawlers {
        let agents = cr.user_agents.join("\n");
        c.execute(
            "INSERT INTO crawlers (id, user_agents) VALUES (?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET user_agents = excluded.user_agents",
            params![&cr.id, &agents],
            "store crawler",
        )?;
    }
    for (source, kind) in kinds {
        c.execute(
            "INSERT INTO source_kinds (source_id, kind) VALUES (?1, ?2) \
             ON CONFLICT (source_id) DO UPDATE SET kind = excluded.kind",
            params![source, kind.as_str()],
            "store source kind",
        )?;
    }
    Ok(())
}

/// Stores reservations; the same (host, date, protocol, path) already stored is kept as
/// it is. Answers how many were new.
pub fn import(c: &mut dyn Conn, rows: &[Reservation]) -> Result<u64, RegistryError> {
    let mut new = 0;
    for r in rows {
        new += c.execute(
            "INSERT INTO optouts (host, date, protocol, path, body, origin) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (host, date, protocol, path) DO NOTHING",
            params![
                &r.host,
                r.date.to_string().as_str(),
                r.protocol.as_str(),
                &r.path,
                &r.body,
                &r.origin
            ],
            "store reservation",
        )?;
    }
    Ok(new)
}

/// Every reservation, by host, date, protocol and path.
pub fn reservations(c: &mut dyn Conn) -> Result<Vec<Reservation>, RegistryError> {
    let rows = c.query(
        "SELECT host, date, protocol, path, body, origin FROM optouts \
         ORDER BY host, date, protocol, path",
        &[],
        "read reservations",
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows.iter() {
        let protocol = r.text(2)?;
        out.push(Reservation {
            host: r.text(0)?,
            date: r.date(1)?,
            protocol: Protocol::parse(&protocol).ok_or_else(|| r.bad(2, "protocol"))?,
            path: r.text(3)?,
            body: r.text(4)?,
            origin: r.text(5)?,
        });
    }
    Ok(out)
}

/// Every crawler, by id.
pub fn crawlers(c: &mut dyn Conn) -> Result<Vec<Crawler>, RegistryError> {
    let rows = c.query(
        "SELECT id, user_agents FROM crawlers ORDER BY id",
        &[],
        "read crawlers",
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows.iter() {
        out.push(Crawler {
            id: r.text(0)?,
            user_agents: r.text(1)?.lines().map(str::to_string).collect(),
        });
    }
    Ok(out)
}

/// Every declared source kind, by source.
pub fn source_kinds(c: &mut dyn Conn) -> Result<Vec<(String, SourceKind)>, RegistryError> {
    let rows = c.query(
        "SELECT source_id, kind FROM source_kinds ORDER BY source_id",
        &[],
        "read source kinds",
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows.iter() {
        let kind = r.text(1)?;
        out.push((
            r.text(0)?,
            SourceKind::parse(&kind).ok_or_else(|| r.bad(1, "source kind"))?,
        ));
    }
    Ok(out)
}

/// A registered version's records per host; `None` when it is not registered.
pub fn dataset_hosts(
    c: &mut dyn Conn,
    d: &DatasetRef,
) -> Result<Option<DatasetHosts>, RegistryError> {
    let Some(id) = super::read::dataset_id(c, d, "read dataset hosts")? else {
        return Ok(None);
    };
    let what = "read dataset hosts";
    let rows = c.query(
        "SELECT h.host, CAST(SUM(h.records) AS BIGINT), CAST(SUM(h.bytes) AS BIGINT), \
         COUNT(*) \
         FROM (SELECT DISTINCT shard_id FROM dataset_shards WHERE dataset_id = ?1) m \
         JOIN shard_hosts h ON h.shard_id = m.shard_id \
         GROUP BY h.host ORDER BY h.host",
        params![id],
        what,
    )?;
    let mut out = DatasetHosts::default();
    for r in rows.iter() {
        out.hosts
            .push((r.text(0)?, r.count(1)?, r.count(2)?, r.count(3)?));
    }
    let rows = c.query(
        "SELECT CAST(CASE WHEN s.format = ?2 THEN 1 ELSE 0 END AS BIGINT), COUNT(*), \
         CAST(COALESCE(SUM(s.records), 0) AS BIGINT), CAST(COALESCE(SUM(s.size), 0) AS BIGINT) \
         FROM (SELECT DISTINCT shard_id FROM dataset_shards WHERE dataset_id = ?1) m \
         JOIN shards s ON s.id = m.shard_id \
         WHERE s.records > 0 AND NOT EXISTS \
         (SELECT 1 FROM shard_hosts h WHERE h.shard_id = m.shard_id) \
         GROUP BY 1",
        params![id, OPAQUE],
        what,
    )?;
    for r in rows.iter() {
        let t = (r.count(1)?, r.count(2)?, r.count(3)?);
        if r.int(0)? == 1 {
            out.opaque = t;
        } else {
            out.unmeasured = t;
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use crate::attribute::{Compression, Format, format_name};

    #[test]
    fn opaque_is_the_stored_name_of_an_opaque_shard() {
        assert_eq!(
            super::OPAQUE,
            format_name(Format::Binary, Compression::None)
        );
        assert_eq!(
            super::OPAQUE,
            format_name(Format::Binary, Compression::Gzip)
        );
    }

    #[test]
    fn opaque_shards_digest_as_shards_without_rows_always_did() {
        // Digests recorded when an opaque shard without host rows counted as unmeasured
        // (registered before hosts were counted) still verify.
        let hosts = vec![("a.example".to_string(), 5, 50, 1)];
        let now = super::DatasetHosts {
            hosts: hosts.clone(),
            unmeasured: (2, 20, 200),
            opaque: (3, 3, 3000),
        };
        let then = super::DatasetHosts {
            hosts,
            unmeasured: (5, 23, 3200),
            opaque: (0, 0, 0),
        };
        assert_eq!(now.digest(), then.digest());
    }
}
