//! The pre-training gate: would a planned training run on a registered dataset be allowed?
//! Evaluated exactly as `report` evaluates a recorded run; the verdict is recorded as one
//! `gate` event, and nothing else is written.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::licence::AI_TRAINING;
use crate::registry::{EventDraft, Registry, TrainingRun};
use crate::report::{self, Filter, Finding};
use crate::types::{DatasetRef, Date};
use crate::verdict::{Rules, Verdict};

/// What to check.
#[derive(Clone, Debug)]
pub struct GateOptions {
    /// The registered dataset the run would train on.
    pub dataset: DatasetRef,
    /// The uses planned (`ai-training` is always one).
    pub uses: Vec<String>,
    /// The training org.
    pub org: String,
    /// The planned date.
    pub date: Date,
    /// Let content of unknown provenance through.
    pub allow_unknown: bool,
    /// Who asks, for the event.
    pub actor: String,
}

/// The gate's answer. `pass` and `findings` are the spec's keys.
#[derive(Clone, Debug, Serialize)]
pub struct GateResult {
    /// True when nothing blocks.
    pub pass: bool,
    /// Every finding, blocking or not (unknown provenance with `--allow-unknown`).
    pub findings: Vec<Finding>,
    /// The dataset checked.
    pub dataset: String,
    /// Its root hash.
    pub root: String,
    /// The uses checked.
    pub uses: Vec<String>,
    /// Per source of the dataset (and `unknown` for unattributed content): the blocking
    /// verdicts, empty when it passes. One JUnit test case each.
    pub sources: Vec<(String, Vec<Verdict>)>,
}

/// Whether a finding blocks under these options.
pub fn blocks(f: &Finding, allow_unknown: bool) -> bool {
    !(allow_unknown && f.verdict == Verdict::UnknownProvenance)
}

/// Runs the gate against the registry and records its verdict as a `gate` event.
pub fn gate_dataset(reg: &mut dyn Registry, opts: &GateOptions) -> Result<GateResult> {
    let info = reg.dataset(&opts.dataset)?.ok_or_else(|| {
        Error::input(
            opts.dataset.to_string(),
            "dataset is not registered (scan it first)",
        )
    })?;
    let mut uses = vec![AI_TRAINING.to_string()];
    for u in &opts.uses {
        if !uses.contains(u) {
            uses.push(u.clone());
        }
    }
    let run = TrainingRun {
        model: "(planned run)".into(),
        org: opts.org.clone(),
        date: opts.date,
        datasets: vec![opts.dataset.clone()],
        uses: uses.clone(),
    };
    let mut findings = report::build_for(
        &*reg,
        vec![run],
        false,
        &Filter::default(),
        Rules::default(),
    )?
    .findings;
    for f in &mut findings {
        f.model = None;
    }
    let mut sources: Vec<(String, Vec<Verdict>)> = reg
        .dataset_usage(&opts.dataset)?
        .into_iter()
        .map(|u| (u.source.unwrap_or_else(|| "unknown".into()), Vec::new()))
        .collect();
    for f in findings.iter().filter(|f| blocks(f, opts.allow_unknown)) {
        let name = f.source.clone().unwrap_or_else(|| "unknown".into());
        if let Some((_, v)) = sources.iter_mut().find(|(s, _)| *s == name)
            && !v.contains(&f.verdict)
        {
            v.push(f.verdict);
        }
    }
    let pass = !findings.iter().any(|f| blocks(f, opts.allow_unknown));
    let event = EventDraft {
        actor: opts.actor.clone(),
        kind: "gate".into(),
        payload: serde_json::json!({
            "dataset": opts.dataset.to_string(),
            "root": info.root.to_hex().as_str(),
            "org": opts.org,
            "date": opts.date.to_string(),
            "uses": uses,
            "pass": pass,
            "blocking": findings.iter().filter(|f| blocks(f, opts.allow_unknown)).count(),
        }),
    };
    reg.record_event(&event)?;
    Ok(GateResult {
        pass,
        findings,
        dataset: opts.dataset.to_string(),
        root: info.root.to_hex().to_string(),
        uses,
        sources,
    })
}

/// What to do about a blocking verdict, in a few words.
pub fn remedy(v: Verdict) -> &'static str {
    match v {
        Verdict::NoLicence => "obtain a grant for this org, or remove the source's content",
        Verdict::UseDenied => "remove the source's content, or renegotiate the licence",
        Verdict::Expired => "renew the grant, or remove the source's content",
        Verdict::NotYetValid => "wait for the grant to start, or move the training date",
        Verdict::Unspecified => "get the use allowed in writing (or --unspecified allow in report)",
        Verdict::VolumeExceeded => "drop the records collected above the cap",
        Verdict::UnknownProvenance => {
            "attribute it (scan --source / --derived-from) or --allow-unknown"
        }
        Verdict::UnauthorisedSharing => "stop the sharing, or obtain the sharing use",
        Verdict::Permitted => "",
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// JUnit XML: one test case per source of the dataset, failing with its blocking findings.
pub fn junit(r: &GateResult, allow_unknown: bool) -> String {
    let failures = r.sources.iter().filter(|(_, v)| !v.is_empty()).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"provtrack gate\" tests=\"{}\" failures=\"{failures}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\">\n",
        r.sources.len(),
        xml(&r.dataset),
        r.sources.len()
    ));
    for (source, verdicts) in &r.sources {
        out.push_str(&format!(
            "    <testcase classname=\"provtrack.gate.{}\" name=\"{}\"",
            xml(&r.dataset),
            xml(source)
        ));
        if verdicts.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        let codes: Vec<&str> = verdicts.iter().map(|v| v.code()).collect();
        let details: Vec<String> = r
            .findings
            .iter()
            .filter(|f| {
                f.source.as_deref().unwrap_or("unknown") == source && blocks(f, allow_unknown)
            })
            .map(|f| {
                format!(
                    "{} {}: {} ({} records)",
                    f.verdict, f.use_, f.detail, f.records
                )
            })
            .collect();
        out.push_str(&format!(
            "      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
            xml(&format!("{source}: {}", codes.join(", "))),
            xml(codes[0]),
            xml(&details.join("\n"))
        ));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
