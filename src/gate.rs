//! The pre-training gate: would a planned training run on a registered dataset, or on a
//! directory as it is on disk, be allowed?
//! Evaluated exactly as `report` evaluates a recorded run; the verdict is recorded as one
//! `gate` event, and nothing else is written.

use serde::Serialize;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::registry::{DatasetInfo, EventDraft, Registry, RegistryError, SourceUsage};
use crate::report::{self, Filter, Finding, Obligation};
use crate::scan::{self, ReadOptions};
use crate::training;
use crate::types::{DatasetRef, Date};
use crate::verdict::{Rules, Verdict};

/// How to check.
#[derive(Clone, Debug)]
pub struct GateOptions {
    /// The uses planned (`ai-training` is always one, see [`training::uses`]).
    pub uses: Vec<String>,
    /// The training org.
    pub org: String,
    /// The planned date.
    pub date: Date,
    /// Let content of unknown provenance through.
    pub allow_unknown: bool,
    /// Who asks, for the event.
    pub actor: String,
}

/// The gate's answer. `pass` and `findings` are the spec's keys.
#[derive(Clone, Debug, Serialize)]
pub struct GateResult {
    /// True when nothing blocks.
    pub pass: bool,
    /// Every finding, blocking or not (unknown provenance with `--allow-unknown`).
    pub findings: Vec<Finding>,
    /// What the licences of the permitted uses ask in return (attribution, share-alike…),
    /// owed when the training goes ahead.
    pub obligations: Vec<Obligation>,
    /// The dataset checked: `NAME@VERSION`, or the directory as given.
    pub dataset: String,
    /// Its root hash.
    pub root: String,
    /// The uses checked.
    pub uses: Vec<String>,
    /// Per source of the dataset (and `unknown` for unattributed content): the blocking
    /// verdicts, empty when it passes. One JUnit test case each.
    pub sources: Vec<(String, Vec<Verdict>)>,
    /// For a directory: what was read and what the registry knew of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<DirFacts>,
    /// Whether the verdict was recorded as a `gate` event (not on a read-only registry).
    pub recorded: bool,
}

/// What `gate DIR` found on disk.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DirFacts {
    /// The directory as given.
    pub path: String,
    /// The registered dataset version with the same root hash, if any: the directory is
    /// exactly that version, and is judged as it (caps included).
    pub matches: Option<String>,
    /// Files.
    pub files: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Distinct shards already registered (their stored attributions are used).
    pub registered_shards: u64,
    /// Distinct shards never registered (attributed by record URL, like `scan`).
    pub new_shards: u64,
    /// Files whose cached facts were reused: their bytes hashed the same as when they were
    /// scanned, or with `--trust-cache` their size, mtime and inode were unchanged.
    pub reused: u64,
    /// Files read and hashed, their records read too.
    pub rehashed: u64,
    /// True with `--trust-cache`: unchanged metadata was taken for unchanged bytes.
    pub trusted_cache: bool,
    /// Files not fingerprinted, and why.
    pub skipped: Vec<crate::scan::Skipped>,
    /// Shards with unreadable records.
    pub problems: Vec<crate::scan::Problem>,
    /// Versions that declared a source for content here that no URL or print attributes:
    /// a declaration holds for its version only, so that content is unknown here until
    /// the directory is registered (`scan --derived-from VERSION` or `--source`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub declared_elsewhere: Vec<String>,
    /// Wall-clock seconds reading the directory.
    pub seconds: f64,
    /// For an object-storage prefix: what was listed, fetched and read by range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote: Option<crate::scan::RemoteFacts>,
}

/// Whether a finding blocks under these options.
pub fn blocks(f: &Finding, allow_unknown: bool) -> bool {
    !(allow_unknown && f.verdict == Verdict::UnknownProvenance)
}

/// Runs the gate against a registered dataset and records its verdict as a `gate` event.
pub fn gate_dataset(
    reg: &mut dyn Registry,
    dataset: &DatasetRef,
    opts: &GateOptions,
) -> Result<GateResult> {
    let info = reg.dataset(dataset)?.ok_or_else(|| {
        Error::input(
            dataset.to_string(),
            "dataset is not registered (scan it first)",
        )
    })?;
    info.live()?;
    let usage = reg.dataset_usage(dataset)?;
    let payload = serde_json::json!({ "dataset": dataset.to_string() });
    decide(reg, info, usage, false, None, payload, opts)
}

