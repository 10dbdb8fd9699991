//! `provtrack match`: the platform's question — are these posts in your datasets? Each
//! item of the given files (records of any scanned format, or a plain list) is printed as
//! the scanner prints records, and looked up among every registered shard's prints; a hit
//! names the dataset versions holding it, the models trained on them and the applications
//! using those models.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::attribute::{SourceMatcher, UrlField};
use crate::error::{Error, Result};
use crate::prints::{Kind, Printer};
use crate::registry::Registry;
use crate::types::DatasetRef;

/// What items are compared by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum By {
    /// The record's text, normalised as the scanner prints it.
    Text,
    /// The record's URL (a plain list: one URL per line).
    Url,
}

/// One registered version holding matched items.
#[derive(Clone, Debug, Serialize)]
pub struct VersionHit {
    /// The dataset version.
    pub dataset: DatasetRef,
    /// Items of the input found in it.
    pub items: u64,
    /// Sources its matching records are attributed to (`unattributed` for none).
    pub sources: Vec<String>,
    /// Models trained on it.
    pub models: Vec<String>,
    /// Applications using those models.
    pub applications: Vec<String>,
}

/// One input item found.
#[derive(Clone, Debug, Serialize)]
pub struct ItemHit {
    /// `FILE#N`: the N-th printed item of FILE (from 1).
    pub item: String,
    /// Versions holding it.
    pub datasets: Vec<DatasetRef>,
}

/// The answer of `match`.
#[derive(Clone, Debug, Serialize)]
pub struct MatchReport {
    /// What was compared.
    pub by: &'static str,
    /// Items read (printed) from the input.
    pub items: u64,
    /// Input records that could not be printed (no text or URL field, blank).
    pub unprintable: u64,
    /// Items found in at least one live version.
    pub found: u64,
    /// Items found in none.
    pub not_found: u64,
    /// Registered records compared against.
    pub registered: u64,
    /// Per version, most items first.
    pub versions: Vec<VersionHit>,
    /// Per found item.
    pub found_items: Vec<ItemHit>,
}

/// Prints the items of `files`.
fn items(files: &[PathBuf], by: By, field: &UrlField) -> Result<(Vec<(String, u64)>, u64)> {
    let mut out = Vec::new();
    let mut unprintable = 0u64;
    let mut printer = Printer::default();
    for f in files {
        let shown = f.display().to_string();
        let mut n = 0u64;
        let mut push = |p: u64, out: &mut Vec<(String, u64)>| {
            n += 1;
            out.push((format!("{shown}#{n}"), p));
        };
        let plain = matches!(
            f.extension().and_then(|e| e.to_str()),
            Some("txt" | "lst" | "list")
        );
        if plain {
            let file = std::fs::File::open(f).map_err(|e| Error::io(f, e))?;
            for line in std::io::BufReader::new(file).lines() {
                let line = line.map_err(|e| Error::io(f, e))?;
                let p = match by {
                    By::Text => printer.text(&line),
                    By::Url => printer.url(&line),
                };
                match p {
                    Some(p) => push(p, &mut out),
                    None if line.trim().is_empty() => {}
                    None => unprintable += 1,
                }
            }
            continue;
        }
        let meta = std::fs::metadata(f).map_err(|e| Error::io(f, e))?;
        if !meta.is_file() {
            return Err(Error::input("FILE", format!("{shown}: not a file")));
        }
        let mut entry = crate::scan::FileEntry {
            rel: shown.as_bytes().to_vec(),
            abs: f.clone(),
            size: meta.len(),
            mtime_ns: 0,
            inode: 0,
        };
        let facts = crate::scan::fingerprint(&mut entry, false, field, &SourceMatcher::new(&[]))
            .map_err(|e| Error::io(f, e))?;
        if let Some(problem) = facts.stats.problem.as_deref()
            && facts.stats.failed
        {
            return Err(Error::input("FILE", format!("{shown}: {problem}")));
        }
        let prints = facts.stats.prints;
        match by {
            By::Text => {
                unprintable += prints.textless;
                for (p, _) in prints.pending {
                    push(p, &mut out);
                }
            }
            By::Url => {
                let urls: Vec<u64> = prints.url.into_iter().flat_map(|(_, v)| v).collect();
                unprintable += facts.stats.records.saturating_sub(urls.len() as u64);
                for p in urls {
                    push(p, &mut out);
                }
            }
        }
    }
    Ok((out, unprintable))
}

