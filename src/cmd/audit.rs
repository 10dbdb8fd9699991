//! `provtrack audit SOURCE`.

use super::{Context, Exit};
use crate::audit::{self, AuditOptions};
use crate::cli::AuditArgs;
use crate::error::Result;
use crate::output::rows;

/// Prints the audit of one source.
pub fn run(ctx: &Context, args: AuditArgs) -> Result<Exit> {
    let opts = AuditOptions {
        source: args.source,
        org: args.org,
        from: args.from,
        to: args.to,
    };
    let reg = ctx.open()?;
    let a = audit::build(reg.as_ref(), &opts)?;

    ctx.ui.info(format_args!(
        "{}: {} records in {} shards of {} datasets; {} models, {} applications ({} undisclosed), {} disclosures, {} findings",
        a.source.id,
        a.totals.records,
        a.totals.shards,
        a.totals.datasets,
        a.models.len(),
        a.applications.len(),
        a.applications.iter().filter(|p| !p.disclosed).count(),
        a.disclosures.len(),
        a.findings.len()
    ));
    ctx.emit_sections(&a, &rows::audit_sections(&a))?;
    Ok(Exit::Success)
}
