//! Collection findings (semantics step 7): every registered version's content of each
//! source, judged as a collection whether or not anything trained on it — collected with no
//! grant covering the org on its date (`collected-without-grant`, use `collection`), over a
//! grant's cap (`volume-exceeded`, use `collection`), and still held after the end of a
//! grant whose licence requires deletion then (`retained-after-end`, use `retention`).

use crate::error::Result;
use crate::registry::{DatasetInfo, SourceUsage};
use crate::types::{DatasetRef, Date};
use crate::verdict::{self, Collection, Verdict};

use super::facts::Facts;
use super::{Finding, cap_finding, thousands};

/// The use collection findings are about.
pub const COLLECTION: &str = "collection";
/// The use retention findings are about.
pub const RETENTION: &str = "retention";

/// Judges the collections of the versions `versions` (registered, read into `facts`) as of
/// `today`, adding to `findings`.
pub(super) fn judge(
    facts: &mut Facts<'_>,
    versions: &[DatasetRef],
    today: Date,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    for r in versions {
        let Some((info, usage)) = facts.dataset(r)?.cloned() else {
            continue;
        };
        // A retracted version leaves every count and verdict.
        if info.retracted.is_some() {
            continue;
        }
        // A version with no org names no collector whose grants could cover it.
        let Some(org) = info.org.clone() else {
            continue;
        };
        for u in &usage {
            let Some(source) = &u.source else { continue };
            let outcome = verdict::collection(facts.grants_of(source), &org, info.collected);
            match outcome {
                Collection::Covered(g) => {
                    let ended = g.until.filter(|u| *u <= today);
                    let deletes = facts.cat.get(&g.licence).is_some_and(|l| l.delete_on_end());
                    if let (Some(until), true) = (ended, deletes) {
                        let detail = format!(
                            "grant {} ended {until} and licence {} requires deleting the content then; {org} still holds {} {source} records collected {}",
                            g.id,
                            g.licence,
                            thousands(u.records),
                            info.collected
                        );
                        let (grant, licence) = (g.id.clone(), g.licence.clone());
                        findings.push(finding(
                            Verdict::RetainedAfterEnd,
                            RETENTION,
                            &info,
                            u,
                            Some((grant, licence)),
                            detail,
                        ));
                    }
                }
                other => {
                    let detail = match other {
                        Collection::AfterEnd(g) => format!(
                            "{org} collected {} {source} records on {}, after grant {} ended {}",
                            thousands(u.records),
                            info.collected,
                            g.id,
                            g.until.map(|d| d.to_string()).unwrap_or_default()
                        ),
                        Collection::BeforeStart(g) => format!(
                            "{org} collected {} {source} records on {}, before grant {} starts {}",
                            thousands(u.records),
                            info.collected,
                            g.id,
                            g.from
                        ),
                        _ => format!(
                            "{org} collected {} {source} records on {}: no grant of {source} covers {org}",
                            thousands(u.records),
                            info.collected
                        ),
                    };
                    let named = match other {
                        Collection::AfterEnd(g) | Collection::BeforeStart(g) => {
                            Some((g.id.clone(), g.licence.clone()))
                        }
                        _ => None,
                    };
                    findings.push(finding(
                        Verdict::CollectedWithoutGrant,
                        COLLECTION,
                        &info,
                        u,
                        named,
                        detail,
                    ));
                }
            }
            findings.extend(cap_finding(facts, source, &org, &info, u, COLLECTION)?);
        }
    }
    Ok(())
}

fn finding(
    verdict: Verdict,
    use_: &str,
    info: &DatasetInfo,
    u: &SourceUsage,
    grant: Option<(String, String)>,
    detail: String,
) -> Finding {
    let (grant, licence) = grant.unzip();
    Finding {
        verdict,
        use_: use_.to_string(),
        source: u.source.clone(),
        dataset: Some((&info.dataset).into()),
        model: None,
        grant,
        licence,
        shards: u.shards,
        records: u.records,
        bytes: u.bytes,
        detail,
        disclosure: None,
    }
}
