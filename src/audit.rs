//! The audit of one source: everything the registry knows about its content — how much,
//! collected when and by whom against which caps, in which datasets, trained into which
//! models, used by which applications (undisclosed ones flagged), shared with whom, and
//! every finding that touches it. Built from the same queries and verdicts as `report`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::licence::{self, Catalogue};
use crate::registry::{ContentRow, Grant, Registry, Source, Subject, VolumeRow};
use crate::report::{self, Filter, Finding};
use crate::types::{DatasetRef, Date, Period};
use crate::verdict::{self, Rules, Verdict};

/// Which part of a source's content to audit.
#[derive(Clone, Debug, Default)]
pub struct AuditOptions {
    /// The source id.
    pub source: String,
    /// Only datasets owned by this org.
    pub org: Option<String>,
    /// Only datasets collected on or after this date.
    pub from: Option<Date>,
    /// Only datasets collected on or before this date.
    pub to: Option<Date>,
}

/// Distinct content of the source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Datasets holding it.
    pub datasets: u64,
    /// Distinct shards.
    pub shards: u64,
    /// Records in those shards.
    pub records: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// A grant of the source with its licence terms and obligations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditGrant {
    /// The grant.
    #[serde(flatten)]
    pub grant: Grant,
    /// Uses the licence allows.
    pub allow: Vec<String>,
    /// Uses it denies.
    pub deny: Vec<String>,
    /// Obligations (attribution, share-alike, non-commercial).
    pub conditions: Vec<String>,
}

/// Records collected by one org in one period, against the cap that applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VolumePeriod {
    /// The collecting org.
    pub org: String,
    /// `month`, `year`, or `total` (shown when a grant has a total cap).
    pub per: &'static str,
    /// `2022-03`, `2022` or `total`.
    pub period: String,
    /// Records first collected in the period (each distinct shard once, at its first
    /// collection over the whole history, whatever window the audit shows).
    pub records: u64,
    /// Of those, records collected on a date when no grant of the source covered the org.
    pub outside_grant: u64,
    /// The cap of that period kind, when a grant covering the period has one.
    pub cap: Option<u64>,
    /// That grant.
    pub grant: Option<String>,
    /// Whether the records that grant counts in the period exceed its cap.
    pub exceeded: bool,
    /// How many records it counts above its cap.
    pub over: u64,
}

/// A dataset holding the source's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditDataset {
    /// NAME@VERSION.
    pub dataset: String,
    /// Owner.
    pub org: Option<String>,
    /// Collection date.
    pub collected: Date,
    /// Distinct shards with the source's content.
    pub shards: u64,
    /// Records of the source.
    pub records: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// A retracted version that held the source's content: listed, counted nowhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRetracted {
    /// NAME@VERSION.
    pub dataset: String,
    /// Owner.
    pub org: Option<String>,
    /// Collection date.
    pub collected: Date,
    /// Records of the source it held.
    pub records: u64,
    /// Why it was retracted.
    pub reason: String,
    /// When (RFC 3339, UTC).
    pub time: String,
}

/// A model trained on such a dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditModel {
    /// Model name.
    pub model: String,
    /// Training org.
    pub org: String,
    /// Training date.
    pub date: Date,
    /// The audited datasets it was trained on.
    pub datasets: Vec<String>,
    /// Its uses.
    pub uses: Vec<String>,
}

/// An application using such a model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditApplication {
    /// Application id.
    pub id: String,
    /// Owner.
    pub org: String,
    /// The audited models it uses.
    pub models: Vec<String>,
    /// What it puts them to.
    pub uses: Vec<String>,
    /// Whether it was disclosed to the source owner.
    pub disclosed: bool,
}

/// A disclosure of the source's content and its verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditDisclosure {
    /// Disclosure id.
    pub id: String,
    /// The dataset shared, or none when the source itself was.
    pub dataset: Option<String>,
    /// Who received it.
    pub recipient: String,
    /// `government`, `partner` or `public`.
    pub kind: String,
    /// When.
    pub date: Date,
    /// `permitted`, `unauthorised-sharing` or `unknown-provenance`.
    pub verdict: Verdict,
    /// Why.
    pub detail: String,
}

