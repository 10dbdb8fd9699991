//! The EU AI Act public summary of training content (Art. 53(1)(d); the Commission's
//! template of July 2025), filled from the registry for one model: its sections in the
//! template's order, each field either filled from what the registry recorded or left
//! `None` — "to be completed by the provider" — never invented. `export::ai_act` writes it
//! as Markdown or HTML; JSON is this structure.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::error::Result;
use crate::registry::{DatasetInfo, Registry, SourceUsage, TrainingRun};
use crate::report::{self, Filter};
use crate::rights::{self, SourceKind};
use crate::suggest;
use crate::types::Date;
use crate::verdict::{Rules, Verdict};

/// The template this module fills.
pub const TEMPLATE: &str = "eu-ai-act-2025-07";

/// Share of crawled domain names the template asks to list: the top 10 % by size of
/// content scraped (an SME provider may list the top 5 % or 1,000 names, whichever is
/// lower — a choice left to the provider).
pub const TOP_DOMAIN_PERCENT: u64 = 10;

/// One field of a section.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Field {
    /// What the template asks.
    pub label: String,
    /// The answer from the registry; `None`: to be completed by the provider.
    pub value: Option<String>,
}

/// A table inside a section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Grid {
    /// Its title.
    pub title: String,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of cells.
    pub rows: Vec<Vec<String>>,
}

/// One section of the template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Section {
    /// The template's numbering (`2.3`).
    pub number: String,
    /// The template's title.
    pub title: String,
    /// Its fields.
    pub fields: Vec<Field>,
    /// Its tables.
    pub tables: Vec<Grid>,
}

/// A crawled domain name with its share of the crawled content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Domain {
    /// The host name, as recorded in the URLs.
    pub host: String,
    /// Records from it.
    pub records: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Share of the crawled bytes counted by host, in basis points (1/100 %).
    pub share_bp: u64,
}

/// The filled template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Which template.
    pub template: &'static str,
    /// The model.
    pub model: String,
    /// Its sections, in the template's order.
    pub sections: Vec<Section>,
    /// The top domain names by share of crawled content.
    pub top_domains: Vec<Domain>,
    /// Labels of the fields the provider must complete.
    pub to_be_completed: Vec<String>,
}

fn filled(label: &str, value: impl Into<String>) -> Field {
    Field {
        label: label.into(),
        value: Some(value.into()),
    }
}

fn open(label: &str) -> Field {
    Field {
        label: label.into(),
        value: None,
    }
}

fn section(number: &str, title: &str, fields: Vec<Field>, tables: Vec<Grid>) -> Section {
    Section {
        number: number.into(),
        title: title.into(),
        fields,
        tables,
    }
}

/// Content of one source over the model's datasets (saturating sums).
#[derive(Clone, Debug, Default)]
struct Content {
    records: u64,
    bytes: u64,
    datasets: BTreeSet<String>,
}

/// The top `TOP_DOMAIN_PERCENT` % of `hosts` (host → (records, bytes)) by bytes, at least
/// one when there are any; shares of `total` bytes in basis points.
pub fn top_domains(hosts: &BTreeMap<String, (u64, u64)>, total: u64) -> Vec<Domain> {
    let mut all: Vec<(&String, &(u64, u64))> = hosts.iter().collect();
    all.sort_by(|a, b| b.1.1.cmp(&a.1.1).then_with(|| a.0.cmp(b.0)));
    let n = hosts.len() as u64;
    let keep = (n * TOP_DOMAIN_PERCENT).div_ceil(100).max(u64::from(n > 0));
    all.into_iter()
        .take(usize::try_from(keep).unwrap_or(usize::MAX))
        .map(|(h, (r, b))| Domain {
            host: h.clone(),
            records: *r,
            bytes: *b,
            share_bp: if total == 0 {
                0
            } else {
                u64::try_from(u128::from(*b) * 10_000 / u128::from(total)).unwrap_or(0)
            },
        })
        .collect()
}

/// `bp` basis points as a percentage with two decimals.
pub fn percent(bp: u64) -> String {
    format!("{}.{:02} %", bp / 100, bp % 100)
}