/// Runs the gate on a directory as it is on disk: fingerprints it (reusing the scanner's
/// saved state read-only, for files whose bytes hash the same — or, with
/// `read.check_bytes` off, whose size, mtime and inode are unchanged), takes what the
/// registry knows of every registered shard, and attributes the content of new shards by
/// record URL. A directory that is exactly a
/// registered version is judged as that version. Writes only the `gate` event.
pub fn gate_dir(
    reg: &mut dyn Registry,
    dir: &Path,
    read: &ReadOptions,
    opts: &GateOptions,
) -> Result<GateResult> {
    let started = Instant::now();
    let survey = scan::survey(&*reg, dir, read)?;
    let shown = dir.display().to_string();
    let mut facts = DirFacts {
        path: shown.clone(),
        files: survey.entries.len() as u64,
        bytes: survey.facts.iter().map(|f| f.size).sum(),
        reused: survey.reused,
        rehashed: survey.rehashed,
        trusted_cache: !read.check_bytes && !read.rehash,
        skipped: survey.skipped.clone(),
        remote: survey.remote.clone(),
        ..DirFacts::default()
    };
    for (e, f) in survey.entries.iter().zip(&survey.facts) {
        if f.stats.malformed > 0 || f.stats.problem.is_some() {
            facts.problems.push(crate::scan::Problem {
                path: scan::show_path(&e.rel),
                malformed: f.stats.malformed,
                error: f.stats.problem.clone(),
            });
        }
    }
    let canonical = std::fs::canonicalize(dir)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| shown.clone());
    let payload = |matches: Option<&str>| serde_json::json!({ "dir": canonical, "matches": matches, "files": facts.files });

    // Distinct shards, each counted once however many paths hold it.
    let mut hashes: Vec<blake3::Hash> = survey.facts.iter().map(|f| f.hash).collect();
    hashes.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    hashes.dedup();
    if let Some(info) = reg
        .datasets()?
        .into_iter()
        .find(|d| d.root == survey.root && d.retracted.is_none())
    {
        let usage = reg.dataset_usage(&info.dataset)?;
        facts.matches = Some(info.dataset.to_string());
        facts.registered_shards = hashes.len() as u64;
        facts.seconds = started.elapsed().as_secs_f64();
        let payload = payload(facts.matches.as_deref());
        return decide(reg, info, usage, false, Some(facts), payload, opts);
    }
    let known = reg.known_shards(&hashes)?;
    let mut per_source: BTreeMap<String, SourceUsage> = BTreeMap::new();
    let mut unknown = SourceUsage {
        source: None,
        shards: 0,
        records: 0,
        bytes: 0,
    };
    let mut add = |source: &str, records: u64, bytes: u64| {
        let u = per_source
            .entry(source.to_string())
            .or_insert_with(|| SourceUsage {
                source: Some(source.to_string()),
                shards: 0,
                records: 0,
                bytes: 0,
            });
        u.shards += 1;
        u.records += records;
        u.bytes += bytes;
    };
    let mut declared_by = std::collections::BTreeSet::new();
    let mut seen = std::collections::HashSet::with_capacity(hashes.len());
    for f in &survey.facts {
        if !seen.insert(f.hash) {
            continue;
        }
        let (un_records, un_bytes) = match known.get(&f.hash) {
            Some(k) => {
                facts.registered_shards += 1;
                for (source, records, bytes) in &k.sources {
                    add(source, *records, *bytes);
                }
                // What versions holding it declared is theirs: named, never applied here.
                if k.unattributed_records > 0 {
                    declared_by.extend(k.declared.iter().map(|(d, _)| d.to_string()));
                }
                (k.unattributed_records, k.unattributed_bytes)
            }
            None => {
                facts.new_shards += 1;
                for (i, records, bytes) in f.stats.per_source.iter().chain(&f.stats.prints.matched)
                {
                    add(&survey.ids[*i], *records, *bytes);
                }
                (f.stats.unattributed_records, f.stats.unattributed_bytes)
            }
        };
        if un_records > 0 {
            unknown.shards += 1;
            unknown.records += un_records;
            unknown.bytes += un_bytes;
        }
    }
    facts.declared_elsewhere = declared_by.into_iter().collect();
    let mut usage: Vec<SourceUsage> = per_source.into_values().collect();
    if unknown.shards > 0 {
        usage.push(unknown);
    }
    let info = DatasetInfo {
        dataset: DatasetRef {
            name: shown,
            version: survey.root.to_hex()[..12].to_string(),
        },
        // Caps bind collections, and a directory no one registered was collected by no
        // known org on no known date: only registered versions are held to caps.
        org: None,
        collected: opts.date,
        root: survey.root,
        files: facts.files,
        bytes: facts.bytes,
        records: survey.facts.iter().map(|f| f.stats.records).sum(),
        parents: Vec::new(),
        retracted: None,
    };
    facts.seconds = started.elapsed().as_secs_f64();
    let payload = payload(None);
    decide(reg, info, usage, true, Some(facts), payload, opts)
}

