//! `source list`, `licence list`, `dataset list` and `dataset show`.

use serde::Serialize;

use super::{Context, Exit};
use crate::error::{Error, Result};
use crate::licence::{CATALOGUE_NOTE, Catalogue};
use crate::output::Table;
use crate::registry::{DatasetInfo, SourceUsage};
use crate::report::{self, Filter, Finding};
use crate::scan::show_path;
use crate::types::DatasetRef;
use crate::verdict::Rules;

/// Lists sources.
pub fn sources(ctx: &Context) -> Result<Exit> {
    let reg = ctx.open()?;
    let sources = reg.sources()?;
    let mut t = Table::new(&["id", "name", "domains"]);
    for s in &sources {
        t.push(vec![s.id.clone(), s.name.clone(), s.domains.join(" ")]);
    }
    ctx.emit(&sources, &t)?;
    Ok(Exit::Success)
}

/// Lists the licences in force (built-ins overridden by policy files).
pub fn licences(ctx: &Context) -> Result<Exit> {
    let reg = ctx.open()?;
    let cat = Catalogue::with_overrides(reg.licences()?);
    let all: Vec<_> = cat.all().collect();
    let mut t = Table::new(&["id", "origin", "allow", "deny", "conditions"]);
    for l in &all {
        t.push(vec![
            l.id.clone(),
            if l.builtin { "built-in" } else { "policy" }.into(),
            l.allow.join(" "),
            l.deny.join(" "),
            l.conditions.join(" "),
        ]);
    }
    ctx.ui.info(CATALOGUE_NOTE);
    ctx.emit(&all, &t)?;
    Ok(Exit::Success)
}

fn dataset_row(d: &DatasetInfo) -> Vec<String> {
    vec![
        d.dataset.to_string(),
        d.org.clone().unwrap_or_else(|| "-".into()),
        d.collected.to_string(),
        d.files.to_string(),
        d.bytes.to_string(),
        d.records.to_string(),
        d.root.to_hex()[..16].to_string(),
    ]
}

/// Lists dataset versions.
pub fn datasets(ctx: &Context) -> Result<Exit> {
    let reg = ctx.open()?;
    let all = reg.datasets()?;
    let mut t = Table::new(&[
        "dataset",
        "org",
        "collected",
        "files",
        "bytes",
        "records",
        "root",
    ]);
    for d in &all {
        t.push(dataset_row(d));
    }
    ctx.emit(&all, &t)?;
    Ok(Exit::Success)
}

/// Copies a whole registry into a new one.
pub fn copy_registry(ctx: &Context, from: &str, to: &str) -> Result<Exit> {
    if from == to {
        return Err(crate::error::Error::input(
            "registry copy",
            "FROM and TO are the same registry",
        ));
    }
    let source = crate::registry::open(from)?;
    let mut target = crate::registry::open(to)?;
    let copied = crate::registry::copy(&*source, target.as_mut())?;
    ctx.ui.info(format_args!(
        "copied {} events and {} rows; chain head {}",
        copied.events,
        copied.rows.iter().map(|(_, n)| n).sum::<u64>(),
        copied.chain_head.as_deref().unwrap_or("(empty chain)")
    ));
    let mut t = Table::new(&["table", "rows"]);
    for (table, n) in &copied.rows {
        t.push(vec![table.clone(), n.to_string()]);
    }
    ctx.emit(&copied, &t)?;
    Ok(Exit::Success)
}

/// Publishes a version scanned in parts.
pub fn seal_dataset(ctx: &Context, r: &DatasetRef) -> Result<Exit> {
    let mut reg = ctx.open()?;
    let parts = reg.staged_parts(r)?.len();
    let info = crate::scan::seal(reg.as_mut(), r, &ctx.actor)?;
    ctx.ui.info(format_args!(
        "sealed {}: {parts} parts, {} files, root {}",
        info.dataset,
        info.files,
        info.root.to_hex()
    ));
    let mut t = Table::new(&[
        "dataset",
        "org",
        "collected",
        "files",
        "bytes",
        "records",
        "root",
    ]);
    t.push(dataset_row(&info));
    ctx.emit(&info, &t)?;
    Ok(Exit::Success)
}

#[derive(Serialize)]
struct ShardRow {
    path: String,
    hash: String,
    size: u64,
    format: String,
    records: u64,
    unattributed_records: u64,
    malformed: u64,
}

#[derive(Serialize)]
struct DatasetShow {
    #[serde(flatten)]
    info: DatasetInfo,
    sources: Vec<SourceUsage>,
    shards: Vec<ShardRow>,
    findings: Vec<Finding>,
}

/// Shows one dataset version.
pub fn show_dataset(ctx: &Context, r: &DatasetRef) -> Result<Exit> {
    let reg = ctx.open()?;
    let info = reg
        .dataset(r)?
        .ok_or_else(|| Error::input(r.to_string(), "dataset is not registered"))?;
    let sources = reg.dataset_usage(r)?;
    let filter = Filter {
        dataset: Some(r.clone()),
        ..Filter::default()
    };
    let findings = report::build(reg.as_ref(), &filter, Rules::default())?.findings;
    let shards: Vec<ShardRow> = reg
        .dataset_members(r)?
        .into_iter()
        .map(|m| ShardRow {
            path: show_path(&m.path),
            hash: m.shard.hash.to_hex().to_string(),
            size: m.shard.size,
            format: m.shard.format,
            records: m.shard.records,
            unattributed_records: m.shard.unattributed_records,
            malformed: m.shard.malformed,
        })
        .collect();
    let mut t = Table::new(&["path", "hash", "size", "format", "records", "unattributed"]);
    for s in &shards {
        t.push(vec![
            s.path.clone(),
            s.hash[..16].to_string(),
            s.size.to_string(),
            s.format.clone(),
            s.records.to_string(),
            s.unattributed_records.to_string(),
        ]);
    }
    ctx.ui.info(format_args!(
        "{} org {} collected {} root {} parents [{}]",
        info.dataset,
        info.org.as_deref().unwrap_or("-"),
        info.collected,
        info.root.to_hex(),
        info.parents
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for u in &sources {
        ctx.ui.info(format_args!(
            "  {}: {} records in {} shards",
            u.source.as_deref().unwrap_or("(unattributed)"),
            u.records,
            u.shards
        ));
    }
    for f in &findings {
        ctx.ui.info(format_args!(
            "  finding: {} {} {} ({})",
            f.verdict,
            f.use_,
            f.source.as_deref().unwrap_or("-"),
            f.model.as_deref().unwrap_or("disclosure")
        ));
    }
    ctx.emit(
        &DatasetShow {
            info,
            sources,
            shards,
            findings,
        },
        &t,
    )?;
    Ok(Exit::Success)
}