/// The audit of one source. One JSON key per section.
#[derive(Clone, Debug, Serialize)]
pub struct Audit {
    /// The source.
    pub source: Source,
    /// Distinct content.
    pub totals: Totals,
    /// Its grants and their terms.
    pub grants: Vec<AuditGrant>,
    /// Records per month and year against caps.
    pub volume: Vec<VolumePeriod>,
    /// Datasets holding its content.
    pub datasets: Vec<AuditDataset>,
    /// Retracted versions that held its content, left out of every count above and below.
    pub retracted: Vec<AuditRetracted>,
    /// Models trained on them.
    pub models: Vec<AuditModel>,
    /// Applications using those models.
    pub applications: Vec<AuditApplication>,
    /// Disclosures of its content.
    pub disclosures: Vec<AuditDisclosure>,
    /// Every finding that touches the source in the audited datasets.
    pub findings: Vec<Finding>,
    /// Its content per URL host, with each host's rights reservation.
    pub hosts: Vec<crate::audit_hosts::AuditHost>,
}

fn keep(opts: &AuditOptions, row: &ContentRow) -> bool {
    opts.org
        .as_ref()
        .is_none_or(|o| row.org.as_ref() == Some(o))
        && opts.from.is_none_or(|f| row.collected >= f)
        && opts.to.is_none_or(|t| row.collected <= t)
}

/// Volume per org and period, each distinct shard counted once in the period of its
/// earliest collection by that org over the whole history (`content` unfiltered), with the
/// cap of a grant covering the period; the audit's org filter and window then choose which
/// periods are shown, never what they count.
fn volume(content: &[ContentRow], grants: &[Grant], opts: &AuditOptions) -> Vec<VolumePeriod> {
    let mut by_org: BTreeMap<&str, Vec<VolumeRow>> = BTreeMap::new();
    for r in content {
        if let Some(org) = &r.org
            && opts.org.as_ref().is_none_or(|o| o == org)
        {
            by_org.entry(org.as_str()).or_default().push(r.volume());
        }
    }
    let mut out = Vec::new();
    for (org, vrows) in by_org {
        let outside: Vec<VolumeRow> = verdict::first_collections(&vrows)
            .into_iter()
            .filter(|(_, (d, _))| !verdict::collection(grants, org, *d).is_covered())
            .map(|(shard, (collected, records))| VolumeRow {
                collected,
                shard,
                records,
            })
            .collect();
        let mut pers = vec![Period::Month, Period::Year];
        if grants
            .iter()
            .any(|g| g.covers_org(org) && g.cap.is_some_and(|c| c.per == Period::Total))
        {
            pers.push(Period::Total);
        }
        for per in pers {
            let outside = verdict::periods(&outside, per);
            for (period, (date, records)) in verdict::periods(&vrows, per) {
                if !per.overlaps(date, opts.from, opts.to) {
                    continue;
                }
                let grant = grants.iter().find(|g| {
                    g.cap.is_some_and(|c| c.per == per)
                        && (g.covers(org, date) || (per == Period::Total && g.covers_org(org)))
                });
                let counted = grant.and_then(|g| {
                    verdict::cap_periods(g, &vrows)
                        .into_iter()
                        .find(|p| p.period == period)
                });
                out.push(VolumePeriod {
                    org: org.to_string(),
                    per: per.as_str(),
                    outside_grant: outside.get(&period).map_or(0, |o| o.1),
                    period,
                    records,
                    cap: grant.and_then(|g| g.cap).map(|c| c.records),
                    grant: grant.map(|g| g.id.clone()),
                    exceeded: counted.as_ref().is_some_and(|p| p.over() > 0),
                    over: counted.map_or(0, |p| p.over()),
                });
            }
        }
    }
    out
}

