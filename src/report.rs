//! Findings: which trained datasets include content from sources lacking permission, which
//! collections exceeded caps, and which disclosures shared content without the sharing use.
//! Computed once here; commands only filter and format them.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::error::Result;
use crate::licence::{self, Catalogue};
use crate::registry::{DatasetInfo, Grant, Registry, SourceUsage, Subject, VolumeRow};
use crate::types::{DatasetRef, Date};
use crate::verdict::{self, Outcome, Rules, Verdict};

/// One finding. JSON keys are the spec's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The verdict code.
    pub verdict: Verdict,
    /// The use evaluated.
    #[serde(rename = "use")]
    pub use_: String,
    /// The source (none for unknown provenance).
    pub source: Option<String>,
    /// The dataset.
    pub dataset: Option<String>,
    /// The model, when a training run is involved.
    pub model: Option<String>,
    /// The grant consulted.
    pub grant: Option<String>,
    /// Its licence.
    pub licence: Option<String>,
    /// Distinct shards involved.
    pub shards: u64,
    /// Records involved.
    pub records: u64,
    /// Uncompressed bytes involved.
    pub bytes: u64,
    /// One line for a person.
    pub detail: String,
    /// The disclosure a sharing finding is about (not part of the JSON contract).
    #[serde(skip)]
    pub disclosure: Option<String>,
}

/// What a permitting licence asks in return for a use: attribution, share-alike, ...
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Obligation {
    /// The model trained.
    pub model: String,
    /// The dataset.
    pub dataset: String,
    /// The source.
    pub source: String,
    /// The permitted use.
    #[serde(rename = "use")]
    pub use_: String,
    /// The permitting grant.
    pub grant: String,
    /// Its licence.
    pub licence: String,
    /// The conditions to honour.
    pub conditions: Vec<String>,
}

/// Which findings to keep.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this model.
    pub model: Option<String>,
    /// Only this dataset.
    pub dataset: Option<DatasetRef>,
    /// Only this use.
    pub use_: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Only this verdict.
    pub verdict: Option<Verdict>,
    /// Only datasets in this set (audits: the datasets holding a source's content).
    pub datasets: Option<BTreeSet<DatasetRef>>,
}

impl Filter {
    fn keeps(&self, f: &Finding) -> bool {
        self.model
            .as_ref()
            .is_none_or(|m| f.model.as_ref() == Some(m))
            && self
                .dataset
                .as_ref()
                .is_none_or(|d| f.dataset.as_deref() == Some(d.to_string().as_str()))
            && self.use_.as_ref().is_none_or(|u| &f.use_ == u)
            && self
                .source
                .as_ref()
                .is_none_or(|s| f.source.as_ref() == Some(s))
            && self.verdict.is_none_or(|v| f.verdict == v)
            && self.datasets.as_ref().is_none_or(|set| {
                f.dataset
                    .as_deref()
                    .is_none_or(|d| d.parse::<DatasetRef>().is_ok_and(|r| set.contains(&r)))
            })
    }
}

/// Counts over the kept findings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Findings.
    pub findings: u64,
    /// Distinct datasets named.
    pub datasets: u64,
    /// Distinct models named.
    pub models: u64,
}

/// The report: findings, their summary, and the obligations of permitted uses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Findings, in a deterministic order (training runs by date, then disclosures).
    pub findings: Vec<Finding>,
    /// Summary counts.
    pub summary: Summary,
    /// Conditions attached to permitted uses, in the same order.
    pub obligations: Vec<Obligation>,
}

/// Registry facts shared by every evaluation of one report.
struct Facts<'r> {
    reg: &'r dyn Registry,
    cat: Catalogue,
    grants: HashMap<String, Vec<Grant>>,
    datasets: HashMap<DatasetRef, Option<(DatasetInfo, Vec<SourceUsage>)>>,
    /// Per (source, org): the distinct shards of the source's content the org collected,
    /// each at its first collection (for caps); read once per source.
    volumes: HashMap<(String, String), Vec<VolumeRow>>,
    volumes_read: HashSet<String>,
    rules: Rules,
}

