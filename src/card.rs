//! Hugging Face dataset cards: the YAML front matter of a README.md (`license`,
//! `license_name`, `pretty_name`, `source_datasets`, `configs`), read into a [`Card`] with
//! every problem located at `FILE:LINE`, and its licence strings mapped to catalogue ids —
//! SPDX ids where the catalogue has them, `LicenseRef-…` (flagged) otherwise.

use std::path::Path;

use serde_yaml_ng::Value;

use crate::error::{Error, Result};
use crate::licence::{Licence, spdx_id};
use crate::registry::{CardAttributed, CardImport, EventDraft, Grant, Registry, Source};
use crate::types::{DatasetRef, Date, check_ident};

/// One licence string of a card and what it maps to.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CardLicence {
    /// As the card wrote it (`cc-by-4.0`).
    pub declared: String,
    /// The licence id registered (`CC-BY-4.0`, `LicenseRef-my-terms`).
    pub licence: String,
    /// True when the id is in the built-in catalogue with known terms.
    pub known: bool,
}

/// A `configs` entry: a name and the file patterns of its splits.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CardConfig {
    /// `config_name` (`default` when absent).
    pub name: String,
    /// `data_files` patterns, relative to the dataset's root.
    pub data_files: Vec<String>,
}

/// What a dataset card declares.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Card {
    /// `pretty_name`.
    pub pretty_name: Option<String>,
    /// `license` (one string or a list), mapped.
    pub licences: Vec<CardLicence>,
    /// `source_datasets` (`original`, `extended|wikipedia`, ...).
    pub source_datasets: Vec<String>,
    /// `configs`.
    pub configs: Vec<CardConfig>,
}

/// Hugging Face licence ids that differ from the SPDX id of a catalogue licence by more
/// than letter case.
const HF_ALIASES: &[(&str, &str)] = &[
    ("odc-by", "ODC-By-1.0"),
    ("odbl", "ODbL-1.0"),
    ("pddl", "PDDL-1.0"),
];

/// Maps a card's licence string: a catalogue SPDX id (any case, or a Hugging Face alias),
/// the catalogue's `unknown` for `unknown`, else `LicenseRef-` and the string with every
/// character outside `[A-Za-z0-9.-]` made `-` (`other` takes `license_name` when given).
pub fn map_licence(declared: &str, license_name: Option<&str>) -> CardLicence {
    let lower = declared.trim().to_ascii_lowercase();
    let hit = HF_ALIASES
        .iter()
        .find(|(hf, _)| *hf == lower)
        .map(|(_, id)| (*id).to_string())
        .or_else(|| {
            crate::licence::SPDX_IDS
                .iter()
                .find(|id| id.eq_ignore_ascii_case(&lower))
                .map(|id| (*id).to_string())
        });
    if let Some(id) = hit {
        return CardLicence {
            declared: declared.to_string(),
            known: spdx_id(&id).is_some(),
            licence: id,
        };
    }
    if lower == "unknown" {
        return CardLicence {
            declared: declared.to_string(),
            licence: "unknown".into(),
            known: false,
        };
    }
    let base = match (lower.as_str(), license_name) {
        ("other", Some(n)) if !n.trim().is_empty() => n.trim(),
        _ => declared.trim(),
    };
    CardLicence {
        declared: declared.to_string(),
        licence: crate::licence::expression_id(base),
        known: false,
    }
}

/// The YAML text of a card and the 0-based line it starts at: the front matter between a
/// first line `---` and the next `---` line, or the whole text for a `.yaml`/`.yml` file.
fn front_matter<'t>(name: &str, text: &'t str, bare: bool) -> Result<(&'t str, usize)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if bare {
        return Ok((text, 0));
    }
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or("");
    if first.trim_end() != "---" {
        return Err(Error::Policy {
            path: name.into(),
            line: 1,
            msg: "no YAML front matter: a dataset card starts with a line '---'".into(),
        });
    }
    let start = first.len();
    let mut offset = start;
    for l in lines {
        if l.trim_end() == "---" {
            return Ok((&text[start..offset], 1));
        }
        offset += l.len();
    }
    Err(Error::Policy {
        path: name.into(),
        line: 1,
        msg: "the YAML front matter opened here is never closed by a line '---'".into(),
    })
}

