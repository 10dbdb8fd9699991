//! Exports for auditors: the provenance bill of materials of one dataset version as SPDX 3.0
//! JSON-LD ([`spdx`]) or CycloneDX 1.6 JSON ([`cyclonedx`]), and the self-contained HTML
//! report ([`html`]). Every export reads the registry through [`gather`] (and the HTML
//! report through `report`, `audit` and `lineage`), so it shows what the commands show.

pub mod ai_act;
pub mod cyclonedx;
pub mod html;
pub mod spdx;

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::licence::{Catalogue, Licence};
pub use crate::licence::{expression_id, spdx_id};
use crate::registry::{
    Application, DatasetInfo, Grant, Registry, Shard, Source, SourceUsage, TrainingRun,
};
use crate::report::{self, Filter, Finding};
use crate::types::DatasetRef;
use crate::verdict::Rules;

/// One file of the dataset: its path, shard facts and the sources of its content.
#[derive(Clone, Debug)]
pub struct BomFile {
    /// Path relative to the scanned directory (lossy UTF-8 for display).
    pub path: String,
    /// The shard.
    pub shard: Shard,
    /// Source ids its content is attributed to.
    pub sources: Vec<String>,
}

/// One source of the dataset's content, with the grants that may cover its owner.
#[derive(Clone, Debug)]
pub struct BomSource {
    /// The source.
    pub source: Source,
    /// Its content in the dataset.
    pub usage: SourceUsage,
    /// Grants of the source to the dataset's owner or to everyone.
    pub grants: Vec<Grant>,
}

/// Everything an export of one dataset version shows, read once from the registry.
#[derive(Clone, Debug)]
pub struct Bom {
    /// The dataset version.
    pub info: DatasetInfo,
    /// Its files, by path.
    pub files: Vec<BomFile>,
    /// Sources of its content, by id.
    pub sources: Vec<BomSource>,
    /// Content attributed to no source.
    pub unattributed: Option<SourceUsage>,
    /// Licences the grants name, by id (built-in or declared).
    pub licences: BTreeMap<String, Licence>,
    /// Training runs that used the dataset.
    pub models: Vec<TrainingRun>,
    /// Applications using those models.
    pub applications: Vec<Application>,
    /// The report's findings for the dataset.
    pub findings: Vec<Finding>,
}

