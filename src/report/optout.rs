//! Rights-reservation findings (semantics step 8), judged at host granularity from the
//! scanner's per-host counts: content from a host whose reservation covered it on its
//! collection date (`opted-out`, a collection finding, and again for each run training on
//! it), content collected before a reservation and trained on after it
//! (`opted-out-later`), and what the counts cannot decide — a reservation of some paths
//! only, or content whose hosts were not measured — as `opt-out-undecided`, never clear.

use std::collections::{BTreeSet, HashMap};

use crate::attribute::SourceMatcher;
use crate::error::Result;
use crate::licence::AI_TRAINING;
use crate::registry::{DatasetHosts, DatasetInfo, TrainingRun};
use crate::rights::{self, Coverage, Protocol, Reservation};
use crate::types::{DatasetRef, Date};
use crate::verdict::Verdict;

use super::facts::Facts;
use super::{Filter, Finding, Holder, thousands};

/// What a host's reservations say on a date, and the reservation that says it.
#[derive(Clone, Debug)]
pub enum State<'a> {
    /// The whole host is reserved.
    Host(&'a Reservation, String),
    /// Only some paths are.
    Paths(&'a Reservation, String, Vec<String>),
    /// Nothing is.
    Clear,
}

/// A reservation with what it covers for the registry's crawlers, judged once per report.
#[derive(Clone, Debug)]
pub struct Judged {
    /// The reservation.
    pub reservation: Reservation,
    /// What it covers.
    pub coverage: Coverage,
}

/// Every reservation judged for `agents`, by host.
pub fn judge_all(all: Vec<Reservation>, agents: &[String]) -> HashMap<String, Vec<Judged>> {
    let mut by_host: HashMap<String, Vec<Judged>> = HashMap::new();
    for r in all {
        let coverage = rights::coverage(&r, agents);
        by_host.entry(r.host.clone()).or_default().push(Judged {
            reservation: r,
            coverage,
        });
    }
    by_host
}

/// The reservations in force on `date`: per protocol, the latest robots.txt snapshot and
/// the latest TDMRep file fetched on or before it; every CSV row dated on or before it. A
/// whole-host reservation wins over a path-level one.
pub fn state_on(js: &[Judged], date: Date) -> State<'_> {
    let latest = |p: Protocol| {
        js.iter()
            .map(|j| &j.reservation)
            .filter(|r| r.protocol == p && r.date <= date)
            .map(|r| r.date)
            .max()
    };
    let (robots, tdmrep) = (latest(Protocol::Robots), latest(Protocol::Tdmrep));
    let mut partial: Option<State<'_>> = None;
    for j in js.iter().filter(|j| {
        let r = &j.reservation;
        match r.protocol {
            Protocol::Robots => Some(r.date) == robots,
            Protocol::Tdmrep => Some(r.date) == tdmrep,
            Protocol::Csv => r.date <= date,
        }
    }) {
        match &j.coverage {
            Coverage::Host { agent } => return State::Host(&j.reservation, agent.clone()),
            Coverage::Paths { agent, paths } if partial.is_none() => {
                partial = Some(State::Paths(&j.reservation, agent.clone(), paths.clone()));
            }
            _ => {}
        }
    }
    partial.unwrap_or(State::Clear)
}

/// One line naming a reservation: "robots.txt fetched 2023-01-01 (GPTBot)".
fn evidence(r: &Reservation, agent: &str) -> String {
    let whom = if agent == "*" {
        String::new()
    } else {
        format!(", group of {agent}")
    };
    format!("{} of {}{whom}", r.protocol.title(), r.date)
}

struct Rights {
    by_host: HashMap<String, Vec<Judged>>,
    matcher: SourceMatcher,
    hosts: HashMap<DatasetRef, Option<DatasetHosts>>,
}

impl Rights {
    fn source(&self, host: &str) -> Option<String> {
        self.matcher
            .source_of_host(host)
            .map(|i| self.matcher.ids()[i].clone())
    }

    fn hosts(&mut self, facts: &Facts<'_>, d: &DatasetRef) -> Result<Option<DatasetHosts>> {
        if !self.hosts.contains_key(d) {
            let h = facts.registry().dataset_hosts(d)?;
            self.hosts.insert(d.clone(), h);
        }
        Ok(self.hosts.get(d).cloned().flatten())
    }

    /// Reserved hosts (on `date`) that `measured` does not name.
    fn unseen(&self, measured: &DatasetHosts, date: Date) -> Vec<&str> {
        let seen: BTreeSet<&str> = measured.hosts.iter().map(|h| h.0.as_str()).collect();
        let mut out: Vec<&str> = self
            .by_host
            .iter()
            .filter(|(h, rs)| {
                !seen.contains(h.as_str()) && !matches!(state_on(rs, date), State::Clear)
            })
            .map(|(h, _)| h.as_str())
            .collect();
        out.sort_unstable();
        out
    }
}

/// A finding about `records` of `host` (or of no host) in `info`.
struct About<'a> {
    info: &'a DatasetInfo,
    model: Option<&'a str>,
    source: Option<String>,
    counts: (u64, u64, u64),
}

