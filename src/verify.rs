//! Verification: the event chain (every hash recomputed, every link and sequence number
//! checked), dataset root hashes re-derived from their stored shard lists, and optionally
//! the files of a directory re-hashed against a registered dataset.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::attribute::{SourceMatcher, UrlField};
use crate::error::{Error, Result};
use crate::events;
use crate::registry::state::State;
use crate::registry::{Event, Registry};
use crate::scan::{self, WalkOptions, show_path};
use crate::types::DatasetRef;

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// `event`, `root` or `file`.
    pub check: &'static str,
    /// What: an event sequence number, a dataset, a path.
    pub subject: String,
    /// What is wrong.
    pub detail: String,
}

/// What `verify` found.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    /// True when nothing is wrong.
    pub ok: bool,
    /// Events checked.
    pub events: u64,
    /// The hash of the last event: record it elsewhere to prove later that nothing before
    /// it changed.
    pub chain_head: String,
    /// Datasets whose root hash was re-derived.
    pub datasets: u64,
    /// Files re-hashed with `--path`.
    pub files: u64,
    /// The state root of the registry's rows now (see `registry::state`).
    pub state_root: String,
    /// Whether the head event commits to a state the rows were compared with (false for a
    /// registry whose last event an older provtrack wrote).
    pub state_checked: bool,
    /// Every problem, chain first.
    pub mismatches: Vec<Mismatch>,
}

/// Compares the rows with the state the head event committed to, names every event that
/// recorded tables edited outside provtrack before it, and checks every version's row
/// against the event that registered it.
fn check_state(
    reg: &dyn Registry,
    evs: &[Event],
    out: &mut Vec<Mismatch>,
) -> Result<(String, bool)> {
    let now = reg.state()?;
    for e in evs {
        let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
        if let Some(tables) = payload.get("unexplained").and_then(|t| t.as_array()) {
            let names: Vec<&str> = tables.iter().filter_map(|t| t.as_str()).collect();
            out.push(Mismatch {
                check: "state",
                subject: format!("event {}", e.seq),
                detail: format!(
                    "{} changed outside provtrack before this {} event",
                    names.join(", "),
                    e.kind
                ),
            });
        }
    }
    let committed = evs.last().and_then(|e| {
        let payload: serde_json::Value = serde_json::from_str(&e.payload).ok()?;
        State::recorded(&payload).map(|s| (e.seq, s))
    });
    let checked = committed.is_some();
    if let Some((seq, committed)) = committed {
        for table in now.differing(&committed) {
            out.push(Mismatch {
                check: "state",
                subject: table.clone(),
                detail: format!(
                    "its rows differ from the state event {seq} (the last) committed to: edited outside provtrack"
                ),
            });
        }
    }
    Ok((now.root(), checked))
}

