//! A synthetic registry for benchmarks: sources, grants, datasets of generated shards,
//! training runs and applications, written through the same [`Registry`] calls as `apply`
//! and `scan` (no side door into the storage), deterministically from a few sizes.

use std::time::Instant;

use crate::error::Result;
use crate::licence::Licence;
use crate::registry::{
    Application, Attribution, Cap, EventDraft, Grant, Member, Method, NewDataset, Policy, Registry,
    Shard, Source, TrainingRun,
};
use crate::types::{DatasetRef, Date, Period};

/// How big a registry to build.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Sources.
    pub sources: usize,
    /// Dataset versions.
    pub datasets: usize,
    /// Shards per dataset (one in fifty is shared with another dataset).
    pub shards_per_dataset: usize,
    /// Training runs (each on four datasets).
    pub runs: usize,
    /// Extra `gate` events appended after the datasets, one transaction each (for the
    /// event-chain benchmark).
    pub events: usize,
}

/// What building took.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Built {
    /// Seconds to apply the policy.
    pub policy_seconds: f64,
    /// Seconds to register every dataset.
    pub datasets_seconds: f64,
    /// Shards registered (members, counting shared ones once per dataset).
    pub members: u64,
    /// Seconds to append the extra events.
    pub events_seconds: f64,
}

fn date(days: i32) -> Date {
    // 2019-01-01 is a valid date, so the fallback is never taken.
    Date::from_ymd(2019, 1, 1)
        .unwrap_or_else(Date::today)
        .add_days(days)
}

/// The synthetic policy: sources `s000…`, grants of four kinds, runs and applications.
fn policy(z: Sizes) -> Policy {
    let mut p = Policy::default();
    p.licences.push(Licence {
        id: "api-terms".into(),
        name: "API terms".into(),
        allow: vec!["display".into(), "analytics".into()],
        deny: vec!["ai-training".into(), "government-sharing".into()],
        conditions: vec!["attribution".into()],
        builtin: false,
    });
    for i in 0..z.sources {
        let id = format!("s{i:03}");
        p.sources.push(Source {
            id: id.clone(),
            name: format!("Source {i}"),
            domains: vec![format!("{id}.example")],
        });
        let (licence, grantee, until, cap) = match i % 4 {
            0 => ("CC-BY-4.0", "*".to_string(), None, None),
            1 => (
                "api-terms",
                format!("org{}", i % 10),
                None,
                Some(Cap {
                    records: 20_000,
                    per: Period::Month,
                }),
            ),
            2 => ("CC0-1.0", format!("org{}", i % 10), Some(date(365)), None),
            _ => continue,
        };
        p.grants.push(Grant {
            id: format!("g-{id}"),
            source: id,
            licence: licence.into(),
            grantee,
            from: date(0),
            until,
            cap,
        });
    }
    for k in 0..z.runs {
        p.training.push(TrainingRun {
            model: format!("m{k:03}"),
            org: format!("org{}", k % 10),
            date: date(1200 + (k % 300) as i32),
            datasets: (0..4)
                .map(|t| DatasetRef {
                    name: format!("d{:04}", (k * 4 + t) % z.datasets.max(1)),
                    version: "1".into(),
                })
                .collect(),
            uses: vec!["ai-training".into(), "commercial".into()],
        });
    }
    for a in 0..z.runs / 5 {
        p.applications.push(Application {
            id: format!("app{a:03}"),
            org: format!("org{}", a % 10),
            models: (0..5)
                .map(|j| format!("m{:03}", (a * 5 + j) % z.runs))
                .collect(),
            uses: vec!["advertising".into()],
            disclosed: a % 7 != 0,
        });
    }
    p
}

/// One dataset of generated shards from four sources of its own (a crawl of a few
/// platforms): each shard attributed to one or two of them, a few with unattributed
/// records; one shard in fifty is the same bytes as in the previous dataset.
fn dataset(z: Sizes, i: usize) -> NewDataset {
    let mut members = Vec::with_capacity(z.shards_per_dataset);
    for j in 0..z.shards_per_dataset {
        let owner = if j % 50 == 0 && i > 0 { i - 1 } else { i };
        let hash = blake3::hash(format!("{owner}/{j}").as_bytes());
        let src = |k: usize| format!("s{:03}", (owner * 3 + (j + k) % 4) % z.sources);
        let mut attributions = vec![Attribution {
            source: src(0),
            records: 100,
            bytes: 20_000,
            method: Method::Url,
        }];
        if j % 3 == 0 {
            attributions.push(Attribution {
                source: src(1),
                records: 40,
                bytes: 8_000,
                method: Method::Url,
            });
        }
        attributions.sort_by(|a, b| a.source.cmp(&b.source));
        attributions.dedup_by(|a, b| a.source == b.source);
        let unattributed = if j % 97 == 0 { 5 } else { 0 };
        members.push(Member {
            prints: Vec::new(),
            path: format!("part-{j:05}.jsonl").into_bytes(),
            shard: Shard {
                hash,
                size: 30_000,
                format: "jsonl".into(),
                records: 140 + unattributed,
                unattributed_records: unattributed,
                unattributed_bytes: unattributed * 200,
                malformed: 0,
                problem: None,
            },
            attributions,
            declared: Vec::new(),
            hosts: None,
        });
    }
    let root = crate::digest::root_hash(members.iter().map(|m| (m.path.as_slice(), &m.shard.hash)));
    NewDataset {
        dataset: DatasetRef {
            name: format!("d{i:04}"),
            version: "1".into(),
        },
        org: Some(format!("org{}", i % 10)),
        collected: date((i % 1100) as i32),
        root_hash: root,
        parents: Vec::new(),
        members,
        state: None,
    }
}

/// Builds the synthetic registry into `reg`, reporting progress through `tick`.
pub fn build(reg: &mut dyn Registry, z: Sizes, tick: &dyn Fn(usize)) -> Result<Built> {
    let started = Instant::now();
    let p = policy(z);
    let event = |kind: &str, payload: serde_json::Value| EventDraft {
        actor: "bench".into(),
        kind: kind.into(),
        payload,
    };
    reg.apply_policy(&p, &event("apply", serde_json::json!({"synthetic": true})))?;
    let policy_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut members = 0;
    for i in 0..z.datasets {
        let ds = dataset(z, i);
        members += ds.members.len() as u64;
        let payload = serde_json::json!({
            "dataset": ds.dataset.to_string(),
            "root": ds.root_hash.to_hex().as_str(),
            "files": ds.members.len(),
        });
        reg.register_dataset(&ds, &event("scan", payload))?;
        tick(i + 1);
    }
    let datasets_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for i in 0..z.events {
        let payload = serde_json::json!({
            "dataset": format!("d{:04}@1", i % z.datasets.max(1)),
            "root": blake3::hash(&i.to_le_bytes()).to_hex().as_str(),
            "org": format!("org{}", i % 10),
            "date": date((i % 1100) as i32).to_string(),
            "uses": ["ai-training", "commercial"],
            "pass": i % 3 != 0,
            "blocking": i % 3,
        });
        reg.record_event(&event("gate", payload))?;
    }
    Ok(Built {
        policy_seconds,
        datasets_seconds,
        members,
        events_seconds: started.elapsed().as_secs_f64(),
    })
}