impl About<'_> {
    fn finding(&self, verdict: Verdict, detail: String) -> Finding {
        let (shards, records, bytes) = self.counts;
        Finding {
            verdict,
            use_: AI_TRAINING.to_string(),
            source: self.source.clone(),
            dataset: Some(Holder::from(&self.info.dataset)),
            model: self.model.map(str::to_string),
            grant: None,
            licence: None,
            shards,
            records,
            bytes,
            detail,
            disclosure: None,
        }
    }
}

/// Judges the collections `collected` and the runs `runs` (as `filter` narrows them)
/// against the recorded reservations; nothing when none is recorded.
pub(super) fn judge(
    facts: &mut Facts<'_>,
    runs: &[TrainingRun],
    collected: &[DatasetRef],
    filter: &Filter,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let reg = facts.registry();
    let all = reg.optouts()?;
    if all.is_empty() {
        return Ok(());
    }
    let mut rights = Rights {
        by_host: judge_all(all, &rights::agents(&reg.crawlers()?)),
        matcher: SourceMatcher::new(&reg.sources()?),
        hosts: HashMap::new(),
    };
    for d in collected {
        let Some((info, _)) = facts.dataset(d)?.cloned() else {
            continue;
        };
        if info.retracted.is_some() {
            continue;
        }
        judge_version(facts, &mut rights, &info, None, findings)?;
    }
    for run in runs {
        if filter.model.as_ref().is_some_and(|m| *m != run.model) {
            continue;
        }
        for d in run.datasets.iter().filter(|d| filter.wants_dataset(d)) {
            // Unregistered and retracted versions are the training findings' to report.
            let Some((info, _)) = facts.dataset(d)?.cloned() else {
                continue;
            };
            if info.retracted.is_some() {
                continue;
            }
            judge_version(facts, &mut rights, &info, Some(run), findings)?;
        }
    }
    Ok(())
}

/// The findings of one version, as a collection (`run` none) or as trained on by `run`.
fn judge_version(
    facts: &Facts<'_>,
    rights: &mut Rights,
    info: &DatasetInfo,
    run: Option<&TrainingRun>,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let collected = info.collected;
    let model = run.map(|r| r.model.as_str());
    let Some(measured) = rights.hosts(facts, &info.dataset)? else {
        // A directory a gate read: no host counts were stored for it.
        let reserved = rights.by_host.len();
        findings.push(
            About {
                info,
                model,
                source: None,
                counts: (0, 0, 0),
            }
            .finding(
                Verdict::OptOutUndecided,
                format!(
                    "{} is not registered, so its hosts were not counted; {reserved} host(s) have reservations: scan it to judge them",
                    info.dataset
                ),
            ),
        );
        return Ok(());
    };
    for (host, records, bytes, shards) in &measured.hosts {
        let Some(rs) = rights.by_host.get(host) else {
            continue;
        };
        let about = About {
            info,
            model,
            source: rights.source(host),
            counts: (*shards, *records, *bytes),
        };
        let at_collection = state_on(rs, collected);
        let at_training = run.map(|r| state_on(rs, r.date));
        let n = thousands(*records);
        match (&at_collection, &at_training) {
            (State::Host(r, agent), _) => findings.push(about.finding(
                Verdict::OptedOut,
                format!(
                    "{host} was reserved ({}) when {n} records were collected from it on {collected}",
                    evidence(r, agent)
                ),
            )),
            (_, Some(State::Host(r, agent))) => findings.push(about.finding(
                Verdict::OptedOutLater,
                format!(
                    "{host} reserved ({}) after {n} records were collected on {collected}, before training on {}",
                    evidence(r, agent),
                    run.map(|r| r.date.to_string()).unwrap_or_default()
                ),
            )),
            (State::Paths(r, agent, paths), _) | (_, Some(State::Paths(r, agent, paths))) => {
                findings.push(about.finding(
                    Verdict::OptOutUndecided,
                    format!(
                        "{host} reserves only {} ({}); host counts cannot tell how many of its {n} records are under them",
                        shown(paths),
                        evidence(r, agent)
                    ),
                ))
            }
            _ => {}
        }
    }
    // Content whose host is not known by name: it may hold a reserved host's records.
    let date = run.map_or(collected, |r| r.date.max(collected));
    let unseen = rights.unseen(&measured, date);
    let other = measured
        .hosts
        .iter()
        .find(|h| h.0.is_empty())
        .map_or((0, 0, 0), |h| (h.3, h.1, h.2));
    let (shards, records, bytes) = (
        measured.unmeasured.0.saturating_add(other.0),
        measured.unmeasured.1.saturating_add(other.1),
        measured.unmeasured.2.saturating_add(other.2),
    );
    if !unseen.is_empty() && records > 0 {
        findings.push(
            About {
                info,
                model,
                source: None,
                counts: (shards, records, bytes),
            }
            .finding(
                Verdict::OptOutUndecided,
                format!(
                    "{} records have hosts not counted by name ({} in shards not measured, {} past each shard's top hosts); reserved hosts not seen by name: {}",
                    thousands(records),
                    thousands(measured.unmeasured.1),
                    thousands(other.1),
                    shown(&unseen.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                ),
            ),
        );
    }
    Ok(())
}

/// At most five items, then how many more.
fn shown(items: &[String]) -> String {
    let mut s = items.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 5 {
        s.push_str(&format!(" and {} more", items.len() - 5));
    }
    s
}