/// The 1-based line of a top-level `key:` in the YAML, for errors about its value.
fn key_line(yaml: &str, first_line: usize, key: &str) -> usize {
    yaml.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map_or(first_line + 1, |i| first_line + i + 1)
}

/// One string, or a list of strings, under `key`.
fn strings(v: Option<&Value>, bad: &dyn Fn(&str) -> Error) -> Result<Vec<String>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(bad("expected a string or a list of strings")),
            })
            .collect(),
        Some(_) => Err(bad("expected a string or a list of strings")),
    }
}

/// Parses a dataset card; `name` is how errors cite the file, `bare` reads the whole text
/// as YAML (a `.yaml` file) instead of a README's front matter.
pub fn parse(name: &str, text: &str, bare: bool) -> Result<Card> {
    let (yaml, first_line) = front_matter(name, text, bare)?;
    let at = |line: usize, msg: String| Error::Policy {
        path: name.into(),
        line,
        msg,
    };
    let doc: Value = serde_yaml_ng::from_str(yaml).map_err(|e| {
        let line = e
            .location()
            .map_or(first_line + 1, |l| first_line + l.line());
        // The location is in the error's own text too; keep the message, drop the place.
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        at(line, format!("invalid YAML: {msg}"))
    })?;
    let map = match &doc {
        Value::Mapping(m) => m,
        Value::Null => return Err(at(first_line + 1, "the card's YAML is empty".into())),
        _ => {
            return Err(at(
                first_line + 1,
                "the card's YAML is not a mapping of keys".into(),
            ));
        }
    };
    let field = |key: &str| map.get(key);
    let bad = |key: &'static str| {
        move |msg: &str| at(key_line(yaml, first_line, key), format!("{key}: {msg}"))
    };

    let license_name = match field("license_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("license_name")("expected a string")),
    };
    let declared = strings(field("license"), &bad("license"))?;
    if declared.is_empty() {
        return Err(at(
            first_line + 1,
            "the card declares no `license`: nothing to grant".into(),
        ));
    }
    let mut licences: Vec<CardLicence> = Vec::new();
    for d in &declared {
        if d.trim().is_empty() {
            return Err(bad("license")("an empty licence string"));
        }
        let l = map_licence(d, license_name.as_deref());
        if !licences.iter().any(|x| x.licence == l.licence) {
            licences.push(l);
        }
    }
    let pretty_name = match field("pretty_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("pretty_name")("expected a string")),
    };
    let source_datasets = strings(field("source_datasets"), &bad("source_datasets"))?;
    let mut configs = Vec::new();
    match field("configs") {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(items)) => {
            for item in items {
                let Value::Mapping(c) = item else {
                    return Err(bad("configs")("each entry is a mapping"));
                };
                let name = match c.get("config_name") {
                    None => "default".to_string(),
                    Some(Value::String(s)) => s.clone(),
                    Some(_) => return Err(bad("configs")("config_name: expected a string")),
                };
                let mut data_files = Vec::new();
                match c.get("data_files") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(s)) => data_files.push(s.clone()),
                    Some(Value::Sequence(fs)) => {
                        for f in fs {
                            match f {
                                Value::String(s) => data_files.push(s.clone()),
                                Value::Mapping(split) => {
                                    data_files.extend(strings(split.get("path"), &bad("configs"))?)
                                }
                                _ => {
                                    return Err(bad("configs")(
                                        "data_files: expected strings or {split, path} entries",
                                    ));
                                }
                            }
                        }
                    }
                    Some(_) => {
                        return Err(bad("configs")("data_files: expected a string or a list"));
                    }
                }
                configs.push(CardConfig { name, data_files });
            }
        }
        Some(_) => return Err(bad("configs")("expected a list")),
    }
    Ok(Card {
        pretty_name,
        licences,
        source_datasets,
        configs,
    })
}

