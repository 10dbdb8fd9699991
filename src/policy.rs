//! The policy file: TOML deserialised with source positions and unknown keys rejected, then
//! validated against itself and the registry into a [`Policy`]. Every problem is reported as
//! `FILE:LINE: message`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, Result};
use crate::licence::{AI_TRAINING, DELETE_ON_END, Licence};
use crate::policy_rights::{self as rights, RawCrawler};
use crate::registry::{
    Application, Cap, Disclosure, EventDraft, Grant, Policy, Registry, Source, Subject, TrainingRun,
};
pub use crate::types::normalise_domain;
use crate::types::{DatasetRef, Date, Period, check_ident, check_use};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    source: Vec<Spanned<RawSource>>,
    #[serde(default, alias = "license")]
    licence: Vec<Spanned<RawLicence>>,
    #[serde(default)]
    grant: Vec<Spanned<RawGrant>>,
    #[serde(default)]
    training: Vec<Spanned<RawTraining>>,
    #[serde(default)]
    application: Vec<Spanned<RawApplication>>,
    #[serde(default)]
    disclosure: Vec<Spanned<RawDisclosure>>,
    #[serde(default, rename = "use")]
    uses: Vec<Spanned<RawUse>>,
    #[serde(default)]
    crawler: Vec<Spanned<RawCrawler>>,
}

/// A custom use word the policy declares (`[[use]] id = "fine-tuning"`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUse {
    id: S<String>,
    #[allow(dead_code)] // documentation for the reader of the file; not stored
    description: Option<String>,
}

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: S<String>,
    name: Option<String>,
    #[serde(default)]
    domains: Vec<S<String>>,
    kind: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLicence {
    id: S<String>,
    name: Option<String>,
    #[serde(default)]
    allow: Vec<S<String>>,
    #[serde(default)]
    deny: Vec<S<String>>,
    #[serde(default)]
    conditions: Vec<S<String>>,
    /// The agreement requires deleting the content when a grant under it ends.
    #[serde(default)]
    delete_on_end: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCap {
    records: S<i64>,
    per: S<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    id: Option<S<String>>,
    source: S<String>,
    licence: S<String>,
    grantee: S<String>,
    from: S<toml::Value>,
    until: Option<S<toml::Value>>,
    cap: Option<S<RawCap>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTraining {
    model: S<String>,
    org: S<String>,
    date: S<toml::Value>,
    datasets: S<Vec<S<String>>>,
    #[serde(default)]
    uses: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApplication {
    id: S<String>,
    org: S<String>,
    #[serde(default)]
    models: Vec<S<String>>,
    #[serde(default)]
    uses: Vec<S<String>>,
    #[serde(default = "yes")]
    disclosed: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisclosure {
    id: Option<S<String>>,
    dataset: Option<S<String>>,
    source: Option<S<String>>,
    recipient: S<String>,
    kind: S<String>,
    date: S<toml::Value>,
    org: Option<S<String>>,
}

/// What the registry already holds that a policy file may refer to.
#[derive(Clone, Debug, Default)]
pub struct Known {
    /// Source id → its domains.
    pub sources: HashMap<String, Vec<String>>,
    /// Licence ids (declared and built-in).
    pub licences: HashSet<String>,
    /// Model names of recorded training runs.
    pub models: HashSet<String>,
    /// The use vocabulary: the built-in words and every use the registry's licences and
    /// training runs already name.
    pub uses: HashSet<String>,
}

/// Counts of what one `apply` upserted.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplyStats {
    /// The file applied.
    pub file: String,
    /// BLAKE3 of its bytes.
    pub blake3: String,
    /// Sources.
    pub sources: usize,
    /// Licences.
    pub licences: usize,
    /// Grants.
    pub grants: usize,
    /// Training runs.
    pub training: usize,
    /// Applications.
    pub applications: usize,
    /// Disclosures.
    pub disclosures: usize,
}

/// What the registry holds that policy files may refer to.
pub fn known(reg: &dyn Registry) -> Result<Known> {
    let mut licences: HashSet<String> = crate::licence::builtins()
        .into_iter()
        .map(|l| l.id)
        .collect();
    let declared = reg.licences()?;
    licences.extend(declared.iter().map(|l| l.id.clone()));
    let runs = reg.training_runs()?;
    let mut uses: HashSet<String> = crate::licence::Catalogue::with_overrides(declared)
        .vocabulary()
        .into_iter()
        .map(String::from)
        .collect();
    uses.extend(runs.iter().flat_map(|r| r.uses.iter().cloned()));
    Ok(Known {
        uses,
        sources: reg
            .sources()?
            .into_iter()
            .map(|s| (s.id, s.domains))
            .collect(),
        licences,
        models: runs.into_iter().map(|t| t.model).collect(),
    })
}

/// Validates a policy file against the registry and upserts it in one transaction that
/// also appends an `apply` event. A bad file changes nothing.
pub fn apply_file(reg: &mut dyn Registry, path: &Path, actor: &str) -> Result<ApplyStats> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::input(path.display().to_string(), "not UTF-8 text"))?;
    let policy = parse(&path.display().to_string(), &text, &known(&*reg)?)?;
    let stats = ApplyStats {
        file: path.display().to_string(),
        blake3: blake3::hash(text.as_bytes()).to_hex().to_string(),
        sources: policy.sources.len(),
        licences: policy.licences.len(),
        grants: policy.grants.len(),
        training: policy.training.len(),
        applications: policy.applications.len(),
        disclosures: policy.disclosures.len(),
    };
    let event = EventDraft {
        actor: actor.to_string(),
        kind: "apply".into(),
        // The counts and the file's hash, and what it declared, canonical: the event says
        // what the apply changed, not only that it ran.
        payload: {
            let mut p = serde_json::to_value(&stats).unwrap_or_default();
            p["policy"] = serde_json::to_value(&policy).unwrap_or_default();
            p
        },
    };
    reg.apply_policy(&policy, &event)?;
    Ok(stats)
}

/// Reads, parses and validates a policy file.
pub fn load(path: &Path, known: &Known) -> Result<Policy> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse(&path.display().to_string(), &text, known)
}