/// Every source's records per org and period against caps: the `volume` section of each
/// source's audit (same counting), without the rest, for the HTML report's charts.
pub fn volumes(reg: &dyn Registry) -> Result<Vec<(Source, Vec<VolumePeriod>)>> {
    let grants = reg.grants()?;
    let mut out = Vec::new();
    for source in reg.sources()? {
        let of_source: Vec<Grant> = grants
            .iter()
            .filter(|g| g.source == source.id)
            .cloned()
            .collect();
        let content = reg.source_content(&source.id)?;
        let v = volume(&content, &of_source, &AuditOptions::default());
        out.push((source, v));
    }
    Ok(out)
}

/// Checks that `org` is one the registry knows: it owns a version, holds a grant, trained
/// a model, runs an application or shared content. A typo is an error, not an empty audit.
fn check_org(reg: &dyn Registry, org: &str) -> Result<()> {
    let mut known: BTreeSet<String> = reg.datasets()?.into_iter().filter_map(|d| d.org).collect();
    known.extend(
        reg.grants()?
            .into_iter()
            .map(|g| g.grantee)
            .filter(|g| g != "*"),
    );
    known.extend(reg.training_runs()?.into_iter().map(|t| t.org));
    known.extend(reg.applications()?.into_iter().map(|a| a.org));
    known.extend(reg.disclosures()?.into_iter().filter_map(|d| d.org));
    if known.contains(org) {
        return Ok(());
    }
    Err(crate::suggest::unknown(
        "--org",
        "org",
        org,
        known.iter().map(String::as_str),
        "orgs come from scans, grants, training runs and applications",
    ))
}

