//! Findings: which trained datasets include content from sources lacking permission
//! ([`training`]), which collections were made outside any grant, over a cap or kept past a
//! grant's end ([`collections`]), and which disclosures shared content without the sharing
//! use ([`sharing`]). Computed once here from the rules in `verdict`; commands only filter
//! and format them.

mod collections;
mod facts;
mod optout;
mod sharing;
mod training;

use std::collections::BTreeSet;

use serde::Serialize;

pub use collections::{COLLECTION, RETENTION};
pub use optout::{Judged, State, judge_all, state_on};

use crate::error::Result;
use crate::registry::{DatasetInfo, Registry, SourceUsage, Subject, TrainingRun};
use crate::suggest;
use crate::types::{DatasetRef, Date};
use crate::verdict::{self, Outcome, Rules, Verdict};
use facts::Facts;

/// What holds a finding's content: a registered dataset version, or a directory a gate
/// read that no version registers. Printed (and serialised) as `NAME@VERSION` or the
/// directory as given; compared by its parts, never by re-parsing the text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Holder {
    /// A dataset version.
    Version(DatasetRef),
    /// A directory as the gate was given it.
    Directory(String),
}

impl Holder {
    /// The dataset version, when it is one.
    pub fn version(&self) -> Option<&DatasetRef> {
        match self {
            Holder::Version(r) => Some(r),
            Holder::Directory(_) => None,
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::Version(r) => r.fmt(f),
            Holder::Directory(d) => f.write_str(d),
        }
    }
}

impl Serialize for Holder {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl From<&DatasetRef> for Holder {
    fn from(r: &DatasetRef) -> Holder {
        Holder::Version(r.clone())
    }
}

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
    /// What holds the content.
    pub dataset: Option<Holder>,
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
    /// Whether findings about version `r` can pass the filter.
    fn wants_dataset(&self, r: &DatasetRef) -> bool {
        self.dataset.as_ref().is_none_or(|d| d == r)
            && self.datasets.as_ref().is_none_or(|set| set.contains(r))
    }