/// Builds the summary of `model` from the registry; an unknown model is an error naming
/// the nearest known one.
pub fn build(reg: &dyn Registry, model: &str) -> Result<Summary> {
    let runs = reg.training_runs()?;
    let Some(run) = runs.iter().find(|r| r.model == model).cloned() else {
        return Err(suggest::unknown(
            "MODEL",
            "model",
            model,
            runs.iter().map(|r| r.model.as_str()),
            "record runs with train or apply",
        ));
    };
    let kinds: BTreeMap<String, SourceKind> = reg.source_kinds()?.into_iter().collect();
    let names: BTreeMap<String, String> =
        reg.sources()?.into_iter().map(|s| (s.id, s.name)).collect();
    let matcher = crate::attribute::SourceMatcher::new(&reg.sources()?);
    // The versions trained on, their content per source, hosts and formats.
    let mut infos: Vec<DatasetInfo> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    let mut per_source: BTreeMap<Option<String>, Content> = BTreeMap::new();
    let mut hosts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut unnamed = (0u64, 0u64);
    let mut crawled_versions: BTreeSet<String> = BTreeSet::new();
    let mut formats: BTreeMap<String, u64> = BTreeMap::new();
    for d in &run.datasets {
        let Some(info) = reg.dataset(d)?.filter(|i| i.retracted.is_none()) else {
            missing.push(d.to_string());
            continue;
        };
        for u in reg.dataset_usage(d)? {
            add_usage(&mut per_source, &u, &d.to_string());
        }
        if let Some(h) = reg.dataset_hosts(d)? {
            for (host, records, bytes, _) in h.hosts {
                let crawled = host_is_crawled(&host, &kinds, &matcher);
                if host.is_empty() {
                    unnamed.0 = unnamed.0.saturating_add(records);
                    unnamed.1 = unnamed.1.saturating_add(bytes);
                } else if crawled {
                    crawled_versions.insert(d.to_string());
                    let e = hosts.entry(host).or_default();
                    e.0 = e.0.saturating_add(records);
                    e.1 = e.1.saturating_add(bytes);
                }
            }
            unnamed.0 = unnamed.0.saturating_add(h.unmeasured.1);
            unnamed.1 = unnamed.1.saturating_add(h.unmeasured.2);
        }
        for m in reg.dataset_members(d)? {
            *formats.entry(m.shard.format).or_default() += 1;
        }
        infos.push(info);
    }
    let mut s = Summary {
        template: TEMPLATE,
        model: run.model.clone(),
        sections: Vec::new(),
        top_domains: Vec::new(),
        to_be_completed: Vec::new(),
    };
    s.sections.push(general(&run, &infos, &missing, &formats));
    s.sections
        .extend(sources(reg, &run, &kinds, &names, &per_source)?);
    let total: u64 = hosts.values().fold(0u64, |t, (_, b)| t.saturating_add(*b));
    s.top_domains = top_domains(&hosts, total);
    s.sections.push(crawled(
        reg,
        &kinds,
        &per_source,
        &infos,
        &Crawled {
            top: &s.top_domains,
            hosts: hosts.len(),
            unnamed,
            versions: &crawled_versions,
        },
    )?);
    s.sections.push(processing(reg, &run)?);
    s.to_be_completed = s
        .sections
        .iter()
        .flat_map(|sec| {
            sec.fields
                .iter()
                .filter(|f| f.value.is_none())
                .map(move |f| format!("{} {}", sec.number, f.label))
        })
        .collect();
    // Sections 2.x are emitted in the template's order: sort by number.
    s.sections.sort_by(|a, b| a.number.cmp(&b.number));
    Ok(s)
}

fn add_usage(per_source: &mut BTreeMap<Option<String>, Content>, u: &SourceUsage, d: &str) {
    let c = per_source.entry(u.source.clone()).or_default();
    c.records = c.records.saturating_add(u.records);
    c.bytes = c.bytes.saturating_add(u.bytes);
    c.datasets.insert(d.to_string());
}

/// Whether a host's content counts as crawled: its source is declared `crawled`, or it
/// belongs to no source, or its source has no kind (content of a source declared licensed,
/// public, user, synthetic or other was not scraped).
fn host_is_crawled(
    host: &str,
    kinds: &BTreeMap<String, SourceKind>,
    m: &crate::attribute::SourceMatcher,
) -> bool {
    match m.source_of_host(host) {
        Some(i) => kinds
            .get(&m.ids()[i])
            .is_none_or(|k| *k == SourceKind::Crawled),
        None => true,
    }
}

