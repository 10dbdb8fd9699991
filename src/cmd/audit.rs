//! `provtrack audit SOURCE`.

use super::{Context, Exit};
use crate::audit::{self, AuditOptions};
use crate::cli::AuditArgs;
use crate::error::Result;
use crate::output::Table;

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_string(), |v| v.to_string())
}

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

    let mut totals = Table::new(&["source", "datasets", "shards", "records", "bytes"]);
    totals.push(vec![
        a.source.id.clone(),
        a.totals.datasets.to_string(),
        a.totals.shards.to_string(),
        a.totals.records.to_string(),
        a.totals.bytes.to_string(),
    ]);
    let mut grants = Table::new(&[
        "grant",
        "licence",
        "grantee",
        "from",
        "until",
        "cap",
        "deny",
        "conditions",
    ]);
    for g in &a.grants {
        grants.push(vec![
            g.grant.id.clone(),
            g.grant.licence.clone(),
            g.grant.grantee.clone(),
            g.grant.from.to_string(),
            opt(&g.grant.until),
            g.grant.cap.map_or_else(
                || "-".into(),
                |c| format!("{}/{}", c.records, c.per.as_str()),
            ),
            g.deny.join(" "),
            g.conditions.join(" "),
        ]);
    }
    let mut volume = Table::new(&[
        "org", "per", "period", "records", "cap", "grant", "exceeded",
    ]);
    for v in &a.volume {
        volume.push(vec![
            v.org.clone(),
            v.per.into(),
            v.period.clone(),
            v.records.to_string(),
            opt(&v.cap),
            opt(&v.grant),
            if v.exceeded { "EXCEEDED" } else { "" }.into(),
        ]);
    }
    let mut datasets = Table::new(&["dataset", "org", "collected", "shards", "records", "bytes"]);
    for d in &a.datasets {
        datasets.push(vec![
            d.dataset.clone(),
            opt(&d.org),
            d.collected.to_string(),
            d.shards.to_string(),
            d.records.to_string(),
            d.bytes.to_string(),
        ]);
    }
    let mut models = Table::new(&["model", "org", "date", "datasets", "uses"]);
    for m in &a.models {
        models.push(vec![
            m.model.clone(),
            m.org.clone(),
            m.date.to_string(),
            m.datasets.join(" "),
            m.uses.join(" "),
        ]);
    }
    let mut apps = Table::new(&["application", "org", "models", "disclosed"]);
    for p in &a.applications {
        apps.push(vec![
            p.id.clone(),
            p.org.clone(),
            p.models.join(" "),
            if p.disclosed {
                "yes"
            } else {
                "NO (undisclosed)"
            }
            .into(),
        ]);
    }
    let mut shared = Table::new(&[
        "disclosure",
        "dataset",
        "recipient",
        "kind",
        "date",
        "verdict",
    ])
    .verdicts_in(5);
    for d in &a.disclosures {
        shared.push(vec![
            d.id.clone(),
            opt(&d.dataset),
            d.recipient.clone(),
            d.kind.clone(),
            d.date.to_string(),
            d.verdict.code().into(),
        ]);
    }
    let findings = super::report::findings_table(&crate::report::Report {
        findings: a.findings.clone(),
        ..Default::default()
    });
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
    ctx.emit_sections(
        &a,
        &[
            ("totals", totals),
            ("grants", grants),
            ("volume", volume),
            ("datasets", datasets),
            ("models", models),
            ("applications", apps),
            ("disclosures", shared),
            ("findings", findings),
        ],
    )?;
    Ok(Exit::Success)
}
