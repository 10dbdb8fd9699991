//! Verification: the event chain (every hash recomputed, every link and sequence number
//! checked), dataset root hashes re-derived from their stored shard lists, and optionally
//! the files of a directory re-hashed against a registered dataset.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::attribute::{SourceMatcher, UrlField};
use crate::error::{Error, Result};
use crate::events;
use crate::registry::Registry;
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
    /// Every problem, chain first.
    pub mismatches: Vec<Mismatch>,
}

/// Checks the event chain; the first broken link is reported with its sequence number.
fn check_chain(reg: &dyn Registry, out: &mut Vec<Mismatch>) -> Result<(u64, String)> {
    let evs = reg.events(None)?;
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
    let (events, chain_head) = check_chain(reg, &mut mismatches)?;

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
        mismatches,
    })
}
