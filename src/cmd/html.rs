//! `provtrack html-report --out FILE`.

use std::path::Path;

use super::{Context, Exit};
use crate::error::Result;
use crate::export::html;
use crate::types::utc_now_rfc3339;

/// Writes the self-contained HTML report.
pub fn run(ctx: &Context, out: &Path) -> Result<Exit> {
    let reg = ctx.open()?;
    let page = html::build(reg.as_ref(), &utc_now_rfc3339())?;
    super::export::write_atomically(out, page.html.as_bytes())?;
    ctx.ui.info(format_args!(
        "HTML report written to {}: {} findings, {} charts",
        out.display(),
        page.findings,
        page.charts
    ));
    Ok(Exit::Success)
}