/// Answers which registered versions hold the items of `files`.
pub fn run(reg: &dyn Registry, files: &[PathBuf], by: By, field: &UrlField) -> Result<MatchReport> {
    for f in files {
        if !Path::new(f).exists() {
            return Err(Error::input(
                "FILE",
                format!("{}: no such file", f.display()),
            ));
        }
    }
    let (items, unprintable) = items(files, by, field)?;
    let mut wanted: HashMap<u64, Vec<usize>> = HashMap::with_capacity(items.len());
    for (k, (_, p)) in items.iter().enumerate() {
        wanted.entry(*p).or_default().push(k);
    }
    let kind = match by {
        By::Text => Kind::Text,
        By::Url => Kind::Url,
    };
    // Every stored set is decoded once and its prints probed against the wanted ones.
    let mut registered = 0u64;
    let mut by_shard: BTreeMap<i64, (BTreeSet<usize>, BTreeSet<String>)> = BTreeMap::new();
    for s in reg.print_sets(kind, &[])? {
        let mut hits = Vec::new();
        let n = crate::prints::decode(&s.set.blob, crate::attribute::MAX_SHARD_RECORDS, |p| {
            if let Some(ks) = wanted.get(&p) {
                hits.extend_from_slice(ks);
            }
        })
        .ok_or_else(|| {
            Error::from(crate::registry::RegistryError::Damaged(format!(
                "record prints of shard {} are damaged",
                s.shard
            )))
        })?;
        registered += n;
        if !hits.is_empty() {
            let e = by_shard.entry(s.shard).or_default();
            e.0.extend(hits);
            e.1.insert(s.set.source.unwrap_or_else(|| "unattributed".into()));
        }
    }
    let shards: Vec<i64> = by_shard.keys().copied().collect();
    let mut per_version: BTreeMap<DatasetRef, (BTreeSet<usize>, BTreeSet<String>)> =
        BTreeMap::new();
    let mut per_item: BTreeMap<usize, BTreeSet<DatasetRef>> = BTreeMap::new();
    for (shard, d) in reg.shard_versions(&shards)? {
        let (ks, sources) = &by_shard[&shard];
        let v = per_version.entry(d.clone()).or_default();
        v.0.extend(ks.iter().copied());
        v.1.extend(sources.iter().cloned());
        for k in ks {
            per_item.entry(*k).or_default().insert(d.clone());
        }
    }
    let runs = reg.training_runs()?;
    let apps = reg.applications()?;
    let mut versions: Vec<VersionHit> = per_version
        .into_iter()
        .map(|(d, (ks, sources))| {
            let models: Vec<String> = runs
                .iter()
                .filter(|r| r.datasets.contains(&d))
                .map(|r| r.model.clone())
                .collect();
            let applications: Vec<String> = apps
                .iter()
                .filter(|a| a.models.iter().any(|m| models.contains(m)))
                .map(|a| a.id.clone())
                .collect();
            VersionHit {
                dataset: d,
                items: ks.len() as u64,
                sources: sources.into_iter().collect(),
                models,
                applications,
            }
        })
        .collect();
    versions.sort_by(|a, b| b.items.cmp(&a.items).then(a.dataset.cmp(&b.dataset)));
    let found = per_item.len() as u64;
    Ok(MatchReport {
        by: match by {
            By::Text => "text",
            By::Url => "url",
        },
        items: items.len() as u64,
        unprintable,
        found,
        not_found: items.len() as u64 - found,
        registered,
        versions,
        found_items: per_item
            .into_iter()
            .map(|(k, ds)| ItemHit {
                item: items[k].0.clone(),
                datasets: ds.into_iter().collect(),
            })
            .collect(),
    })
}