impl<'r> Facts<'r> {
    fn load(reg: &'r dyn Registry, rules: Rules) -> Result<Facts<'r>> {
        let mut grants: HashMap<String, Vec<Grant>> = HashMap::new();
        for g in reg.grants()? {
            grants.entry(g.source.clone()).or_default().push(g);
        }
        Ok(Facts {
            reg,
            cat: Catalogue::with_overrides(reg.licences()?),
            grants,
            datasets: HashMap::new(),
            volumes: HashMap::new(),
            volumes_read: HashSet::new(),
            rules,
        })
    }

    fn dataset(&mut self, r: &DatasetRef) -> Result<Option<&(DatasetInfo, Vec<SourceUsage>)>> {
        if !self.datasets.contains_key(r) {
            let v = match self.reg.dataset(r)? {
                Some(info) => Some((info, self.reg.dataset_usage(r)?)),
                None => None,
            };
            self.datasets.insert(r.clone(), v);
        }
        Ok(self.datasets.get(r).and_then(|v| v.as_ref()))
    }

    fn evaluate(&self, source: &str, org: &str, date: Date, use_: &str) -> Outcome<'_> {
        let grants = self.grants.get(source).map(Vec::as_slice).unwrap_or(&[]);
        verdict::evaluate(grants, &self.cat, org, date, use_, self.rules)
    }

    /// Reads the registered versions among `refs` with their usage, in one pass.
    fn prefetch_datasets(&mut self, refs: &BTreeSet<DatasetRef>) -> Result<()> {
        let refs: Vec<DatasetRef> = refs
            .iter()
            .filter(|r| !self.datasets.contains_key(*r))
            .cloned()
            .collect();
        let mut found = self.reg.datasets_usage(&refs)?;
        for r in refs {
            let v = found.remove(&r);
            self.datasets.insert(r, v);
        }
        Ok(())
    }

    /// Reads the cap volumes of `sources` not read yet, in one pass.
    fn prefetch_volumes(&mut self, sources: &BTreeSet<String>) -> Result<()> {
        let sources: Vec<String> = sources
            .iter()
            .filter(|s| !self.volumes_read.contains(*s))
            .cloned()
            .collect();
        if sources.is_empty() {
            return Ok(());
        }
        self.volumes.extend(self.reg.cap_volumes(&sources)?);
        self.volumes_read.extend(sources);
        Ok(())
    }

    /// The distinct shards of `source` in the datasets `org` owns, each at its first
    /// collection, for caps.
    fn volume(&mut self, source: &str, org: &str) -> Result<&[VolumeRow]> {
        self.prefetch_volumes(&BTreeSet::from([source.to_string()]))?;
        Ok(self
            .volumes
            .get(&(source.to_string(), org.to_string()))
            .map_or(&[], Vec::as_slice))
    }

    fn licence_of(&self, o: &Outcome<'_>) -> Option<String> {
        o.grant.map(|g| g.licence.clone())
    }
}

impl Finding {
    /// A finding about content of no known source, with no grant or licence to consult.
    fn unknown(
        use_: &str,
        dataset: Option<String>,
        model: Option<String>,
        u: Option<&SourceUsage>,
        detail: String,
    ) -> Finding {
        Finding {
            verdict: Verdict::UnknownProvenance,
            use_: use_.to_string(),
            source: None,
            dataset,
            model,
            grant: None,
            licence: None,
            shards: u.map_or(0, |u| u.shards),
            records: u.map_or(0, |u| u.records),
            bytes: u.map_or(0, |u| u.bytes),
            detail,
            disclosure: None,
        }
    }
}

impl Finding {
    /// The same finding, marked as about disclosure `id`.
    fn about(mut self, id: &str) -> Finding {
        self.disclosure = Some(id.to_string());
        self
    }
}