/// Checks each version's stored row against the `scan` or `seal` event that registered it:
/// a version no event registered, or whose root, counts, org or collection date differ
/// from what its event recorded, was written outside provtrack.
fn check_registrations(
    reg: &dyn Registry,
    evs: &[Event],
    datasets: &[DatasetRef],
    out: &mut Vec<Mismatch>,
) -> Result<()> {
    let mut registered: BTreeMap<String, (u64, serde_json::Value)> = BTreeMap::new();
    for e in evs.iter().filter(|e| e.kind == "scan" || e.kind == "seal") {
        let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
        if payload.get("part").is_some_and(|p| !p.is_null()) {
            continue;
        }
        if let Some(d) = payload.get("dataset").and_then(|d| d.as_str()) {
            registered.entry(d.to_string()).or_insert((e.seq, payload));
        }
    }
    for d in datasets {
        let Some(info) = reg.dataset(d)? else {
            continue;
        };
        let Some((seq, p)) = registered.get(&d.to_string()) else {
            out.push(Mismatch {
                check: "dataset",
                subject: d.to_string(),
                detail: "no scan or seal event registered it: written outside provtrack".into(),
            });
            continue;
        };
        let root = info.root.to_hex().to_string();
        let collected = info.collected.to_string();
        let checks: [(&str, serde_json::Value); 6] = [
            ("root", serde_json::json!(root)),
            ("files", serde_json::json!(info.files)),
            ("bytes", serde_json::json!(info.bytes)),
            ("records", serde_json::json!(info.records)),
            ("org", serde_json::json!(info.org)),
            ("collected", serde_json::json!(collected)),
        ];
        for (key, stored) in checks {
            // Older seal events record no org or collection date.
            let Some(recorded) = p.get(key) else { continue };
            if *recorded != stored {
                out.push(Mismatch {
                    check: "dataset",
                    subject: d.to_string(),
                    detail: format!(
                        "{key} is {stored} but event {seq}, which registered it, recorded {recorded}"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Checks the event chain; the first broken link is reported with its sequence number.
fn check_chain(evs: &[Event], out: &mut Vec<Mismatch>) -> Result<(u64, String)> {
    let mut prev = events::GENESIS.to_string();
    for (expected_seq, e) in (1u64..).zip(evs.iter()) {
        let problem = if e.seq != expected_seq {
            Some(format!(
                "sequence {} where {expected_seq} was expected (events deleted or reordered)",
                e.seq
            ))
        } else if e.prev != prev {
            Some("its prev hash is not the previous event's hash (an event before it was deleted, edited or reordered)".to_string())
        } else if events::chain_hash(&e.prev, e.seq, &e.time, &e.actor, &e.kind, &e.payload)
            != e.hash
        {
            Some("its hash does not match its content (the event was edited)".to_string())
        } else {
            None
        };
        if let Some(detail) = problem {
            out.push(Mismatch {
                check: "event",
                subject: e.seq.to_string(),
                detail,
            });
            // Everything after the first broken link is unproven; one report is enough.
            break;
        }
        prev = e.hash.clone();
    }
    let head = evs
        .last()
        .map_or_else(|| events::GENESIS.to_string(), |e| e.hash.clone());
    Ok((evs.len() as u64, head))
}

/// Verifies the registry: the event chain, the root hashes of `dataset` (or of every
/// dataset), and with `path` the files of that directory against `dataset`.
pub fn verify(
    reg: &dyn Registry,
    dataset: Option<&DatasetRef>,
    path: Option<&Path>,
) -> Result<Verification> {
    let mut mismatches = Vec::new();
    let evs = reg.events(None)?;
    let (events, chain_head) = check_chain(&evs, &mut mismatches)?;
    let (state_root, state_checked) = check_state(reg, &evs, &mut mismatches)?;

    let datasets: Vec<DatasetRef> = match dataset {
        Some(d) => {
            if reg.dataset(d)?.is_none() {
                return Err(Error::input(d.to_string(), "dataset is not registered"));
            }
            vec![d.clone()]
        }
        None => reg.datasets()?.into_iter().map(|d| d.dataset).collect(),
    };
    for d in &datasets {
        let Some(info) = reg.dataset(d)? else {
            continue;
        };
        let members = reg.dataset_members(d)?;
        let root =
            crate::digest::root_hash(members.iter().map(|m| (m.path.as_slice(), &m.shard.hash)));
        if root != info.root || members.len() as u64 != info.files {
            mismatches.push(Mismatch {
                check: "root",
                subject: d.to_string(),
                detail: format!(
                    "stored root {} but its {} shards give {}",
                    info.root.to_hex(),
                    members.len(),
                    root.to_hex()
                ),
            });
        }
    }

    check_registrations(reg, &evs, &datasets, &mut mismatches)?;

    let mut files = 0;
    if let Some(dir) = path {
        let Some(d) = dataset else {
            return Err(Error::input(
                "--path",
                "needs --dataset NAME@VERSION to compare against",
            ));
        };
        let stored: BTreeMap<Vec<u8>, blake3::Hash> = reg
            .dataset_members(d)?
            .into_iter()
            .map(|m| (m.path, m.shard.hash))
            .collect();
        // Hash only: no attribution is needed to compare bytes.
        let matcher = SourceMatcher::default();
        let field = UrlField::default();
        let (found, _) = scan::walk_with(dir, &WalkOptions::default(), false, &|e| {
            scan::fingerprint(e, false, &field, &matcher).map(|f| f.hash)
        })?;
        let mut seen = BTreeMap::new();
        for (e, h) in found {
            let h = h.map_err(|err| Error::io(&e.abs, err))?;
            seen.insert(e.rel, h);
        }
        files = seen.len() as u64;
        for (p, h) in &seen {
            match stored.get(p) {
                None => mismatches.push(Mismatch {
                    check: "file",
                    subject: show_path(p),
                    detail: "added (not in the registered dataset)".into(),
                }),
                Some(s) if s != h => mismatches.push(Mismatch {
                    check: "file",
                    subject: show_path(p),
                    detail: format!("changed: registered {}, now {}", s.to_hex(), h.to_hex()),
                }),
                Some(_) => {}
            }
        }
        for p in stored.keys().filter(|p| !seen.contains_key(*p)) {
            mismatches.push(Mismatch {
                check: "file",
                subject: show_path(p),
                detail: "missing (registered, not found)".into(),
            });
        }
    }

    Ok(Verification {
        ok: mismatches.is_empty(),
        events,
        chain_head,
        datasets: datasets.len() as u64,
        files,
        state_root,
        state_checked,
        mismatches,
    })
}