/// Reads what an export of `dataset` shows; an unregistered dataset is an input error.
pub fn gather(reg: &dyn Registry, dataset: &DatasetRef) -> Result<Bom> {
    let info = reg.dataset(dataset)?.ok_or_else(|| {
        Error::input(
            dataset.to_string(),
            "dataset is not registered (see `provtrack dataset list`)",
        )
    })?;
    info.live()?;
    let mut files = Vec::new();
    // Same bytes, same provenance: a shard's sources are asked once however often it
    // appears in the dataset.
    let mut shard_sources: BTreeMap<[u8; 32], Vec<String>> = BTreeMap::new();
    for m in reg.dataset_members(dataset)? {
        let key = *m.shard.hash.as_bytes();
        let sources = match shard_sources.entry(key) {
            std::collections::btree_map::Entry::Occupied(e) => e.get().clone(),
            std::collections::btree_map::Entry::Vacant(e) => e
                .insert(
                    reg.shard_links(&m.shard.hash)?
                        .map(|l| {
                            // What its bytes showed, and what this version declared of it.
                            let mut s = l.sources;
                            s.extend(
                                l.declared
                                    .into_iter()
                                    .filter(|(d, _)| d == dataset)
                                    .map(|(_, source)| source),
                            );
                            s.sort();
                            s.dedup();
                            s
                        })
                        .unwrap_or_default(),
                )
                .clone(),
        };
        files.push(BomFile {
            path: String::from_utf8_lossy(&m.path).into_owned(),
            sources,
            shard: m.shard,
        });
    }
    let all_sources: BTreeMap<String, Source> = reg
        .sources()?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let grants = reg.grants()?;
    let cat = Catalogue::with_overrides(reg.licences()?);
    let mut sources = Vec::new();
    let mut unattributed = None;
    let mut licences = BTreeMap::new();
    for usage in reg.dataset_usage(dataset)? {
        let Some(id) = usage.source.clone() else {
            unattributed = Some(usage);
            continue;
        };
        let source = all_sources.get(&id).cloned().unwrap_or_else(|| Source {
            id: id.clone(),
            name: id.clone(),
            domains: Vec::new(),
        });
        let covering: Vec<Grant> = grants
            .iter()
            // The grants the content was collected under: covering the collecting org (or
            // everyone, for a version with no org) on the collection date.
            .filter(|g| {
                g.source == id && g.covers(info.org.as_deref().unwrap_or("*"), info.collected)
            })
            .cloned()
            .collect();
        for g in &covering {
            if let Some(l) = cat.get(&g.licence) {
                licences.insert(l.id.clone(), l.clone());
            }
        }
        sources.push(BomSource {
            source,
            usage,
            grants: covering,
        });
    }
    sources.sort_by(|a, b| a.source.id.cmp(&b.source.id));
    let models: Vec<TrainingRun> = reg
        .training_runs()?
        .into_iter()
        .filter(|t| t.datasets.contains(dataset))
        .collect();
    let names: BTreeSet<&str> = models.iter().map(|m| m.model.as_str()).collect();
    let applications = reg
        .applications()?
        .into_iter()
        .filter(|a| a.models.iter().any(|m| names.contains(m.as_str())))
        .collect();
    let filter = Filter {
        dataset: Some(dataset.clone()),
        ..Filter::default()
    };
    let findings = report::build(reg, &filter, Rules::default())?.findings;
    Ok(Bom {
        info,
        files,
        sources,
        unattributed,
        licences,
        models,
        applications,
        findings,
    })
}

/// The SPDX expression of the licences a source's grants name: one id, or several joined
/// by `OR` (any grant may permit a use); `None` when no grant covers the owner.
pub fn source_expression(s: &BomSource) -> Option<String> {
    let ids: BTreeSet<String> = s.grants.iter().map(|g| expression_id(&g.licence)).collect();
    match ids.len() {
        0 => None,
        1 => ids.into_iter().next(),
        _ => Some(format!(
            "({})",
            ids.into_iter().collect::<Vec<_>>().join(" OR ")
        )),
    }
}

/// What an export may declare as the licence of some content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Declared {
    /// Every part of the content was collected under a grant: each source's expression,
    /// joined by `AND` (the content is under all of them at once).
    Expression(String),
    /// Some of it was not: content of no known source, or of a source no grant covered at
    /// collection. Nothing may be declared (SPDX `NOASSERTION`); the reason says why.
    NoAssertion(String),
}

/// What may be declared for content of the sources `ids` plus `unattributed` records of no
/// known source: an expression only when every part of it was collected under a grant —
/// never a conjunction of the licensed parts that would read as if the rest were licensed.
pub fn declared<'a>(
    bom: &Bom,
    ids: impl IntoIterator<Item = &'a str>,
    unattributed: u64,
) -> Declared {
    let mut parts = BTreeSet::new();
    let mut gaps = Vec::new();
    for id in ids {
        match bom
            .sources
            .iter()
            .find(|s| s.source.id == id)
            .and_then(source_expression)
        {
            Some(e) => {
                parts.insert(e);
            }
            None => gaps.push(format!("no grant covered the collection of {id}")),
        }
    }
    if unattributed > 0 {
        gaps.push(format!("{unattributed} records of unknown provenance"));
    }
    if !gaps.is_empty() {
        return Declared::NoAssertion(gaps.join("; "));
    }
    if parts.is_empty() {
        return Declared::NoAssertion("no content attributed to any source".into());
    }
    Declared::Expression(parts.into_iter().collect::<Vec<_>>().join(" AND "))
}