/// What `import-card` registered and what it flags for a person to look at.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Imported {
    /// The card file.
    pub file: String,
    /// BLAKE3 of its bytes.
    pub blake3: String,
    /// The dataset version.
    pub dataset: DatasetRef,
    /// The source its content is registered under.
    pub source: String,
    /// The card's `pretty_name`.
    pub pretty_name: Option<String>,
    /// The card's licences, mapped.
    pub licences: Vec<CardLicence>,
    /// Grant ids upserted.
    pub grants: Vec<String>,
    /// The card's `source_datasets`, recorded as declared (not registered as sources).
    pub source_datasets: Vec<String>,
    /// The card's `configs`.
    pub configs: Vec<CardConfig>,
    /// Content newly declared the source's.
    pub attributed: CardAttributed,
    /// What a person should check: unknown licences, patterns matching nothing.
    pub flags: Vec<String>,
}

/// How `import-card` was asked to register a card.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The dataset version the card describes.
    pub dataset: DatasetRef,
    /// The source id (default: the dataset's name).
    pub source: Option<String>,
    /// First day of the grants (default: the dataset's collection date).
    pub from: Option<Date>,
    /// Who acts, for the event.
    pub actor: String,
}

/// Reads a dataset card and registers what it declares for a registered dataset version
/// in one transaction with an `import-card` event: its licences as grants to everyone of
/// the source (licences outside the catalogue as `LicenseRef-…` without terms, flagged),
/// and the content of the members its `configs` name (every member without `configs`) that
/// no source claims yet as declared content of the source. Bad input changes nothing.
pub fn import(reg: &mut dyn Registry, path: &Path, opts: &ImportOptions) -> Result<Imported> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| Error::input(&name, "not UTF-8 text"))?;
    let bare = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    let card = parse(&name, &text, bare)?;
    let info = reg.dataset(&opts.dataset)?.ok_or_else(|| {
        Error::input(
            opts.dataset.to_string(),
            "dataset is not registered (scan it first; see `provtrack dataset list`)",
        )
    })?;
    let source_id = opts
        .source
        .clone()
        .unwrap_or_else(|| opts.dataset.name.clone());
    check_ident("source", &source_id).map_err(|m| Error::input("--source", m))?;
    let from = opts.from.unwrap_or(info.collected);
    let mut flags = Vec::new();

    let builtin: std::collections::HashSet<String> = crate::licence::builtins()
        .into_iter()
        .map(|l| l.id)
        .collect();
    let declared: std::collections::HashSet<String> =
        reg.licences()?.into_iter().map(|l| l.id).collect();
    let mut licences = Vec::new();
    for l in &card.licences {
        if l.licence == "unknown" {
            flags.push(format!(
                "licence '{}' is unknown: every use of {source_id} content is unspecified until a grant says more",
                l.declared
            ));
        } else if !l.known {
            flags.push(format!(
                "licence '{}' is not a catalogue SPDX id: registered as {} without terms (every use unspecified); declare its terms in a policy file",
                l.declared, l.licence
            ));
            if !builtin.contains(&l.licence) && !declared.contains(&l.licence) {
                licences.push(Licence {
                    id: l.licence.clone(),
                    name: format!("{} (from the dataset card {name})", l.declared),
                    allow: Vec::new(),
                    deny: Vec::new(),
                    conditions: Vec::new(),
                    builtin: false,
                });
            }
        }
    }
    let grants: Vec<Grant> = card
        .licences
        .iter()
        .map(|l| Grant {
            id: format!("{source_id}:{}:*:{from}", l.licence),
            source: source_id.clone(),
            licence: l.licence.clone(),
            grantee: "*".into(),
            from,
            until: None,
            cap: None,
        })
        .collect();
    if card.licences.len() > 1 {
        flags.push(format!(
            "{} licences are declared: each is registered as a grant of its own, so a use any of them permits is permitted",
            card.licences.len()
        ));
    }

    let patterns: Vec<&String> = card.configs.iter().flat_map(|c| &c.data_files).collect();
    let paths = if patterns.is_empty() {
        None
    } else {
        let members = reg.dataset_members(&opts.dataset)?;
        let mut chosen = std::collections::BTreeSet::new();
        for p in patterns {
            let glob = globset::GlobBuilder::new(p.trim_start_matches("./"))
                .literal_separator(true)
                .build()
                .map_err(|e| Error::input(&name, format!("configs: data_files '{p}': {e}")))?
                .compile_matcher();
            let before = chosen.len();
            for m in &members {
                if glob.is_match(String::from_utf8_lossy(&m.path).as_ref()) {
                    chosen.insert(m.path.clone());
                }
            }
            if chosen.len() == before {
                flags.push(format!(
                    "configs: data_files '{p}' matches no file of {}",
                    opts.dataset
                ));
            }
        }
        Some(chosen.into_iter().collect())
    };
    for s in &card.source_datasets {
        if s != "original" {
            flags.push(format!(
                "source_datasets '{s}' is recorded as declared, not registered: attribute its content with a policy file or scan --derived-from"
            ));
        }
    }

    let mut imported = Imported {
        file: name.clone(),
        blake3: blake3::hash(text.as_bytes()).to_hex().to_string(),
        dataset: opts.dataset.clone(),
        source: source_id.clone(),
        pretty_name: card.pretty_name.clone(),
        licences: card.licences.clone(),
        grants: grants.iter().map(|g| g.id.clone()).collect(),
        source_datasets: card.source_datasets.clone(),
        configs: card.configs.clone(),
        attributed: CardAttributed::default(),
        flags,
    };
    let import = CardImport {
        dataset: opts.dataset.clone(),
        source: Source {
            id: source_id.clone(),
            name: card
                .pretty_name
                .clone()
                .unwrap_or_else(|| source_id.clone()),
            domains: Vec::new(),
        },
        licences,
        grants,
        paths,
    };
    let event = EventDraft {
        actor: opts.actor.clone(),
        kind: "import-card".into(),
        payload: serde_json::to_value(&imported).unwrap_or_default(),
    };
    imported.attributed = reg.import_card(&import, &event)?;
    Ok(imported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licence_strings_map_to_spdx_ids_or_licence_refs() {
        let m = |s: &str| map_licence(s, None);
        assert_eq!(m("cc-by-4.0").licence, "CC-BY-4.0");
        assert!(m("cc-by-4.0").known);
        assert_eq!(m("odbl").licence, "ODbL-1.0");
        assert_eq!(m("MIT").licence, "MIT");
        assert_eq!(m("unknown").licence, "unknown");
        assert!(!m("unknown").known);
        assert_eq!(m("my custom terms").licence, "LicenseRef-my-custom-terms");
        assert!(!m("gpl-3.0").known);
        assert_eq!(
            map_licence("other", Some("acme-data-v2")).licence,
            "LicenseRef-acme-data-v2"
        );
    }

    #[test]
    fn cards_parse_and_errors_name_the_line() {
        let card = "---\npretty_name: Tweets\nlicense:\n- cc-by-4.0\n- weird\nsource_datasets:\n- original\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n    path: data/*.jsonl\n---\n# Tweets\n";
        let c = parse("README.md", card, false).unwrap();
        assert_eq!(c.pretty_name.as_deref(), Some("Tweets"));
        assert_eq!(c.licences.len(), 2);
        assert_eq!(c.configs[0].data_files, ["data/*.jsonl"]);
        let err = |t: &str| parse("README.md", t, false).unwrap_err().to_string();
        assert!(err("# no front matter\n").starts_with("README.md:1:"));
        assert!(err("---\nlicense: mit\n").starts_with("README.md:1:"));
        assert!(
            err("---\npretty_name: x\nlicense: {a: 1}\n---\n").starts_with("README.md:3:"),
            "{}",
            err("---\npretty_name: x\nlicense: {a: 1}\n---\n")
        );
        let e = err("---\npretty_name: x\nlicense: [mit\n---\n");
        assert!(e.starts_with("README.md:"), "{e}");
        assert!(err("---\npretty_name: x\n---\n").contains("no `license`"));
    }
}
