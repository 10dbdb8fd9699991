//! `provtrack report`.

use super::{Context, Exit};
use crate::cli::{ReportArgs, Unspecified};
use crate::error::{Error, Result};
use crate::output::{OutputFormat, rows};
use crate::report::{self, Filter, Report};
use crate::verdict::{Rules, Verdict};

/// Prints a report: the findings, then (in table and Markdown output) the obligations.
pub fn emit_report(ctx: &Context, r: &Report) -> Result<()> {
    let with_obligations =
        !r.obligations.is_empty() && matches!(ctx.format, OutputFormat::Table | OutputFormat::Md);
    if with_obligations {
        ctx.emit_sections(
            r,
            &[
                ("findings", rows::findings_table(&r.findings)),
                ("obligations", rows::obligations_table(r)),
            ],
        )
    } else {
        ctx.emit(r, &rows::findings_table(&r.findings))
    }
}

/// Prints the findings.
pub fn run(ctx: &Context, args: ReportArgs) -> Result<Exit> {
    let verdict = match &args.verdict {
        Some(v) => Some(Verdict::from_code(v).ok_or_else(|| {
            let codes: Vec<&str> = Verdict::ALL.iter().map(|v| v.code()).collect();
            Error::input(
                "--verdict",
                format!("unknown verdict '{v}' (one of {})", codes.join(", ")),
            )
        })?),
        None => None,
    };
    let filter = Filter {
        model: args.model,
        dataset: args.dataset,
        use_: args.use_,
        source: args.source,
        verdict,
        datasets: None,
    };
    let rules = Rules {
        unspecified_allows: args.unspecified == Unspecified::Allow,
    };
    let reg = ctx.open()?;
    let r = report::build(reg.as_ref(), &filter, rules)?;
    ctx.ui.info(format_args!(
        "{} findings across {} datasets and {} models",
        r.summary.findings, r.summary.datasets, r.summary.models
    ));
    emit_report(ctx, &r)?;
    Ok(Exit::Success)
}
