//! Verification: the event chain (every hash recomputed, every link and sequence number
//! checked), dataset root hashes re-derived from their stored shard lists, and optionally
//! the files of a directory re-hashed against a registered dataset; and the chain against
//! heads recorded elsewhere (an expected head hash, a signed checkpoint).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use ed25519_dalek::VerifyingKey;

use crate::attribute::{SourceMatcher, UrlField};
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::events;
use crate::registry::state::State;
use crate::registry::{DatasetInfo, Event, Registry};
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
    /// Heads recorded elsewhere (`--expect-head`, `--checkpoint`) and whether they hold.
    pub anchors: Vec<AnchorCheck>,
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
    // Only payloads that can hold the key are parsed: a long chain of gate events stays
    // cheap to check.
    for e in evs.iter().filter(|e| e.payload.contains("\"unexplained\"")) {
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
    let head = evs.last().and_then(|e| {
        let payload: serde_json::Value = serde_json::from_str(&e.payload).ok()?;
        State::recorded_root(&payload).map(|root| (e.seq, root))
    });
    let checked = head.is_some();
    if let Some((seq, root)) = head
        && root != now.root()
    {
        // The table digests the head's root stands for: the last event that recorded them.
        let tables = evs
            .iter()
            .rev()
            .filter(|e| e.payload.contains("\"tables\""))
            .find_map(|e| State::recorded(&serde_json::from_str(&e.payload).ok()?));
        // A registry migrated since: its new state tables are empty, the others unchanged.
        if tables.as_ref().is_some_and(|t| now.upgraded_from(t)) {
            return Ok((now.root(), checked));
        }
        let differing = tables.map(|t| now.differing(&t)).unwrap_or_default();
        let named = if differing.is_empty() {
            vec!["state root".to_string()]
        } else {
            differing
        };
        for table in named {
            out.push(Mismatch {
                check: "state",
                subject: table,
                detail: format!(
                    "its rows differ from the state event {seq} (the last) committed to: edited outside provtrack"
                ),
            });
        }
    }
    Ok((now.root(), checked))
}

/// Checks each version's content per source (what its shards' attributions, its
/// declarations and its shards' unattributed counts add up to), and shard by shard where
/// the event recorded a digest, against the last event that recorded it: the one that
/// registered it (`totals`) or a later one whose write changed it (`changed`). Versions no
/// such event recorded (registered by an older provtrack) are left out.
fn check_totals(
    reg: &dyn Registry,
    evs: &[Event],
    datasets: &[DatasetRef],
    out: &mut Vec<Mismatch>,
) -> Result<()> {
    let mut recorded: BTreeMap<String, (u64, serde_json::Value)> = BTreeMap::new();
    let holds = |p: &str| p.contains("\"totals\"") || p.contains("\"changed\"");
    for e in evs.iter().filter(|e| holds(&e.payload)) {
        let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
        if let (Some(t), Some(d)) = (
            payload.get("totals"),
            payload.get("dataset").and_then(|d| d.as_str()),
        ) {
            recorded.insert(d.to_string(), (e.seq, t.clone()));
        }
        if let Some(changed) = payload.get("changed").and_then(|c| c.as_object()) {
            for (d, t) in changed {
                recorded.insert(d.clone(), (e.seq, t.clone()));
            }
        }
    }
    for d in datasets {
        let Some((seq, want)) = recorded.get(&d.to_string()) else {
            continue;
        };
        let Some(mut totals) = reg.version_totals(d)? else {
            continue;
        };
        // Events of an older provtrack recorded the sums only.
        if want.get("content").is_none() {
            totals.content = None;
        }
        let mut got = crate::registry::state::totals_json(&totals);
        if got == *want {
            continue;
        }
        let content = got.as_object_mut().and_then(|o| o.remove("content"));
        let mut sums = want.clone();
        let recorded = sums.as_object_mut().and_then(|o| o.remove("content"));
        let detail = if got == sums {
            format!(
                "its sums per source are as event {seq} recorded, but its content shard by shard is not (digest {} where {} was recorded): attributions, declarations or shard counts edited outside provtrack",
                content.unwrap_or_default(),
                recorded.unwrap_or_default()
            )
        } else {
            format!(
                "its content per source is {got} but event {seq} recorded {sums}: attributions, declarations or shard counts edited outside provtrack"
            )
        };
        out.push(Mismatch {
            check: "attributions",
            subject: d.to_string(),
            detail,
        });
    }
    Ok(())
}

