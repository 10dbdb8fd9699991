//! `provtrack verify`.

use std::path::Path;

use super::{Context, Exit};
use crate::error::Result;
use crate::output::Table;
use crate::types::DatasetRef;
use crate::verify;

/// Verifies the registry; exit 1 on any mismatch.
pub fn run(ctx: &Context, dataset: Option<&DatasetRef>, path: Option<&Path>) -> Result<Exit> {
    let reg = ctx.open()?;
    let v = verify::verify(reg.as_ref(), dataset, path)?;
    // The verdict and the chain head are results an auditor records: on stdout, first.
    let mut summary = Table::new(&["result", "events", "datasets", "files", "chain head"]);
    summary.push(vec![
        if v.ok { "intact" } else { "MISMATCH" }.into(),
        v.events.to_string(),
        v.datasets.to_string(),
        if path.is_some() {
            v.files.to_string()
        } else {
            "-".into()
        },
        v.chain_head.clone(),
    ]);
    let mut t = Table::new(&["check", "subject", "detail"]);
    for m in &v.mismatches {
        t.push(vec![m.check.into(), m.subject.clone(), m.detail.clone()]);
    }
    let mut sections = vec![("verify", summary)];
    if !v.mismatches.is_empty() {
        sections.push(("mismatches", t));
    }
    ctx.emit_sections(&v, &sections)?;
    Ok(if v.ok { Exit::Success } else { Exit::Blocked })
}