/// Parses and validates policy text; `name` is how errors cite the file.
pub fn parse(name: &str, text: &str, known: &Known) -> Result<Policy> {
    let raw: RawPolicy = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
        Error::Policy {
            path: name.to_string(),
            line,
            msg: e.message().trim().replace('\n', " "),
        }
    })?;
    let mut v = Validator {
        name,
        text,
        known,
        vocabulary: known.uses.clone(),
    };
    for u in &raw.uses {
        let id = &u.get_ref().id;
        if let Err(m) = check_use(id.get_ref()) {
            return v.err(id.span(), m);
        }
        v.vocabulary.insert(id.get_ref().clone());
    }
    v.validate(raw)
}

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

struct Validator<'a> {
    name: &'a str,
    text: &'a str,
    known: &'a Known,
    /// The known uses and the file's `[[use]]` words.
    vocabulary: HashSet<String>,
}

impl Validator<'_> {
    fn err<T>(&self, span: std::ops::Range<usize>, msg: impl Into<String>) -> Result<T> {
        Err(Error::Policy {
            path: self.name.to_string(),
            line: line_of(self.text, span.start),
            msg: msg.into(),
        })
    }

    fn ident(&self, kind: &str, v: &S<String>) -> Result<String> {
        match check_ident(kind, v.get_ref()) {
            Ok(()) => Ok(v.get_ref().clone()),
            Err(m) => self.err(v.span(), m),
        }
    }

    fn date(&self, field: &str, v: &S<toml::Value>) -> Result<Date> {
        let s = match v.get_ref() {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) => d.to_string(),
            other => {
                return self.err(
                    v.span(),
                    format!(
                        "{field}: expected a date \"YYYY-MM-DD\", found {}",
                        other.type_str()
                    ),
                );
            }
        };
        s.parse()
            .or_else(|m: String| self.err(v.span(), format!("{field}: {m}")))
    }

    /// Validated use words (`vocabulary`: each must be a known use or a `[[use]]` of the
    /// file; conditions are free words).
    fn uses(&self, list: &[S<String>], allow_star: bool, vocabulary: bool) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for u in list {
            let w = u.get_ref();
            if allow_star && w == "*" {
                // every use
            } else if let Err(m) = check_use(w) {
                return self.err(u.span(), m);
            } else if vocabulary && !self.vocabulary.contains(w) {
                let msg = crate::suggest::unknown(
                    "use",
                    "use",
                    w,
                    self.vocabulary.iter().map(String::as_str),
                    "",
                )
                .to_string();
                let msg = msg.trim_start_matches("use: ");
                return self.err(
                    u.span(),
                    format!("{msg} (declare a custom use with [[use]] id = \"{w}\")"),
                );
            }
            if !out.contains(w) {
                out.push(w.clone());
            }
        }
        Ok(out)
    }

    fn validate(&self, raw: RawPolicy) -> Result<Policy> {
        let mut policy = Policy::default();

        // Sources, and which source owns each domain.
        let mut domain_owner: HashMap<String, String> = HashMap::new();
        for (id, domains) in &self.known.sources {
            for d in domains {
                domain_owner.insert(d.clone(), id.clone());
            }
        }
        let mut seen = HashSet::new();
        let redefined: HashSet<&str> = raw
            .source
            .iter()
            .map(|s| s.get_ref().id.get_ref().as_str())
            .collect();
        domain_owner.retain(|_, owner| !redefined.contains(owner.as_str()));
        for s in &raw.source {
            let span = s.span();
            let s = s.get_ref();
            let id = self.ident("source id", &s.id)?;
            if !seen.insert(id.clone()) {
                return self.err(span, format!("source '{id}' is declared twice"));
            }
            let mut domains = Vec::new();
            for d in &s.domains {
                let dom = normalise_domain(d.get_ref())
                    .or_else(|m| self.err(d.span(), format!("source '{id}': {m}")))?;
                if let Some(owner) = domain_owner.get(&dom)
                    && owner != &id
                {
                    return self.err(
                        d.span(),
                        format!("domain '{dom}' already belongs to source '{owner}'"),
                    );
                }
                domain_owner.insert(dom.clone(), id.clone());
                if !domains.contains(&dom) {
                    domains.push(dom);
                }
            }
            domains.sort();
            if let Some(k) = &s.kind {
                let kind = rights::source_kind(&id, k).or_else(|(at, m)| self.err(at, m))?;
                policy.source_kinds.push((id.clone(), kind));
            }
            policy.sources.push(Source {
                name: s.name.clone().unwrap_or_else(|| id.clone()),
                id,
                domains,
            });
        }
        let source_known = |id: &str| seen.contains(id) || self.known.sources.contains_key(id);

        // Licences.
        let mut licence_ids = HashSet::new();
        for l in &raw.licence {
            let span = l.span();
            let l = l.get_ref();
            let id = self.ident("licence id", &l.id)?;
            if !licence_ids.insert(id.clone()) {
                return self.err(span, format!("licence '{id}' is declared twice"));
            }
            let mut conditions = self.uses(&l.conditions, false, false)?;
            if l.delete_on_end && !conditions.iter().any(|c| c == DELETE_ON_END) {
                conditions.push(DELETE_ON_END.to_string());
            }
            policy.licences.push(Licence {
                name: l.name.clone().unwrap_or_else(|| id.clone()),
                allow: self.uses(&l.allow, true, true)?,
                deny: self.uses(&l.deny, true, true)?,
                conditions,
                builtin: false,
                id,
            });
        }

        // Grants.
        let mut grant_ids = HashSet::new();
        for g in &raw.grant {
            let span = g.span();
            let g = g.get_ref();
            let source = self.ident("source", &g.source)?;
            if !source_known(&source) {
                return self.err(
                    g.source.span(),
                    format!("grant names unknown source '{source}'"),
                );
            }
            let licence = self.ident("licence", &g.licence)?;
            if !licence_ids.contains(&licence) && !self.known.licences.contains(&licence) {
                return self.err(
                    g.licence.span(),
                    format!(
                        "grant names unknown licence '{licence}' (see `provtrack licence list`)"
                    ),
                );
            }
            let grantee = if g.grantee.get_ref() == "*" {
                "*".to_string()
            } else {
                self.ident("grantee", &g.grantee)?
            };
            let from = self.date("from", &g.from)?;
            let until = match &g.until {
                Some(u) => {
                    let d = self.date("until", u)?;
                    if d <= from {
                        return self.err(u.span(), format!("until {d} is not after from {from}"));
                    }
                    Some(d)
                }
                None => None,
            };
            let cap = match &g.cap {
                Some(c) => {
                    let c = c.get_ref();
                    let n = *c.records.get_ref();
                    if n < 0 {
                        return self.err(c.records.span(), "cap records must not be negative");
                    }
                    let per: Period = c
                        .per
                        .get_ref()
                        .parse()
                        .or_else(|m: String| self.err(c.per.span(), m))?;
                    Some(Cap {
                        records: n as u64,
                        per,
                    })
                }
                None => None,
            };
            let id = match &g.id {
                Some(id) => self.ident("grant id", id)?,
                None => format!("{source}:{licence}:{grantee}:{from}"),
            };
            if !grant_ids.insert(id.clone()) {
                return self.err(span, format!("grant '{id}' is declared twice"));
            }
            policy.grants.push(Grant {
                id,
                source,
                licence,
                grantee,
                from,
                until,
                cap,
            });
        }

        // Training runs.
        let mut models = HashSet::new();
        for t in &raw.training {
            let span = t.span();
            let t = t.get_ref();
            let model = self.ident("model", &t.model)?;
            if !models.insert(model.clone()) {
                return self.err(
                    span,
                    format!("training run for model '{model}' is declared twice"),
                );
            }
            let mut datasets = Vec::new();
            if t.datasets.get_ref().is_empty() {
                return self.err(
                    t.datasets.span(),
                    format!("model '{model}': datasets is empty"),
                );
            }
            for d in t.datasets.get_ref() {
                let r: DatasetRef = d
                    .get_ref()
                    .parse()
                    .or_else(|m: String| self.err(d.span(), m))?;
                if !datasets.contains(&r) {
                    datasets.push(r);
                }
            }
            let mut uses = self.uses(&t.uses, false, true)?;
            if !uses.iter().any(|u| u == AI_TRAINING) {
                uses.insert(0, AI_TRAINING.to_string());
            }
            policy.training.push(TrainingRun {
                org: self.ident("org", &t.org)?,
                date: self.date("date", &t.date)?,
                model,
                datasets,
                uses,
            });
        }

        // Applications.
        let mut app_ids = HashSet::new();
        for a in &raw.application {
            let span = a.span();
            let a = a.get_ref();
            let id = self.ident("application id", &a.id)?;
            if !app_ids.insert(id.clone()) {
                return self.err(span, format!("application '{id}' is declared twice"));
            }
            let mut ms = Vec::new();
            for m in &a.models {
                let name = self.ident("model", m)?;
                if !models.contains(&name) && !self.known.models.contains(&name) {
                    return self.err(
                        m.span(),
                        format!("application '{id}' names unknown model '{name}' (declare its [[training]] run)"),
                    );
                }
                if !ms.contains(&name) {
                    ms.push(name);
                }
            }
            policy.applications.push(Application {
                org: self.ident("org", &a.org)?,
                models: ms,
                uses: self.uses(&a.uses, false, true)?,
                disclosed: a.disclosed,
                id,
            });
        }

        // Disclosures.
        let mut disclosure_ids = HashSet::new();
        for d in &raw.disclosure {
            let span = d.span();
            let d = d.get_ref();
            let subject = match (&d.dataset, &d.source) {
                (Some(ds), None) => Subject::Dataset(
                    ds.get_ref()
                        .parse()
                        .or_else(|m: String| self.err(ds.span(), m))?,
                ),
                (None, Some(s)) => {
                    let id = self.ident("source", s)?;
                    if !source_known(&id) {
                        return self
                            .err(s.span(), format!("disclosure names unknown source '{id}'"));
                    }
                    Subject::Source(id)
                }
                _ => return self.err(span, "a disclosure names exactly one of dataset or source"),
            };
            let kind = d.kind.get_ref().clone();
            if !matches!(kind.as_str(), "government" | "partner" | "public") {
                return self.err(
                    d.kind.span(),
                    format!(
                        "invalid disclosure kind '{kind}' (expected government, partner or public)"
                    ),
                );
            }
            let recipient = self.ident("recipient", &d.recipient)?;
            let date = self.date("date", &d.date)?;
            let org = d.org.as_ref().map(|o| self.ident("org", o)).transpose()?;
            let subject_name = match &subject {
                Subject::Dataset(r) => r.to_string(),
                Subject::Source(s) => s.clone(),
            };
            let id = match &d.id {
                Some(id) => self.ident("disclosure id", id)?,
                None => format!("{subject_name}->{recipient}:{date}"),
            };
            if !disclosure_ids.insert(id.clone()) {
                return self.err(span, format!("disclosure '{id}' is declared twice"));
            }
            policy.disclosures.push(Disclosure {
                id,
                subject,
                recipient,
                kind,
                date,
                org,
            });
        }
        policy.crawlers = rights::crawlers(&raw.crawler).or_else(|(at, m)| self.err(at, m))?;
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> Known {
        Known {
            licences: crate::licence::builtins()
                .into_iter()
                .map(|l| l.id)
                .collect(),
            uses: crate::licence::Catalogue::with_overrides(Vec::new())
                .vocabulary()
                .into_iter()
                .map(String::from)
                .collect(),
            ..Known::default()
        }
    }

    #[test]
    fn uses_are_the_vocabulary_or_declared() {
        let run = |uses: &str, decl: &str| {
            format!(
                "{decl}\n[[training]]\nmodel = \"m\"\norg = \"acme\"\ndate = \"2024-01-01\"\ndatasets = [\"d@1\"]\nuses = [{uses}]\n"
            )
        };
        let e = err_of(&run("\"comercial\"", ""));
        assert!(
            e.starts_with("p.toml:7: unknown use 'comercial'; did you mean 'commercial'?"),
            "{e}"
        );
        let p = parse(
            "p.toml",
            &run("\"fine-tuning\"", "[[use]]\nid = \"fine-tuning\""),
            &known(),
        )
        .unwrap();
        assert_eq!(p.training[0].uses, vec!["ai-training", "fine-tuning"]);
        let e = err_of("[[licence]]\nid = \"l\"\nallow = [\"displai\"]\n");
        assert!(
            e.contains("p.toml:3: unknown use 'displai'; did you mean 'display'?"),
            "{e}"
        );
    }

    fn err_of(text: &str) -> String {
        parse("p.toml", text, &known()).unwrap_err().to_string()
    }

    #[test]
    fn the_spec_example_parses() {
        let text = r#"
[[source]]
id = "twitter"
name = "Twitter / X"
domains = ["twitter.com", "x.com", "t.co"]

[[licence]]
id = "twitter-free-api"
allow = ["display", "analytics", "advertising"]
deny = ["ai-training", "government-sharing", "redistribution"]
conditions = ["attribution"]

[[grant]]
source = "twitter"
licence = "twitter-free-api"
grantee = "acme"
from = "2012-01-01"
until = 2023-02-09
cap = { records = 10000, per = "month" }

[[training]]
model = "acme-chat-1"
org = "acme"
date = "2023-03-01"
datasets = ["web-mix@2022"]
uses = ["commercial"]

[[application]]
id = "acme-search"
org = "acme"
models = ["acme-chat-1"]
disclosed = false

[[disclosure]]
dataset = "tw-pull@2022-03"
recipient = "agency-x"
kind = "government"
date = "2022-06-01"
"#;
        let p = parse("p.toml", text, &known()).unwrap();
        assert_eq!(p.sources[0].domains, vec!["t.co", "twitter.com", "x.com"]);
        assert_eq!(p.grants[0].id, "twitter:twitter-free-api:acme:2012-01-01");
        assert_eq!(p.grants[0].until.unwrap().to_string(), "2023-02-09");
        assert_eq!(p.grants[0].cap.unwrap().records, 10000);
        assert_eq!(p.training[0].uses, vec!["ai-training", "commercial"]);
        assert!(!p.applications[0].disclosed);
        assert_eq!(p.disclosures[0].id, "tw-pull@2022-03->agency-x:2022-06-01");
    }

    #[test]
    fn errors_cite_the_line() {
        assert!(err_of("[[source]]\nid = \"a\"\nbogus = 1\n").starts_with("p.toml:3:"));
        assert!(err_of("[[source]]\nid = 5\n").starts_with("p.toml:2:"));
        let e = err_of(
            "[[grant]]\nsource = \"nope\"\nlicence = \"MIT\"\ngrantee = \"*\"\nfrom = \"2020-01-01\"\n",
        );
        assert!(
            e.starts_with("p.toml:2:") && e.contains("unknown source 'nope'"),
            "{e}"
        );
        let e = err_of(
            "[[source]]\nid = \"s\"\n[[grant]]\nsource = \"s\"\nlicence = \"NOPE\"\ngrantee = \"*\"\nfrom = \"2020-01-01\"\n",
        );
        assert!(
            e.starts_with("p.toml:5:") && e.contains("unknown licence 'NOPE'"),
            "{e}"
        );
        let e = err_of(
            "[[source]]\nid = \"s\"\n[[grant]]\nsource = \"s\"\nlicence = \"MIT\"\ngrantee = \"*\"\nfrom = \"2020-02-30\"\n",
        );
        assert!(
            e.starts_with("p.toml:7:") && e.contains("invalid date"),
            "{e}"
        );
        let e = err_of(
            "[[source]]\nid = \"a\"\ndomains = [\"x.com\"]\n[[source]]\nid = \"b\"\ndomains = [\"X.com\"]\n",
        );
        assert!(
            e.starts_with("p.toml:6:") && e.contains("already belongs"),
            "{e}"
        );
        assert!(err_of("x = [").starts_with("p.toml:1:"));
    }

    #[test]
    fn domains_are_normalised() {
        assert_eq!(normalise_domain("Twitter.COM.").unwrap(), "twitter.com");
        assert_eq!(normalise_domain("bücher.de").unwrap(), "xn--bcher-kva.de");
        assert_eq!(normalise_domain("ｘ。com").unwrap(), "x.com");
        assert!(normalise_domain("bü cher.de").is_err());
        assert!(normalise_domain("https://x.com").is_err());
        assert!(normalise_domain("a..b").is_err());
    }
}