/// Checks each version's per-host counts against the digest its registering event recorded
/// (versions registered before host counts existed recorded none and are left out).
fn check_hosts(
    reg: &dyn Registry,
    evs: &[Event],
    datasets: &[DatasetRef],
    out: &mut Vec<Mismatch>,
) -> Result<()> {
    let mut recorded: BTreeMap<String, (u64, String)> = BTreeMap::new();
    for e in evs.iter().filter(|e| e.payload.contains("\"hosts\"")) {
        let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
        if let (Some(h), Some(d)) = (
            payload.get("hosts").and_then(|h| h.as_str()),
            payload.get("dataset").and_then(|d| d.as_str()),
        ) {
            recorded.insert(d.to_string(), (e.seq, h.to_string()));
        }
    }
    for d in datasets {
        let Some((seq, want)) = recorded.get(&d.to_string()) else {
            continue;
        };
        let got = reg
            .dataset_hosts(d)?
            .map(|h| h.digest())
            .unwrap_or_default();
        if got != *want {
            out.push(Mismatch {
                check: "hosts",
                subject: d.to_string(),
                detail: format!(
                    "its per-host counts differ from what event {seq} recorded: host counts edited outside provtrack"
                ),
            });
        }
    }
    Ok(())
}

/// Checks each version's stored row against the `scan` or `seal` event that registered it:
/// a version no event registered, or whose root, counts, org or collection date differ
/// from what its event recorded, was written outside provtrack.
fn check_registrations(
    evs: &[Event],
    infos: &[DatasetInfo],
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
    for info in infos {
        let d = &info.dataset;
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

/// The event chain as stored, and how much of it holds.
pub struct Chain {
    /// Every event, in sequence order.
    pub events: Vec<Event>,
    /// How many events, from the first, link and hash correctly: the proven part.
    pub intact: usize,
    /// The first broken link, if any.
    pub broken: Option<Mismatch>,
}

impl Chain {
    /// The hash of the last event (the genesis value for an empty chain).
    pub fn head(&self) -> String {
        self.events
            .last()
            .map_or_else(|| events::GENESIS.to_string(), |e| e.hash.clone())
    }
}

/// Reads the event chain and checks it; the first broken link is reported with its
/// sequence number.
pub fn chain(reg: &dyn Registry) -> Result<Chain> {
    let evs = reg.events(None)?;
    let mut prev = events::GENESIS.to_string();
    let mut broken = None;
    let mut intact = evs.len();
    for (i, e) in evs.iter().enumerate() {
        let expected_seq = i as u64 + 1;
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
            broken = Some(Mismatch {
                check: "event",
                subject: e.seq.to_string(),
                detail,
            });
            // Everything after the first broken link is unproven; one report is enough.
            intact = i;
            break;
        }
        prev = e.hash.clone();
    }
    Ok(Chain {
        events: evs,
        intact,
        broken,
    })
}

/// What the chain is held to beyond its own consistency: heads recorded elsewhere.
#[derive(Clone, Copy, Debug, Default)]
pub struct Anchors<'a> {
    /// `--expect-head`: a chain hash (or a prefix of at least 8 hex digits, lowercase) that
    /// must be in the intact chain.
    pub expect_head: Option<&'a str>,
    /// `--checkpoint FILE --key PUB`: a signed checkpoint the chain must still extend,
    /// the key to check it with, and how to name the checkpoint.
    pub checkpoint: Option<(&'a Checkpoint, &'a VerifyingKey, &'a str)>,
}

/// One anchor checked, and what it proved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnchorCheck {
    /// `expect-head` or `checkpoint`.
    pub check: &'static str,
    /// The hash or checkpoint file checked.
    pub subject: String,
    /// The sequence number of the event the head was found at, when found.
    pub seq: Option<u64>,
    /// True when the chain holds it.
    pub ok: bool,
}

/// Where the expected head is: `Ok(Some(index))`, `Ok(None)` when no event has it, an
/// input error when the prefix names several.
fn find_head(c: &Chain, prefix: &str) -> Result<Option<usize>> {
    let found: Vec<usize> = (0..c.events.len())
        .filter(|&i| c.events[i].hash.to_ascii_lowercase().starts_with(prefix))
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(Error::input(
            "--expect-head",
            format!(
                "{} event hashes start with {prefix}; give more of its digits",
                many.len()
            ),
        )),
    }
}

/// Why the chain does not hold `--expect-head`, if it does not.
fn check_expected_head(c: &Chain, prefix: &str) -> Result<(Option<u64>, Option<String>)> {
    let Some(i) = find_head(c, prefix)? else {
        return Ok((
            None,
            Some(format!(
                "no event of the {}-event chain has this hash: events after it were deleted, or the chain was rewritten",
                c.events.len()
            )),
        ));
    };
    let seq = c.events[i].seq;
    if i >= c.intact {
        return Ok((
            Some(seq),
            Some(format!(
                "found at event {seq}, but the chain is broken at event {} before it, so it is not proven",
                c.intact + 1
            )),
        ));
    }
    Ok((Some(seq), None))
}

