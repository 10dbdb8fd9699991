//! The rows of the results that several commands print or that take more than a few lines
//! to lay out: a report's findings and obligations, the gate's blocking findings, an
//! audit's sections. Values in, tables
//! out; the printers in this module's siblings do the rest.

use super::Table;
use crate::audit::Audit;
use crate::gate::{self, GateResult};
use crate::report::{Finding, Report};

/// `-` for none, as every table shows it.
fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// The findings of a report, an audit or `demo`, one row each, verdicts coloured.
pub fn findings_table(findings: &[Finding]) -> Table {
    let mut t = Table::new(&[
        "verdict", "use", "source", "dataset", "model", "licence", "shards", "records", "detail",
    ])
    .verdicts_in(0);
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    for f in findings {
        t.push(vec![
            f.verdict.code().into(),
            f.use_.clone(),
            dash(&f.source),
            f.dataset
                .as_ref()
                .map_or_else(|| "-".into(), |d| d.to_string()),
            dash(&f.model),
            dash(&f.licence),
            f.shards.to_string(),
            f.records.to_string(),
            f.detail.clone(),
        ]);
    }
    t
}

/// The obligations of a report: conditions attached to each permitted use.
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

/// The gate's blocking findings, each with what would let it pass.
pub fn gate_table(blocking: &[&Finding]) -> Table {
    let mut t = Table::new(&[
        "verdict", "use", "source", "licence", "records", "detail", "to pass",
    ])
    .verdicts_in(0);
    for f in blocking {
        t.push(vec![
            f.verdict.code().into(),
            f.use_.clone(),
            opt(&f.source),
            opt(&f.licence),
            f.records.to_string(),
            f.detail.clone(),
            gate::remedy(f.verdict).into(),
        ]);
    }
    t
}

/// A passing gate's one-line answer: what was checked and that nothing blocks.
pub fn gate_pass_table(r: &GateResult) -> Table {
    let mut t = Table::new(&["verdict", "dataset", "uses", "findings"]);
    t.push(vec![
        "PASS".into(),
        r.dataset.clone(),
        r.uses.join(" "),
        format!("{} (none blocking)", r.findings.len()),
    ]);
    t
}

/// What a passing gate's training owes the licences of its permitted uses.
pub fn gate_obligations_table(r: &GateResult) -> Table {
    let mut t = Table::new(&["dataset", "source", "use", "licence", "conditions"]);
    for o in &r.obligations {
        t.push(vec![
            o.dataset.clone(),
            o.source.clone(),
            o.use_.clone(),
            o.licence.clone(),
            o.conditions.join(" "),
        ]);
    }
    t
}

/// The audit of one source, section by section.
pub fn audit_sections(a: &Audit) -> Vec<(&'static str, Table)> {
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
        "org", "per", "period", "records", "covered", "cap", "grant", "exceeded",
    ]);
    for v in &a.volume {
        // Whether the period's collections were made under a grant at all.
        let covered = match v.outside_grant {
            0 => "yes".to_string(),
            n if n == v.records => "outside any grant".to_string(),
            n => format!("{n} outside any grant"),
        };
        volume.push(vec![
            v.org.clone(),
            v.per.into(),
            v.period.clone(),
            v.records.to_string(),
            covered,
            opt(&v.cap),
            opt(&v.grant),
            if v.exceeded {
                format!("EXCEEDED by {}", v.over)
            } else {
                String::new()
            },
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
    let mut retracted = Table::new(&[
        "dataset",
        "org",
        "collected",
        "records",
        "retracted",
        "reason",
    ]);
    for d in &a.retracted {
        retracted.push(vec![
            d.dataset.clone(),
            opt(&d.org),
            d.collected.to_string(),
            d.records.to_string(),
            d.time.clone(),
            d.reason.clone(),
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
    let mut apps = Table::new(&["application", "org", "models", "uses", "disclosed"]);
    for p in &a.applications {
        apps.push(vec![
            p.id.clone(),
            p.org.clone(),
            p.models.join(" "),
            if p.uses.is_empty() {
                "-".into()
            } else {
                p.uses.join(" ")
            },
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
    let findings = findings_table(&a.findings);
    let mut hosts = Table::new(&[
        "host",
        "records",
        "bytes",
        "datasets",
        "reserved",
        "reservation",
    ]);
    for h in &a.hosts {
        hosts.push(vec![
            h.host.clone(),
            h.records.to_string(),
            h.bytes.to_string(),
            h.datasets.join(" "),
            h.reserved.to_string(),
            if h.reservation.is_empty() {
                "-".into()
            } else {
                h.reservation.clone()
            },
        ]);
    }
    vec![
        ("totals", totals),
        ("grants", grants),
        ("volume", volume),
        ("datasets", datasets),
        ("retracted", retracted),
        ("models", models),
        ("applications", apps),
        ("disclosures", shared),
        ("hosts", hosts),
        ("findings", findings),
    ]
}