/// Explains a non-permitted outcome in one line.
fn explain(o: &Outcome<'_>, source: &str, org: &str, date: Date, use_: &str) -> String {
    match (o.verdict, o.grant) {
        (Verdict::NoLicence, _) => format!("no grant of {source} covers {org}"),
        (Verdict::UseDenied, Some(g)) => {
            format!("licence {} (grant {}) denies {use_}", g.licence, g.id)
        }
        (Verdict::Expired, Some(g)) => format!(
            "grant {} ended {}; {use_} on {date} is not covered",
            g.id,
            g.until.map(|d| d.to_string()).unwrap_or_default()
        ),
        (Verdict::NotYetValid, Some(g)) => {
            format!("grant {} starts {}, after {use_} on {date}", g.id, g.from)
        }
        (Verdict::Unspecified, Some(g)) => format!(
            "licence {} (grant {}) neither allows nor denies {use_}; strict by default",
            g.licence, g.id
        ),
        (v, _) => v.code().to_string(),
    }
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Builds the report from the registry.
pub fn build(reg: &dyn Registry, filter: &Filter, rules: Rules) -> Result<Report> {
    build_for(reg, reg.training_runs()?, Vec::new(), true, filter, rules)
}

/// Builds the report for the given training runs (registered or hypothetical, as a gate's
/// planned run), with or without the registry's disclosures. `unregistered` are datasets
/// the runs may name that are not in the registry, with their content per source (a
/// directory a gate read): they are evaluated like registered ones.
pub fn build_for(
    reg: &dyn Registry,
    runs: Vec<crate::registry::TrainingRun>,
    unregistered: Vec<(DatasetInfo, Vec<SourceUsage>)>,
    with_disclosures: bool,
    filter: &Filter,
    rules: Rules,
) -> Result<Report> {
    let mut facts = Facts::load(reg, rules)?;
    for (info, usage) in unregistered {
        facts
            .datasets
            .insert(info.dataset.clone(), Some((info, usage)));
    }
    // Disclosures involve no model: a report about one model has none of them.
    let disclosures = if filter.model.is_some() || !with_disclosures {
        Vec::new()
    } else {
        reg.disclosures()?
    };
    // Every version and cap volume the evaluation will read, read up front in one pass each.
    let mut wanted: BTreeSet<DatasetRef> = BTreeSet::new();
    for run in &runs {
        if filter.model.as_ref().is_some_and(|m| *m != run.model)
            || filter.use_.as_ref().is_some_and(|u| !run.uses.contains(u))
        {
            continue;
        }
        wanted.extend(run.datasets.iter().cloned());
    }
    for d in &disclosures {
        if let Subject::Dataset(r) = &d.subject {
            wanted.insert(r.clone());
        }
    }
    if let Some(set) = &filter.datasets {
        wanted.retain(|r| set.contains(r));
    }
    if let Some(d) = &filter.dataset {
        wanted.retain(|r| r == d);
    }
    facts.prefetch_datasets(&wanted)?;
    // The sources whose caps bind a collecting org of a version read (as the loop below
    // asks), and those a disclosure of a source's content needs.
    let mut capped: BTreeSet<String> = BTreeSet::new();
    for (info, usage) in facts.datasets.values().flatten() {
        let Some(org) = &info.org else { continue };
        for source in usage.iter().filter_map(|u| u.source.as_ref()) {
            if facts.grants.get(source).is_some_and(|gs| {
                gs.iter().any(|g| {
                    g.cap.is_some()
                        && (g.grantee == *org || g.grantee == "*")
                        && verdict::in_window(g, info.collected)
                })
            }) {
                capped.insert(source.clone());
            }
        }
    }
    for d in &disclosures {
        if let (Subject::Source(s), Some(_)) = (&d.subject, &d.org) {
            capped.insert(s.clone());
        }
    }
    facts.prefetch_volumes(&capped)?;

    let mut findings = Vec::new();
    let mut obligations = Vec::new();

    // Runs, datasets and sources a filter excludes are skipped before any evaluation, so a
    // narrow report costs what it shows, not what the whole registry holds.
    for run in runs {
        if filter.model.as_ref().is_some_and(|m| *m != run.model)
            || filter.use_.as_ref().is_some_and(|u| !run.uses.contains(u))
        {
            continue;
        }
        for ds in &run.datasets {
            if filter.dataset.as_ref().is_some_and(|d| d != ds)
                || filter
                    .datasets
                    .as_ref()
                    .is_some_and(|set| !set.contains(ds))
            {
                continue;
            }
            let dataset = Some(ds.to_string());
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
                let grants = facts.grants.get(source).cloned().unwrap_or_default();
                for g in grants.iter().filter(|g| {
                    g.cap.is_some()
                        && (g.grantee == *org || g.grantee == "*")
                        && verdict::in_window(g, info.collected)
                }) {
                    let rows = facts.volume(source, org)?;
                    let Some(c) = verdict::cap_use(g, rows, info.collected) else {
                        continue;
                    };
                    if c.records <= c.cap {
                        continue;
                    }
                    findings.push(Finding {
                        verdict: Verdict::VolumeExceeded,
                        use_: licence::AI_TRAINING.into(),
                        source: Some(source.clone()),
                        dataset: dataset.clone(),
                        model: Some(run.model.clone()),
                        grant: Some(g.id.clone()),
                        licence: Some(g.licence.clone()),
                        shards: u.shards,
                        records: u.records,
                        bytes: u.bytes,
                        detail: format!(
                            "{org} collected {} {source} records in {} against a cap of {} per {} (grant {})",
                            thousands(c.records),
                            c.period,
                            thousands(c.cap),
                            g.cap.map(|c| c.per.as_str()).unwrap_or("total"),
                            g.id
                        ),
                        disclosure: None,
                    });
                }
            }
        }
    }

    for d in disclosures {
        if let Subject::Dataset(r) = &d.subject
            && (filter.dataset.as_ref().is_some_and(|f| f != r)
                || filter.datasets.as_ref().is_some_and(|set| !set.contains(r)))
        {
            continue;
        }
        let needed = licence::sharing_use(&d.kind);
        let (dataset, usage, org) =
            match &d.subject {
                Subject::Dataset(r) => match facts.dataset(r)?.cloned() {
                    Some((info, usage)) => (Some(r.to_string()), usage, d.org.clone().or(info.org)),
                    None => {
                        findings.push(Finding::unknown(
                        needed,
                        Some(r.to_string()),
                        None,
                        None,
                        format!(
                            "dataset {r} shared with {} recipient {} on {} is not registered",
                            d.kind, d.recipient, d.date
                        ),
                    ).about(&d.id));
                        continue;
                    }
                },
                Subject::Source(s) => {
                    // One row per distinct shard the org collected.
                    let rows = match &d.org {
                        Some(org) => facts.volume(s, org)?,
                        None => &[],
                    };
                    let usage = vec![SourceUsage {
                        source: Some(s.clone()),
                        shards: rows.len() as u64,
                        records: rows.iter().map(|r| r.records).sum(),
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

    findings.retain(|f| filter.keeps(f));
    obligations.retain(|o: &Obligation| {
        filter.verdict.is_none()
            && filter.model.as_ref().is_none_or(|m| *m == o.model)
            && filter
                .dataset
                .as_ref()
                .is_none_or(|d| d.to_string() == o.dataset)
            && filter.use_.as_ref().is_none_or(|u| *u == o.use_)
            && filter.source.as_ref().is_none_or(|s| *s == o.source)
    });
    let datasets: BTreeSet<&str> = findings
        .iter()
        .filter_map(|f| f.dataset.as_deref())
        .collect();
    let models: BTreeSet<&str> = findings.iter().filter_map(|f| f.model.as_deref()).collect();
    let summary = Summary {
        findings: findings.len() as u64,
        datasets: datasets.len() as u64,
        models: models.len() as u64,
    };
    Ok(Report {
        findings,
        summary,
        obligations,
    })
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