/// Why the chain does not extend a checkpoint, if it does not (its signature first).
fn check_checkpoint(c: &Chain, cp: &Checkpoint, key: &VerifyingKey) -> Option<String> {
    if let Err(why) = cp.check_signature(key) {
        return Some(why);
    }
    let n = c.events.len() as u64;
    if n < cp.seq {
        return Some(format!(
            "the chain has {n} events but the checkpoint's head is event {}: events were deleted",
            cp.seq
        ));
    }
    // seq >= 1 (checked when parsed) and <= the number of events.
    let i = (cp.seq - 1) as usize;
    if i >= c.intact {
        return Some(format!(
            "the chain is broken at event {}, at or before the checkpoint's event {}",
            c.intact + 1,
            cp.seq
        ));
    }
    let e = &c.events[i];
    if e.hash != cp.head {
        return Some(format!(
            "event {} has hash {} but the checkpoint's head is {}: the chain was rewritten",
            cp.seq,
            short(&e.hash),
            short(&cp.head)
        ));
    }
    // The state root it vouches for is the one that event committed to.
    let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
    let committed = State::recorded_root(&payload);
    (cp.state_root.is_some() && cp.state_root != committed).then(|| {
        format!(
            "the checkpoint's state root {} is not the one event {} committed to",
            short(cp.state_root.as_deref().unwrap_or("")),
            cp.seq
        )
    })
}

/// The first 16 characters of a stored hash, however short or odd it is.
pub fn short(hash: &str) -> String {
    hash.chars().take(16).collect()
}

/// Checks the anchors against the chain, adding a mismatch per failed one.
fn check_anchors(
    c: &Chain,
    anchors: &Anchors,
    out: &mut Vec<Mismatch>,
) -> Result<Vec<AnchorCheck>> {
    let mut done = Vec::new();
    if let Some(prefix) = anchors.expect_head {
        let (seq, problem) = check_expected_head(c, prefix)?;
        done.push(AnchorCheck {
            check: "expect-head",
            subject: prefix.to_string(),
            seq,
            ok: problem.is_none(),
        });
        if let Some(detail) = problem {
            out.push(Mismatch {
                check: "head",
                subject: prefix.to_string(),
                detail,
            });
        }
    }
    if let Some((cp, key, label)) = anchors.checkpoint {
        let problem = check_checkpoint(c, cp, key);
        done.push(AnchorCheck {
            check: "checkpoint",
            subject: label.to_string(),
            seq: Some(cp.seq),
            ok: problem.is_none(),
        });
        if let Some(detail) = problem {
            out.push(Mismatch {
                check: "checkpoint",
                subject: label.to_string(),
                detail,
            });
        }
    }
    Ok(done)
}

/// Verifies the registry: the event chain, the root hashes of `dataset` (or of every
/// dataset), and with `path` the files of that directory against `dataset`.
pub fn verify(
    reg: &dyn Registry,
    dataset: Option<&DatasetRef>,
    path: Option<&Path>,
    anchors: &Anchors,
) -> Result<Verification> {
    let mut mismatches = Vec::new();
    let c = chain(reg)?;
    mismatches.extend(c.broken.clone());
    let anchored = check_anchors(&c, anchors, &mut mismatches)?;
    let (events, chain_head) = (c.events.len() as u64, c.head());
    let (state_root, state_checked) = check_state(reg, &c.events, &mut mismatches)?;

    // The versions read once: every check below goes through them.
    let infos: Vec<DatasetInfo> = match dataset {
        Some(d) => vec![
            reg.dataset(d)?
                .ok_or_else(|| Error::input(d.to_string(), "dataset is not registered"))?,
        ],
        None => reg.datasets()?,
    };
    let datasets: Vec<DatasetRef> = infos.iter().map(|i| i.dataset.clone()).collect();
    for info in &infos {
        let d = &info.dataset;
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

    check_registrations(&c.events, &infos, &mut mismatches)?;
    check_totals(reg, &c.events, &datasets, &mut mismatches)?;
    check_hosts(reg, &c.events, &datasets, &mut mismatches)?;
    drop(c);

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
        let mut seen = BTreeMap::new();
        match scan::input_of(dir)? {
            scan::Input::Dir(dir) => {
                let (found, _) = scan::walk_with(dir, &WalkOptions::default(), false, &|e| {
                    scan::fingerprint(e, false, &field, &matcher).map(|f| f.hash)
                })?;
                for (e, h) in found {
                    let h = h.map_err(|err| Error::io(&e.abs, err))?;
                    seen.insert(e.rel, h);
                }
            }
            scan::Input::Object(url) => seen.extend(scan::hash_objects(&url, None)?),
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
        anchors: anchored,
        mismatches,
    })
}
