//! `provtrack demo`: the sample story in a temporary registry.

use super::{Context, Exit};
use crate::demo;
use crate::error::{Error, Result};
use crate::registry::SqliteRegistry;

/// Replays the bundled samples in a throw-away directory and prints the findings.
pub fn run(ctx: &Context) -> Result<Exit> {
    let tmp = tempfile::Builder::new()
        .prefix("provtrack-demo-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let samples = tmp.path().join("samples");
    demo::materialise(&samples)?;
    let db = tmp.path().join("demo.db");
    let mut reg = SqliteRegistry::open(&db)?;
    ctx.ui
        .info(format_args!("demo registry in {}", db.display()));
    let report = demo::replay(&mut reg, &samples, ctx.ui, &ctx.actor)?;
    ctx.ui.info(format_args!(
        "{} findings across {} datasets and {} models",
        report.summary.findings, report.summary.datasets, report.summary.models
    ));
    super::report::emit_report(ctx, &report)?;
    Ok(Exit::Success)
}
