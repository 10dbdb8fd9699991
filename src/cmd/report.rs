//! `provtrack report`.

use super::{Context, Exit};
use crate::cli::{ReportArgs, Unspecified};
use crate::error::{Error, Result};
use crate::output::{OutputFormat, Table};
use crate::report::{self, Filter, Report};
use crate::verdict::{Rules, Verdict};

/// The findings table shared by `report` and `demo`.
pub fn findings_table(r: &Report) -> Table {
    let mut t = Table::new(&[
        "verdict", "use", "source", "dataset", "model", "licence", "shards", "records", "detail",
    ])
    .verdicts_in(0);
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    for f in &r.findings {
        t.push(vec![
            f.verdict.code().into(),
            f.use_.clone(),
            dash(&f.source),
            dash(&f.dataset),
            dash(&f.model),
            dash(&f.licence),
            f.shards.to_string(),
            f.records.to_string(),
            f.detail.clone(),
        ]);
    }
    t
}

/// The obligations table shared by `report` and `demo`.
pub fn obligations_table(r: &Report) -> Table {
    let mut t = Table::new(&["model", "dataset", "source", "use", "licence", "conditions"]);
    for o in &r.obligations {
        t.push(vec![
            o.model.clone(),
            o.dataset.clone(),
            o.source.clone(),
            o.use_.clone(),
            o.licence.clone(),
            o.conditions.join(" "),
        ]);
    }
    t
}

/// Prints a report: the findings, then (in table and Markdown output) the obligations.
pub fn emit_report(ctx: &Context, r: &Report) -> Result<()> {
    let with_obligations =
        !r.obligations.is_empty() && matches!(ctx.format, OutputFormat::Table | OutputFormat::Md);
    if with_obligations {
        ctx.emit_sections(
            r,
            &[
                ("findings", findings_table(r)),
                ("obligations", obligations_table(r)),
            ],
        )
    } else {
        ctx.emit(r, &findings_table(r))
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