/// Evaluates the planned run on one dataset, registered or read from disk, and records the
/// verdict.
fn decide(
    reg: &mut dyn Registry,
    info: DatasetInfo,
    usage: Vec<SourceUsage>,
    unregistered: bool,
    dir: Option<DirFacts>,
    mut payload: serde_json::Value,
    opts: &GateOptions,
) -> Result<GateResult> {
    // The caller checked org and uses; a library caller that did not hears it here.
    let run = training::planned(&opts.org, opts.date, info.dataset.clone(), &opts.uses)
        .map_err(|(_, m)| Error::input("gate", m))?;
    let uses = run.uses.clone();
    let label = match &dir {
        Some(d) => d.path.clone(),
        None => info.dataset.to_string(),
    };
    let sources_of: Vec<String> = usage
        .iter()
        .map(|u| u.source.clone().unwrap_or_else(|| "unknown".into()))
        .collect();
    let root = info.root.to_hex().to_string();
    let extra = if unregistered {
        vec![(info, usage)]
    } else {
        Vec::new()
    };
    let planned = report::build_for(
        &*reg,
        vec![run],
        extra,
        report::Scope::Planned,
        &Filter::default(),
        Rules::default(),
    )?;
    let mut findings = planned.findings;
    let mut obligations = planned.obligations;
    for o in &mut obligations {
        o.model = "-".into();
        if unregistered {
            o.dataset = label.clone();
        }
    }
    for f in &mut findings {
        f.model = None;
        if unregistered {
            f.dataset = Some(report::Holder::Directory(label.clone()));
        }
    }
    // The planned run's finding about its version's collection (a cap, a reservation) is
    // the collection's own once the model is dropped: one finding.
    let mut unique: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings {
        if !unique.contains(&f) {
            unique.push(f);
        }
    }
    let findings = unique;
    let mut sources: Vec<(String, Vec<Verdict>)> =
        sources_of.into_iter().map(|s| (s, Vec::new())).collect();
    for f in findings.iter().filter(|f| blocks(f, opts.allow_unknown)) {
        let name = f.source.clone().unwrap_or_else(|| "unknown".into());
        if let Some((_, v)) = sources.iter_mut().find(|(s, _)| *s == name)
            && !v.contains(&f.verdict)
        {
            v.push(f.verdict);
        }
    }
    let blocking = findings
        .iter()
        .filter(|f| blocks(f, opts.allow_unknown))
        .count();
    let pass = blocking == 0;
    if let Some(obj) = payload.as_object_mut() {
        obj.insert("root".into(), root.clone().into());
        obj.insert("org".into(), opts.org.clone().into());
        obj.insert("date".into(), opts.date.to_string().into());
        obj.insert("uses".into(), uses.clone().into());
        obj.insert("allow_unknown".into(), opts.allow_unknown.into());
        obj.insert("pass".into(), pass.into());
        obj.insert("blocking".into(), blocking.into());
    }
    let event = EventDraft {
        actor: opts.actor.clone(),
        kind: "gate".into(),
        payload,
    };
    let recorded = match reg.record_event(&event) {
        Ok(()) => true,
        // A read-only registry still answers; the caller says the verdict went unrecorded.
        Err(RegistryError::ReadOnly { .. }) => false,
        Err(e) => return Err(e.into()),
    };
    Ok(GateResult {
        pass,
        findings,
        obligations,
        dataset: label,
        root,
        uses,
        sources,
        dir,
        recorded,
    })
}

/// What to do about a blocking verdict, in a few words.
pub fn remedy(v: Verdict) -> &'static str {
    v.remedy()
}
