//! Training findings: for every recorded (or planned) run, each source's content in each
//! dataset it trained on judged for each of the run's uses, content of no source flagged,
//! and caps of the collection the run trained on; permitted uses leave their obligations.

use crate::error::Result;
use crate::licence;
use crate::registry::TrainingRun;
use crate::verdict::Verdict;

use super::facts::Facts;
use super::{Filter, Finding, Holder, Obligation, cap_finding, explain, thousands};

/// Judges `runs` (skipping what `filter` excludes before any evaluation, so that a narrow
/// report costs what it shows), adding to `findings` and `obligations`.
pub(super) fn judge(
    facts: &mut Facts<'_>,
    runs: Vec<TrainingRun>,
    filter: &Filter,
    findings: &mut Vec<Finding>,
    obligations: &mut Vec<Obligation>,
) -> Result<()> {
    for run in runs {
        if filter.model.as_ref().is_some_and(|m| *m != run.model)
            || filter.use_.as_ref().is_some_and(|u| !run.uses.contains(u))
        {
            continue;
        }
        for ds in &run.datasets {
            if !filter.wants_dataset(ds) {
                continue;
            }
            let dataset = Some(Holder::from(ds));
            let Some((info, usage)) = facts.dataset(ds)?.cloned() else {
                findings.push(Finding::unknown(
                    licence::AI_TRAINING,
                    dataset,
                    Some(run.model.clone()),
                    None,
                    format!("dataset {ds} is not registered; scan it before training on it"),
                ));
                continue;
            };
            if let Some(r) = &info.retracted {
                findings.push(Finding::unknown(
                    licence::AI_TRAINING,
                    dataset,
                    Some(run.model.clone()),
                    None,
                    format!(
                        "dataset {ds} was retracted ({}, {}) but {} trained on it; register what the model trained on",
                        r.reason, r.time, run.model
                    ),
                ));
                continue;
            }
            for u in &usage {
                if filter.source.is_some() && u.source != filter.source {
                    continue;
                }
                let Some(source) = &u.source else {
                    findings.push(Finding::unknown(
                        licence::AI_TRAINING,
                        dataset.clone(),
                        Some(run.model.clone()),
                        Some(u),
                        format!(
                            "{} records in {} shard(s) are attributed to no source",
                            thousands(u.records),
                            u.shards
                        ),
                    ));
                    continue;
                };
                for use_ in &run.uses {
                    let o = facts.evaluate(source, &run.org, run.date, use_);
                    if o.verdict == Verdict::Permitted {
                        let conditions = o
                            .grant
                            .and_then(|g| facts.cat.get(&g.licence))
                            .map(|l| l.conditions.clone())
                            .unwrap_or_default();
                        if let (Some(g), false) = (o.grant, conditions.is_empty()) {
                            obligations.push(Obligation {
                                model: run.model.clone(),
                                dataset: ds.to_string(),
                                source: source.clone(),
                                use_: use_.clone(),
                                grant: g.id.clone(),
                                licence: g.licence.clone(),
                                conditions,
                            });
                        }
                        continue;
                    }
                    findings.push(Finding {
                        verdict: o.verdict,
                        use_: use_.clone(),
                        source: Some(source.clone()),
                        dataset: dataset.clone(),
                        model: Some(run.model.clone()),
                        grant: o.grant.map(|g| g.id.clone()),
                        licence: facts.licence_of(&o),
                        shards: u.shards,
                        records: u.records,
                        bytes: u.bytes,
                        detail: explain(&o, source, &run.org, run.date, use_),
                        disclosure: None,
                    });
                }
                // Caps bind the collecting org, in the period the dataset was collected.
                let Some(org) = &info.org else { continue };
                for f in cap_finding(facts, source, org, &info, u, licence::AI_TRAINING)? {
                    findings.push(Finding {
                        model: Some(run.model.clone()),
                        ..f
                    });
                }
            }
        }
    }
    Ok(())
}