    fn keeps(&self, f: &Finding) -> bool {
        self.model
            .as_ref()
            .is_none_or(|m| f.model.as_ref() == Some(m))
            && self
                .dataset
                .as_ref()
                .is_none_or(|d| f.dataset.as_ref().and_then(Holder::version) == Some(d))
            && self.use_.as_ref().is_none_or(|u| &f.use_ == u)
            && self
                .source
                .as_ref()
                .is_none_or(|s| f.source.as_ref() == Some(s))
            && self.verdict.is_none_or(|v| f.verdict == v)
            && self.datasets.as_ref().is_none_or(|set| {
                f.dataset
                    .as_ref()
                    .is_none_or(|d| d.version().is_some_and(|r| set.contains(r)))
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

impl Finding {
    /// A finding about content of no known source, with no grant or licence to consult.
    fn unknown(
        use_: &str,
        dataset: Option<Holder>,
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

/// The `volume-exceeded` findings of `org`'s collection `info` of `source` (content `u`),
/// for use `use_`: one per grant covering the collection whose cap period holding its date
/// is over the cap. Model unset.
fn cap_finding(
    facts: &mut Facts<'_>,
    source: &str,
    org: &str,
    info: &DatasetInfo,
    u: &SourceUsage,
    use_: &str,
) -> Result<Vec<Finding>> {
    let grants: Vec<_> = facts
        .grants_of(source)
        .iter()
        .filter(|g| g.cap.is_some() && g.covers(org, info.collected))
        .cloned()
        .collect();
    let mut out = Vec::new();
    if grants.is_empty() {
        return Ok(out);
    }
    let rows = facts.volume(source, org)?;
    for g in grants {
        let Some(c) = verdict::cap_use(&g, rows, info.collected) else {
            continue;
        };
        if c.records <= c.cap {
            continue;
        }
        out.push(Finding {
            verdict: Verdict::VolumeExceeded,
            use_: use_.into(),
            source: Some(source.to_string()),
            dataset: Some((&info.dataset).into()),
            model: None,
            grant: Some(g.id.clone()),
            licence: Some(g.licence.clone()),
            shards: u.shards,
            records: u.records,
            bytes: u.bytes,
            detail: format!(
                "{org} collected {} {source} records in {} against a cap of {} per {} (grant {}): {} over",
                thousands(c.records),
                c.period,
                thousands(c.cap),
                g.cap.map(|c| c.per.as_str()).unwrap_or("total"),
                g.id,
                thousands(c.records - c.cap)
            ),
            disclosure: None,
        });
    }
    Ok(out)
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

/// What a report judges besides the training runs it is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The registry's: every disclosure, and every registered version as a collection.
    Registry,
    /// A planned run's (a gate): the collections of the registered versions it trains on.
    Planned,
}

/// Builds the report from the registry, after [`check_filter`].
pub fn build(reg: &dyn Registry, filter: &Filter, rules: Rules) -> Result<Report> {
    let runs = reg.training_runs()?;
    check_filter(reg, &runs, filter)?;
    build_for(reg, runs, Vec::new(), Scope::Registry, filter, rules)
}

/// Checks that every name `filter` gives is one the registry knows — a model of `runs`, a
/// registered version, a source, a use of the vocabulary or of a run: a typo is an error
/// naming the nearest known name, never an empty report.
pub fn check_filter(reg: &dyn Registry, runs: &[TrainingRun], filter: &Filter) -> Result<()> {
    if let Some(m) = &filter.model
        && !runs.iter().any(|r| r.model == *m)
    {
        let known = runs.iter().map(|r| r.model.as_str());
        return Err(suggest::unknown(
            "--model",
            "model",
            m,
            known,
            "record runs with train or apply",
        ));
    }
    if let Some(d) = &filter.dataset
        && let Some(info) = reg.dataset(d)?
    {
        info.live()?;
    }
    if let Some(d) = &filter.dataset
        && reg.dataset(d)?.is_none()
    {
        let all: Vec<String> = reg
            .datasets()?
            .iter()
            .map(|i| i.dataset.to_string())
            .collect();
        let known = all.iter().map(String::as_str);
        return Err(suggest::unknown(
            "--dataset",
            "dataset",
            &d.to_string(),
            known,
            "see dataset list",
        ));
    }
    if let Some(s) = &filter.source {
        let sources = reg.sources()?;
        if !sources.iter().any(|x| x.id == *s) {
            let known = sources.iter().map(|x| x.id.as_str());
            return Err(suggest::unknown(
                "--source",
                "source",
                s,
                known,
                "see source list",
            ));
        }
    }
    if let Some(u) = &filter.use_ {
        let cat = crate::licence::Catalogue::with_overrides(reg.licences()?);
        let mut known = cat.vocabulary();
        known.extend(runs.iter().flat_map(|r| r.uses.iter().map(String::as_str)));
        if !known.contains(u.as_str()) {
            return Err(suggest::unknown(
                "--use",
                "use",
                u,
                known.iter().copied(),
                "see docs/policy.md",
            ));
        }
    }
    Ok(())
}

/// Builds the report for the given training runs (registered or hypothetical, as a gate's
/// planned run) and what `scope` adds. `unregistered` are datasets the runs may name that
/// are not in the registry, with their content per source (a directory a gate read): their
/// training is evaluated like registered ones', but they were never registered as a
/// collection, so caps and collection findings leave them out.
pub fn build_for(
    reg: &dyn Registry,
    runs: Vec<TrainingRun>,
    unregistered: Vec<(DatasetInfo, Vec<SourceUsage>)>,
    scope: Scope,
    filter: &Filter,
    rules: Rules,
) -> Result<Report> {
    let mut facts = Facts::load(reg, rules)?;
    let planned: BTreeSet<DatasetRef> = unregistered
        .iter()
        .map(|(i, _)| i.dataset.clone())
        .collect();
    for (info, usage) in unregistered {
        facts
            .datasets
            .insert(info.dataset.clone(), Some((info, usage)));
    }
    // Disclosures involve no model: a report about one model has none of them.
    let disclosures = if filter.model.is_some() || scope != Scope::Registry {
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
    // Collections involve no model either; a registry report judges every version's.
    let mut collected: BTreeSet<DatasetRef> = BTreeSet::new();
    if filter.model.is_none() {
        match scope {
            Scope::Registry => collected.extend(
                reg.datasets()?
                    .into_iter()
                    .filter(|i| i.retracted.is_none())
                    .map(|i| i.dataset),
            ),
            Scope::Planned => {
                collected.extend(wanted.iter().filter(|r| !planned.contains(*r)).cloned())
            }
        }
        wanted.extend(collected.iter().cloned());
    }
    wanted.retain(|r| filter.wants_dataset(r));
    collected.retain(|r| filter.wants_dataset(r));
    facts.prefetch_datasets(&wanted)?;
    // The sources whose caps bind a collecting org of a version read (as the loop below
    // asks), and those a disclosure of a source's content needs.
    let mut capped: BTreeSet<String> = BTreeSet::new();
    for (info, usage) in facts.datasets.values().flatten() {
        let Some(org) = &info.org else { continue };
        if planned.contains(&info.dataset) {
            continue;
        }
        for source in usage.iter().filter_map(|u| u.source.as_ref()) {
            if facts.grants.get(source).is_some_and(|gs| {
                gs.iter()
                    .any(|g| g.cap.is_some() && g.covers(org, info.collected))
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
    training::judge(
        &mut facts,
        runs.clone(),
        filter,
        &mut findings,
        &mut obligations,
    )?;
    let collected: Vec<DatasetRef> = if filter.model.is_none() {
        collected.into_iter().collect()
    } else {
        Vec::new()
    };
    if filter.model.is_none() {
        collections::judge(&mut facts, &collected, Date::today(), &mut findings)?;
    }
    optout::judge(&mut facts, &runs, &collected, filter, &mut findings)?;
    sharing::judge(&mut facts, disclosures, filter, &mut findings)?;

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
    let datasets: BTreeSet<&Holder> = findings.iter().filter_map(|f| f.dataset.as_ref()).collect();
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
    use super::{Filter, Finding, Holder, thousands};
    use crate::types::DatasetRef;
    use crate::verdict::Verdict;

    fn about(holder: Option<Holder>) -> Finding {
        Finding {
            verdict: Verdict::UnknownProvenance,
            use_: "ai-training".into(),
            source: None,
            dataset: holder,
            model: None,
            grant: None,
            licence: None,
            shards: 1,
            records: 1,
            bytes: 1,
            detail: String::new(),
            disclosure: None,
        }
    }

    #[test]
    fn filters_compare_dataset_references_not_names() {
        let r = |s: &str| s.parse::<DatasetRef>().unwrap();
        let filter = Filter {
            dataset: Some(r("web@1")),
            ..Filter::default()
        };
        assert!(filter.keeps(&about(Some(Holder::Version(r("web@1"))))));
        assert!(!filter.keeps(&about(Some(Holder::Version(r("web@2"))))));
        // A directory named like a version is not that version.
        assert!(!filter.keeps(&about(Some(Holder::Directory("web@1".into())))));
        assert!(!filter.keeps(&about(None)));
        let set = Filter {
            datasets: Some([r("a@1"), r("b@1")].into_iter().collect()),
            ..Filter::default()
        };
        assert!(set.keeps(&about(Some(Holder::Version(r("b@1"))))));
        assert!(!set.keeps(&about(Some(Holder::Directory("b@1".into())))));
        // Findings about no dataset (a source-level disclosure) stay in a set filter.
        assert!(set.keeps(&about(None)));
        assert_eq!(
            serde_json::to_value(about(Some(Holder::Version(r("a@1"))))).unwrap()["dataset"],
            "a@1"
        );
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