/// [`declared`] for the whole dataset version.
pub fn dataset_declared(bom: &Bom) -> Declared {
    declared(
        bom,
        bom.sources.iter().map(|s| s.source.id.as_str()),
        bom.unattributed.as_ref().map_or(0, |u| u.records),
    )
}

/// [`declared`] for one shard of the version.
pub fn file_declared(bom: &Bom, f: &BomFile) -> Declared {
    declared(
        bom,
        f.sources.iter().map(String::as_str),
        f.shard.unattributed_records,
    )
}

/// What kind of data a shard holds, from its format and file name: `text` for JSON Lines,
/// `structured` for CSV, TSV and Parquet, `image`, `audio` or `video` by extension,
/// `other` otherwise. The words are SPDX's `dataset_datasetType` values.
pub fn data_kind(file: &BomFile) -> &'static str {
    let format = file.shard.format.as_str();
    let base = format.split('.').next().unwrap_or(format);
    match base {
        "jsonl" | "ndjson" => return "text",
        "csv" | "tsv" | "parquet" => return "structured",
        _ => {}
    }
    let ext = file
        .path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" | "png" | "gif" | "webp" | "bmp" | "tif" | "tiff" | "svg" => "image",
        "wav" | "mp3" | "flac" | "ogg" | "opus" | "m4a" => "audio",
        "mp4" | "mkv" | "webm" | "mov" | "avi" => "video",
        "txt" | "md" | "json" | "html" | "xml" => "text",
        _ => "other",
    }
}

/// The dataset's kinds of data, each once, in a stable order.
pub fn data_kinds(bom: &Bom) -> Vec<&'static str> {
    let kinds: BTreeSet<&'static str> = bom.files.iter().map(data_kind).collect();
    if kinds.is_empty() {
        vec!["noAssertion"]
    } else {
        kinds.into_iter().collect()
    }
}

/// One sentence on how the dataset was collected and attributed.
pub fn collection_process(bom: &Bom) -> String {
    let i = &bom.info;
    let mut s = format!(
        "Collected {} by {}; {} files, {} records, {} bytes, fingerprinted with BLAKE3 by provtrack.",
        i.collected,
        i.org.as_deref().unwrap_or("an unknown org"),
        i.files,
        i.records,
        i.bytes
    );
    for src in &bom.sources {
        s.push_str(&format!(
            " {} ({}): {} records in {} shards.",
            src.source.id, src.source.name, src.usage.records, src.usage.shards
        ));
    }
    if let Some(u) = &bom.unattributed {
        s.push_str(&format!(
            " {} records in {} shards are attributed to no source.",
            u.records, u.shards
        ));
    }
    if !i.parents.is_empty() {
        let p: Vec<String> = i.parents.iter().map(|p| p.to_string()).collect();
        s.push_str(&format!(" Derived from {}.", p.join(", ")));
    }
    s
}

/// One sentence on what the dataset was used for: the training runs and their uses.
pub fn intended_use(bom: &Bom) -> String {
    if bom.models.is_empty() {
        return "No training run on this dataset is recorded.".to_string();
    }
    let runs: Vec<String> = bom
        .models
        .iter()
        .map(|t| {
            format!(
                "{} (by {} on {}: {})",
                t.model,
                t.org,
                t.date,
                t.uses.join(", ")
            )
        })
        .collect();
    format!("Trained into {}.", runs.join("; "))
}

/// A date as an RFC 3339 timestamp at midnight UTC.
pub fn midnight(d: crate::types::Date) -> String {
    format!("{d}T00:00:00Z")
}

/// A URN-safe form of a name: characters outside `[A-Za-z0-9._~-]` become `-`; never
/// empty.
pub fn slug(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '~' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if out.is_empty() { "-".into() } else { out }
}
