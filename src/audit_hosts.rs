//! `audit SOURCE`'s hosts: the source's content per URL host over the audited versions
//! (from the scanner's per-host counts), each with the rights reservation recorded for it
//! today — what the `opted-out` findings are judged on, at host granularity.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::attribute::SourceMatcher;
use crate::error::Result;
use crate::registry::Registry;
use crate::report::{State, judge_all, state_on};
use crate::rights;
use crate::types::{DatasetRef, Date};

/// One host of the audited source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditHost {
    /// The host, as recorded in the URLs.
    pub host: String,
    /// Records from it in the audited versions (each distinct shard once per version).
    pub records: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The versions holding them.
    pub datasets: Vec<String>,
    /// Its reservation as of today: `none`, `host` or `paths`.
    pub reserved: &'static str,
    /// What the reservation is, and since when (empty when none).
    pub reservation: String,
}

/// The hosts of `source` in `versions`, by records (most first), then host.
pub fn hosts(reg: &dyn Registry, source: &str, versions: &[DatasetRef]) -> Result<Vec<AuditHost>> {
    let matcher = SourceMatcher::new(&reg.sources()?);
    let mut by_host: BTreeMap<String, (u64, u64, BTreeSet<String>)> = BTreeMap::new();
    for v in versions {
        let Some(h) = reg.dataset_hosts(v)? else {
            continue;
        };
        for (host, records, bytes, _) in h.hosts {
            let mine = matcher
                .source_of_host(&host)
                .is_some_and(|i| matcher.ids()[i] == source);
            if !mine {
                continue;
            }
            let e = by_host.entry(host).or_default();
            e.0 = e.0.saturating_add(records);
            e.1 = e.1.saturating_add(bytes);
            e.2.insert(v.to_string());
        }
    }
    let reservations = judge_all(reg.optouts()?, &rights::agents(&reg.crawlers()?));
    let today = Date::today();
    let mut out: Vec<AuditHost> = by_host
        .into_iter()
        .map(|(host, (records, bytes, datasets))| {
            let state = reservations
                .get(&host)
                .map_or(State::Clear, |rs| state_on(rs, today));
            let (reserved, reservation) = match state {
                State::Host(r, agent) => (
                    "host",
                    format!("{} of {} ({agent})", r.protocol.title(), r.date),
                ),
                State::Paths(r, agent, paths) => (
                    "paths",
                    format!(
                        "{} of {} ({agent}): {}",
                        r.protocol.title(),
                        r.date,
                        paths.join(" ")
                    ),
                ),
                State::Clear => ("none", String::new()),
            };
            AuditHost {
                host,
                records,
                bytes,
                datasets: datasets.into_iter().collect(),
                reserved,
                reservation,
            }
        })
        .collect();
    out.sort_by(|a, b| b.records.cmp(&a.records).then_with(|| a.host.cmp(&b.host)));
    Ok(out)
}
