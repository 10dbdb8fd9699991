//! Sharing findings (semantics step 6): every disclosure judged for the sharing use its
//! recipient's kind needs, over the content it shared — what was collected on or before its
//! date, by the disclosed version or by the disclosing org.

use crate::error::Result;
use crate::licence;
use crate::registry::{Disclosure, SourceUsage, Subject};
use crate::verdict::{self, Verdict};

use super::facts::Facts;
use super::{Filter, Finding, Holder, explain, thousands};

/// Judges `disclosures`, adding to `findings`.
pub(super) fn judge(
    facts: &mut Facts<'_>,
    disclosures: Vec<Disclosure>,
    filter: &Filter,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    for d in disclosures {
        if let Subject::Dataset(r) = &d.subject
            && !filter.wants_dataset(r)
        {
            continue;
        }
        let needed = licence::sharing_use(&d.kind);
        let (dataset, usage, org) = match &d.subject {
            // A version collected after the disclosure's date was not part of it.
            Subject::Dataset(r) => match facts.dataset(r)?.cloned() {
                Some((info, _)) if info.retracted.is_some() => {
                    let why = info.retracted.as_ref().map_or("", |x| x.reason.as_str());
                    findings.push(Finding::unknown(
                            needed,
                            Some(Holder::from(r)),
                            None,
                            None,
                            format!(
                                "dataset {r} shared with {} recipient {} on {} was retracted ({why}); register what was shared",
                                d.kind, d.recipient, d.date
                            ),
                        ).about(&d.id));
                    continue;
                }
                Some((info, _)) if !verdict::in_disclosure(info.collected, d.date) => continue,
                Some((info, usage)) => (Some(Holder::from(r)), usage, d.org.clone().or(info.org)),
                None => {
                    findings.push(
                        Finding::unknown(
                            needed,
                            Some(Holder::from(r)),
                            None,
                            None,
                            format!(
                                "dataset {r} shared with {} recipient {} on {} is not registered",
                                d.kind, d.recipient, d.date
                            ),
                        )
                        .about(&d.id),
                    );
                    continue;
                }
            },
            Subject::Source(s) => {
                // One row per distinct shard the org collected, at its first collection:
                // those collected on or before the disclosure's date were shared.
                let rows = match &d.org {
                    Some(org) => facts.volume(s, org)?,
                    None => &[],
                };
                let (shards, records) = verdict::disclosed(rows, d.date);
                let usage = vec![SourceUsage {
                    source: Some(s.clone()),
                    shards,
                    records,
                    bytes: 0,
                }];
                (None, usage, d.org.clone())
            }
        };
        let org = org.unwrap_or_default();
        for u in &usage {
            let Some(source) = &u.source else {
                findings.push(
                    Finding::unknown(
                        needed,
                        dataset.clone(),
                        None,
                        Some(u),
                        format!(
                            "{} records of no known source shared with {} recipient {} on {}",
                            thousands(u.records),
                            d.kind,
                            d.recipient,
                            d.date
                        ),
                    )
                    .about(&d.id),
                );
                continue;
            };
            let o = facts.evaluate(source, &org, d.date, needed);
            if o.verdict == Verdict::Permitted {
                continue;
            }
            findings.push(Finding {
                verdict: Verdict::UnauthorisedSharing,
                use_: needed.into(),
                source: Some(source.clone()),
                dataset: dataset.clone(),
                model: None,
                grant: o.grant.map(|g| g.id.clone()),
                licence: facts.licence_of(&o),
                shards: u.shards,
                records: u.records,
                bytes: u.bytes,
                detail: format!(
                    "shared with {} recipient {} on {}: {} ({})",
                    d.kind,
                    d.recipient,
                    d.date,
                    o.verdict.code(),
                    explain(&o, source, &org, d.date, needed)
                ),
                disclosure: Some(d.id.clone()),
            });
        }
    }

    Ok(())
}
