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
    let mut t = Table::new(&["check", "subject", "detail"]);
    for m in &v.mismatches {
        t.push(vec![m.check.into(), m.subject.clone(), m.detail.clone()]);
    }
    ctx.ui.info(format_args!(
        "{}: {} events, {} datasets{}; chain head {}",
        if v.ok { "intact" } else { "MISMATCH" },
        v.events,
        v.datasets,
        if path.is_some() {
            format!(", {} files re-hashed", v.files)
        } else {
            String::new()
        },
        v.chain_head
    ));
    ctx.emit(&v, &t)?;
    Ok(if v.ok { Exit::Success } else { Exit::Blocked })
}