/// Audits one source.
pub fn build(reg: &dyn Registry, opts: &AuditOptions) -> Result<Audit> {
    let source = reg
        .sources()?
        .into_iter()
        .find(|s| s.id == opts.source)
        .ok_or_else(|| {
            Error::input(
                opts.source.clone(),
                "unknown source (see `provtrack source list`)",
            )
        })?;
    let cat = Catalogue::with_overrides(reg.licences()?);
    let grants: Vec<Grant> = reg
        .grants()?
        .into_iter()
        .filter(|g| g.source == source.id)
        .collect();
    let audit_grants = grants
        .iter()
        .map(|g| {
            let l = cat.get(&g.licence);
            AuditGrant {
                grant: g.clone(),
                allow: l.map(|l| l.allow.clone()).unwrap_or_default(),
                deny: l.map(|l| l.deny.clone()).unwrap_or_default(),
                conditions: l.map(|l| l.conditions.clone()).unwrap_or_default(),
            }
        })
        .collect();

    if let Some(org) = &opts.org {
        check_org(reg, org)?;
    }
    let content = reg.source_content(&source.id)?;
    let rows: Vec<&ContentRow> = content.iter().filter(|r| keep(opts, r)).collect();

    // Per dataset: distinct shards; overall: distinct shards once.
    let mut per_dataset: BTreeMap<String, (AuditDataset, HashSet<blake3::Hash>)> = BTreeMap::new();
    let mut all: HashMap<blake3::Hash, (u64, u64)> = HashMap::new();
    for r in &rows {
        let name = r.dataset.to_string();
        let (d, seen) = per_dataset.entry(name.clone()).or_insert_with(|| {
            (
                AuditDataset {
                    dataset: name,
                    org: r.org.clone(),
                    collected: r.collected,
                    shards: 0,
                    records: 0,
                    bytes: 0,
                },
                HashSet::new(),
            )
        });
        if seen.insert(r.shard) {
            d.shards += 1;
            d.records += r.records;
            d.bytes += r.bytes;
        }
        all.insert(r.shard, (r.records, r.bytes));
    }
    let mut datasets: Vec<AuditDataset> = per_dataset.into_values().map(|(d, _)| d).collect();
    datasets.sort_by(|a, b| (a.collected, &a.dataset).cmp(&(b.collected, &b.dataset)));
    let totals = Totals {
        datasets: datasets.len() as u64,
        shards: all.len() as u64,
        records: all.values().map(|v| v.0).sum(),
        bytes: all.values().map(|v| v.1).sum(),
    };
    // The audited versions, compared as references (never by re-parsing names).
    let names: BTreeSet<&DatasetRef> = rows.iter().map(|r| &r.dataset).collect();
    let mut retracted = Vec::new();
    for d in reg.datasets()? {
        let Some(r) = &d.retracted else { continue };
        let row = ContentRow {
            dataset: d.dataset.clone(),
            org: d.org.clone(),
            collected: d.collected,
            shard: d.root,
            records: 0,
            bytes: 0,
        };
        if !keep(opts, &row) {
            continue;
        }
        let usage = reg.dataset_usage(&d.dataset)?;
        if let Some(u) = usage.iter().find(|u| u.source.as_ref() == Some(&source.id)) {
            retracted.push(AuditRetracted {
                dataset: d.dataset.to_string(),
                org: d.org.clone(),
                collected: d.collected,
                records: u.records,
                reason: r.reason.clone(),
                time: r.time.clone(),
            });
        }
    }

    let models: Vec<AuditModel> = reg
        .training_runs()?
        .into_iter()
        .filter_map(|t| {
            let used: Vec<String> = t
                .datasets
                .iter()
                .filter(|d| names.contains(d))
                .map(|d| d.to_string())
                .collect();
            (!used.is_empty()).then_some(AuditModel {
                model: t.model,
                org: t.org,
                date: t.date,
                datasets: used,
                uses: t.uses,
            })
        })
        .collect();
    let model_names: BTreeSet<&str> = models.iter().map(|m| m.model.as_str()).collect();
    let applications: Vec<AuditApplication> = reg
        .applications()?
        .into_iter()
        .filter_map(|a| {
            let used: Vec<String> = a
                .models
                .iter()
                .filter(|m| model_names.contains(m.as_str()))
                .cloned()
                .collect();
            (!used.is_empty()).then_some(AuditApplication {
                id: a.id,
                org: a.org,
                models: used,
                uses: a.uses,
                disclosed: a.disclosed,
            })
        })
        .collect();

    // Findings come from the report, limited to this source and the audited datasets;
    // disclosure verdicts are read off the same findings.
    let filter = Filter {
        source: Some(source.id.clone()),
        datasets: Some(rows.iter().map(|r| r.dataset.clone()).collect()),
        ..Filter::default()
    };
    let all_findings = report::build(reg, &filter, Rules::default())?.findings;
    let touches = |f: &Finding| {
        f.source.as_deref() == Some(source.id.as_str())
            && f.dataset
                .as_ref()
                .is_none_or(|d| d.version().is_some_and(|r| names.contains(r)))
    };
    let mut disclosures = Vec::new();
    for d in reg.disclosures()? {
        // A disclosure of the source's content belongs to the audit when the audited rows
        // hold content it shared: collected by its org on or before its date.
        let dataset = match &d.subject {
            Subject::Dataset(r) if names.contains(r) => Some(r.to_string()),
            Subject::Source(s)
                if *s == source.id
                    && rows.iter().any(|r| {
                        r.org.is_some()
                            && r.org == d.org
                            && verdict::in_disclosure(r.collected, d.date)
                    }) =>
            {
                None
            }
            _ => continue,
        };
        let needed = licence::sharing_use(&d.kind);
        let finding = all_findings.iter().find(|f| {
            f.disclosure.as_deref() == Some(d.id.as_str())
                && f.source.as_deref().is_none_or(|s| s == source.id)
        });
        disclosures.push(AuditDisclosure {
            id: d.id,
            dataset,
            recipient: d.recipient,
            kind: d.kind,
            date: d.date,
            verdict: finding.map_or(Verdict::Permitted, |f| f.verdict),
            detail: finding.map_or_else(|| format!("{needed} is permitted"), |f| f.detail.clone()),
        });
    }
    let findings: Vec<Finding> = all_findings.into_iter().filter(|f| touches(f)).collect();
    let audited: Vec<DatasetRef> = names.iter().map(|r| (*r).clone()).collect();
    let hosts = crate::audit_hosts::hosts(reg, &source.id, &audited)?;

    Ok(Audit {
        volume: volume(&content, &grants, opts),
        source,
        totals,
        grants: audit_grants,
        datasets,
        retracted,
        models,
        applications,
        disclosures,
        findings,
        hosts,
    })
}
