//! `provtrack dataset list`, `dataset show D@V`, `dataset seal D@V` and `dataset retract
//! D@V --reason TEXT`.

use serde::Serialize;

use super::{Context, Exit};
use crate::error::{Error, Result};
use crate::output::{Table, rows};
use crate::registry::{DatasetInfo, EventDraft, SourceUsage};
use crate::report::{self, Filter, Finding};
use crate::scan::show_path;
use crate::types::DatasetRef;
use crate::verdict::Rules;

/// The columns of a dataset version.
fn dataset_table() -> Table {
    Table::new(&[
        "dataset",
        "org",
        "collected",
        "files",
        "bytes",
        "records",
        "root",
        "retracted",
    ])
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
        retracted_cell(d),
    ]
}

/// `-`, or when and why the version was retracted.
fn retracted_cell(d: &DatasetInfo) -> String {
    match &d.retracted {
        Some(r) => format!("{} ({})", r.time, r.reason),
        None => "-".into(),
    }
}

/// Withdraws a version registered by mistake.
pub fn retract(ctx: &Context, r: &DatasetRef, reason: &str) -> Result<Exit> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::input("--reason", "say why the version is retracted"));
    }
    let mut reg = ctx.open()?;
    let event = EventDraft {
        actor: ctx.actor.clone(),
        kind: "retract".into(),
        payload: serde_json::json!({ "dataset": r.to_string(), "reason": reason }),
    };
    reg.retract_dataset(r, reason, &event)?;
    let info = reg
        .dataset(r)?
        .ok_or_else(|| Error::input(r.to_string(), "dataset is not registered"))?;
    ctx.ui.info(format_args!(
        "retracted {r}: it stays in the history and leaves every count and verdict"
    ));
    let mut t = dataset_table();
    t.push(dataset_row(&info));
    ctx.emit(&info, &t)?;
    Ok(Exit::Success)
}

/// Lists dataset versions.
pub fn list(ctx: &Context) -> Result<Exit> {
    let reg = ctx.open()?;
    let all = reg.datasets()?;
    let mut t = dataset_table();
    for d in &all {
        t.push(dataset_row(d));
    }
    ctx.emit(&all, &t)?;
    Ok(Exit::Success)
}

/// Publishes a version scanned in parts.
pub fn seal(ctx: &Context, r: &DatasetRef) -> Result<Exit> {
    let mut reg = ctx.open()?;
    let parts = reg.staged_parts(r)?.len();
    let info = crate::scan::seal(reg.as_mut(), r, &ctx.actor)?;
    ctx.ui.info(format_args!(
        "sealed {}: {parts} parts, {} files, root {}",
        info.dataset,
        info.files,
        info.root.to_hex()
    ));
    let mut t = dataset_table();
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
pub fn show(ctx: &Context, r: &DatasetRef) -> Result<Exit> {
    let reg = ctx.open()?;
    let info = reg
        .dataset(r)?
        .ok_or_else(|| Error::input(r.to_string(), "dataset is not registered"))?;
    let sources = reg.dataset_usage(r)?;
    let filter = Filter {
        dataset: Some(r.clone()),
        ..Filter::default()
    };
    // A retracted version has no findings: it left every verdict.
    let findings = match info.retracted {
        Some(_) => Vec::new(),
        None => report::build(reg.as_ref(), &filter, Rules::default())?.findings,
    };
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
    // Everything on stdout, section by section: the version, its content per source
    // (each distinct shard once, as every count of a version is), its shards, its findings.
    let mut version = Table::new(&[
        "dataset",
        "org",
        "collected",
        "root",
        "files",
        "bytes",
        "records",
        "parents",
        "retracted",
    ]);
    version.push(vec![
        info.dataset.to_string(),
        info.org.clone().unwrap_or_else(|| "-".into()),
        info.collected.to_string(),
        info.root.to_hex().to_string(),
        info.files.to_string(),
        info.bytes.to_string(),
        info.records.to_string(),
        if info.parents.is_empty() {
            "-".into()
        } else {
            info.parents
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        },
        retracted_cell(&info),
    ]);
    let mut content = Table::new(&["source", "shards", "records", "bytes"]);
    for u in &sources {
        content.push(vec![
            u.source.clone().unwrap_or_else(|| "(unattributed)".into()),
            u.shards.to_string(),
            u.records.to_string(),
            u.bytes.to_string(),
        ]);
    }
    let findings_table = rows::findings_table(&findings);
    ctx.emit_sections(
        &DatasetShow {
            info,
            sources,
            shards,
            findings,
        },
        &[
            ("dataset", version),
            ("sources", content),
            ("shards", t),
            ("findings", findings_table),
        ],
    )?;
    Ok(Exit::Success)
}