fn general(
    run: &TrainingRun,
    infos: &[DatasetInfo],
    missing: &[String],
    formats: &BTreeMap<String, u64>,
) -> Section {
    let records = infos.iter().fold(0u64, |t, i| t.saturating_add(i.records));
    let bytes = infos.iter().fold(0u64, |t, i| t.saturating_add(i.bytes));
    let latest = infos.iter().map(|i| i.collected).max();
    let mut fields = vec![
        open("Provider name and contact details"),
        filled(
            "Training organisation as recorded",
            format!("{} (training run dated {})", run.org, run.date),
        ),
        filled("Versioned model name", run.model.clone()),
        open("Model dependencies (the general-purpose model this one modifies, if any)"),
        open("Date of placement of the model on the Union market"),
        open("Modalities of the training data (text, image, audio, video, other)"),
        filled(
            "File formats recorded (shards per format)",
            formats
                .iter()
                .map(|(f, n)| format!("{f} ({n})"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        filled(
            "Training data size as registered",
            format!(
                "{records} records, {bytes} bytes in {} dataset version(s)",
                infos.len()
            ),
        ),
        open("Size per modality in the template's ranges (tokens, images, hours)"),
        open("Types of content per modality"),
        match latest {
            Some(d) => filled("Latest date of data collection recorded", d.to_string()),
            None => open("Latest date of data collection"),
        },
    ];
    if !missing.is_empty() {
        fields.push(filled(
            "Datasets trained on that the registry does not hold (not registered or retracted)",
            missing.join(", "),
        ));
    }
    let mut grid = Grid {
        title: "Dataset versions trained on".into(),
        columns: ["dataset", "collected", "records", "bytes"]
            .map(String::from)
            .into(),
        rows: Vec::new(),
    };
    for i in infos {
        grid.rows.push(vec![
            i.dataset.to_string(),
            i.collected.to_string(),
            i.records.to_string(),
            i.bytes.to_string(),
        ]);
    }
    section("1", "General information", fields, vec![grid])
}

/// Sections 2.1, 2.2, 2.4, 2.5 and 2.6: the sources of each kind.
fn sources(
    reg: &dyn Registry,
    run: &TrainingRun,
    kinds: &BTreeMap<String, SourceKind>,
    names: &BTreeMap<String, String>,
    per_source: &BTreeMap<Option<String>, Content>,
) -> Result<Vec<Section>> {
    let grants = reg.grants()?;
    let of_kind = |k: Option<SourceKind>| -> Vec<(&String, &Content)> {
        per_source
            .iter()
            .filter_map(|(s, c)| s.as_ref().map(|s| (s, c)))
            .filter(|(s, _)| kinds.get(*s).copied() == k)
            .collect()
    };
    let grid = |title: &str, rows: &[(&String, &Content)], licence: bool| -> Grid {
        let mut cols = vec!["source", "name", "records", "bytes", "datasets"];
        if licence {
            cols.push("grants (licence)");
        }
        Grid {
            title: title.into(),
            columns: cols.into_iter().map(String::from).collect(),
            rows: rows
                .iter()
                .map(|(s, c)| {
                    let mut row = vec![
                        (*s).clone(),
                        names.get(*s).cloned().unwrap_or_default(),
                        c.records.to_string(),
                        c.bytes.to_string(),
                        c.datasets.iter().cloned().collect::<Vec<_>>().join(", "),
                    ];
                    if licence {
                        row.push(
                            grants
                                .iter()
                                .filter(|g| &g.source == *s && g.covers(&run.org, run.date))
                                .map(|g| format!("{} ({})", g.id, g.licence))
                                .collect::<Vec<_>>()
                                .join(", "),
                        );
                    }
                    row
                })
                .collect(),
        }
    };
    let listed = |rows: &[(&String, &Content)], what: &str| -> Field {
        if rows.is_empty() {
            filled(what, "none recorded in the registry")
        } else {
            filled(what, format!("yes: {} source(s), listed below", rows.len()))
        }
    };
    let public = of_kind(Some(SourceKind::PublicDataset));
    let licensed = of_kind(Some(SourceKind::Licensed));
    let user = of_kind(Some(SourceKind::User));
    let synthetic = of_kind(Some(SourceKind::Synthetic));
    let other = of_kind(Some(SourceKind::Other));
    let unclassified = of_kind(None);
    let unattributed = per_source.get(&None);
    let mut out = vec![
        section(
            "2.1",
            "Publicly available datasets",
            vec![
                listed(&public, "Publicly available datasets used"),
                open("Links to the large publicly available datasets"),
            ],
            vec![grid("Public dataset sources", &public, false)],
        ),
        section(
            "2.2",
            "Private non-publicly available datasets obtained from third parties",
            vec![
                listed(
                    &licensed,
                    "Datasets commercially licensed by rightholders or their representatives",
                ),
                open("Private datasets obtained from other third parties"),
            ],
            vec![grid("Licensed sources", &licensed, true)],
        ),
        section(
            "2.4",
            "User data",
            vec![
                listed(&user, "Data from users of the provider's services"),
                open("Which services, and whether the users' data was collected with consent"),
            ],
            vec![grid("User data sources", &user, false)],
        ),
        section(
            "2.5",
            "Synthetic data",
            vec![
                listed(&synthetic, "Synthetic data used"),
                open("Models that generated it"),
            ],
            vec![grid("Synthetic data sources", &synthetic, false)],
        ),
    ];
    let mut fields = vec![listed(&other, "Other sources of data")];
    if !unclassified.is_empty() {
        fields.push(open(&format!(
            "Category of the sources with no declared kind ({})",
            unclassified
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if let Some(u) = unattributed {
        fields.push(filled(
            "Content attributed to no source (unknown provenance)",
            format!("{} records, {} bytes", u.records, u.bytes),
        ));
    }
    let mut tables = vec![grid("Other sources", &other, false)];
    if !unclassified.is_empty() {
        tables.push(grid("Sources with no declared kind", &unclassified, false));
    }
    out.push(section("2.6", "Other sources of data", fields, tables));
    Ok(out)
}

/// What the host counts say about crawled content.
struct Crawled<'a> {
    /// The top domain names.
    top: &'a [Domain],
    /// Hosts with crawled content.
    hosts: usize,
    /// Records and bytes not counted by host name.
    unnamed: (u64, u64),
    /// Versions holding crawled hosts.
    versions: &'a BTreeSet<String>,
}

/// Section 2.3: crawled and scraped data.
fn crawled(
    reg: &dyn Registry,
    kinds: &BTreeMap<String, SourceKind>,
    per_source: &BTreeMap<Option<String>, Content>,
    infos: &[DatasetInfo],
    c: &Crawled<'_>,
) -> Result<Section> {
    let (top, hosts, unnamed, crawled_versions) = (c.top, c.hosts, c.unnamed, c.versions);
    let crawlers = reg.crawlers()?;
    let crawled_sources: BTreeSet<&String> = per_source
        .keys()
        .flatten()
        .filter(|s| kinds.get(*s) == Some(&SourceKind::Crawled))
        .collect();
    let period = {
        // The versions holding crawled content: a crawled host, or a crawled source.
        let dates: Vec<Date> = infos
            .iter()
            .filter(|i| {
                crawled_versions.contains(&i.dataset.to_string())
                    || crawled_sources.iter().any(|s| {
                        per_source[&Some((*s).clone())]
                            .datasets
                            .contains(&i.dataset.to_string())
                    })
            })
            .map(|i| i.collected)
            .collect();
        match (dates.iter().min(), dates.iter().max()) {
            (Some(a), Some(b)) => filled(
                "Period of data collection (collection dates of the versions trained on)",
                format!("{a} to {b}"),
            ),
            _ => open("Period of data collection"),
        }
    };
    let mut fields = vec![
        if crawlers.is_empty() {
            open("Crawlers used (name, user-agent)")
        } else {
            filled(
                "Crawlers used (name, user-agent)",
                crawlers
                    .iter()
                    .map(|c| format!("{} ({})", c.id, c.user_agents.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        },
        open("Purposes and behaviour of the crawlers (e.g. respect of paywalls, login walls)"),
        period,
        open("Types of content crawled"),
        filled(
            "Domain names counted",
            format!(
                "{hosts} host name(s) with crawled content; the top {TOP_DOMAIN_PERCENT} % by bytes are listed below"
            ),
        ),
    ];
    if unnamed.0 > 0 {
        fields.push(filled(
            "Content not counted by host name",
            format!(
                "{} records, {} bytes (hosts past each shard's top 64, or shards whose hosts were not read)",
                unnamed.0, unnamed.1
            ),
        ));
    }
    let grid = Grid {
        title: format!("Top {TOP_DOMAIN_PERCENT} % of domain names by size of content"),
        columns: ["domain", "records", "bytes", "share"]
            .map(String::from)
            .into(),
        rows: top
            .iter()
            .map(|d| {
                vec![
                    d.host.clone(),
                    d.records.to_string(),
                    d.bytes.to_string(),
                    percent(d.share_bp),
                ]
            })
            .collect(),
    };
    Ok(section(
        "2.3",
        "Data crawled and scraped from online sources",
        fields,
        vec![grid],
    ))
}

/// Section 3: respect of reservations of rights, removal of illegal content.
fn processing(reg: &dyn Registry, run: &TrainingRun) -> Result<Section> {
    let reservations = reg.optouts()?;
    let mut by_protocol: BTreeMap<&str, (u64, BTreeSet<&str>)> = BTreeMap::new();
    for r in &reservations {
        let e = by_protocol.entry(r.protocol.title()).or_default();
        e.0 += 1;
        e.1.insert(r.host.as_str());
    }
    let agents = rights::agents(&reg.crawlers()?);
    let report = report::build(
        reg,
        &Filter {
            model: Some(run.model.clone()),
            ..Filter::default()
        },
        Rules::default(),
    )?;
    let count = |v: Verdict| {
        report
            .findings
            .iter()
            .filter(|f| f.verdict == v)
            .fold((0u64, 0u64), |(n, r), f| {
                (n + 1, r.saturating_add(f.records))
            })
    };
    let mut fields = vec![open(
        "Measures to identify and comply with reservations of rights (opt-out policy)",
    )];
    if reservations.is_empty() {
        fields.push(filled(
            "Reservations recorded in the registry",
            "none: no opt-out evidence was imported (provtrack optout import)",
        ));
    } else {
        fields.push(filled(
            "Reservation protocols honoured (evidence recorded)",
            by_protocol
                .iter()
                .map(|(p, (n, h))| format!("{p}: {n} reservation(s) of {} host(s)", h.len()))
                .collect::<Vec<_>>()
                .join("; "),
        ));
        fields.push(filled(
            "robots.txt judged for the user-agents",
            agents.join(", "),
        ));
        for (v, what) in [
            (
                Verdict::OptedOut,
                "Content reserved when collected (opted-out)",
            ),
            (
                Verdict::OptedOutLater,
                "Content reserved after collection, before training (opted-out-later)",
            ),
            (
                Verdict::OptOutUndecided,
                "Content whose reservation status the registry cannot decide (opt-out-undecided)",
            ),
        ] {
            let (n, r) = count(v);
            fields.push(filled(what, format!("{r} records in {n} finding(s)")));
        }
    }
    fields.push(filled(
        "C2PA training-mining assertions",
        "not read by provtrack (no C2PA reader is built in)",
    ));
    fields.push(open(
        "Measures to remove illegal content from the training data",
    ));
    fields.push(open("Other relevant information (optional)"));
    Ok(section(
        "3",
        "Relevant data processing aspects",
        fields,
        Vec::new(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_ten_percent_by_bytes_at_least_one() {
        let mut h = BTreeMap::new();
        for (i, b) in [50u64, 10, 30, 5, 1, 1, 1, 1, 0, 1, 100].iter().enumerate() {
            h.insert(format!("h{i}.example"), (1, *b));
        }
        let total: u64 = h.values().map(|v| v.1).sum();
        let top = top_domains(&h, total);
        // 11 hosts: 10 % rounds up to 2.
        assert_eq!(top.len(), 2);
        assert_eq!(top[0].host, "h10.example");
        assert_eq!(top[0].share_bp, 100 * 10_000 / 200);
        assert_eq!(percent(top[1].share_bp), "25.00 %");
        let one: BTreeMap<String, (u64, u64)> = [("a.example".to_string(), (3, 7))].into();
        assert_eq!(top_domains(&one, 7).len(), 1);
        assert!(top_domains(&BTreeMap::new(), 0).is_empty());
    }
}
