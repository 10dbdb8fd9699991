//! The built-in licence catalogue and the allow/deny test for a use. The catalogue is a
//! triage default, not legal advice; a policy file may override any entry by id.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// The use every training run has.
pub const AI_TRAINING: &str = "ai-training";
/// Needed to share content with a government recipient.
pub const GOVERNMENT_SHARING: &str = "government-sharing";
/// Needed to share content with a partner or the public.
pub const THIRD_PARTY_SHARING: &str = "third-party-sharing";

/// The use a disclosure to a recipient of `kind` needs: `government-sharing` for a
/// government, `third-party-sharing` for a partner or the public.
pub fn sharing_use(kind: &str) -> &'static str {
    if kind == "government" {
        GOVERNMENT_SHARING
    } else {
        THIRD_PARTY_SHARING
    }
}

/// The words findings about collections themselves carry as their use: was the content
/// collected under a grant (`collection`), is it still held where it must be deleted
/// (`retention`).
pub const COLLECTION_USES: &[&str] = &["collection", "retention"];

/// The uses vocabulary of the spec (custom kebab-case words are allowed too).
pub const KNOWN_USES: &[&str] = &[
    "ai-training",
    "commercial",
    "research",
    "redistribution",
    "derivatives",
    "advertising",
    "display",
    "analytics",
    "third-party-sharing",
    "government-sharing",
];

/// The condition a licence carries when its agreement requires deleting the content at the
/// end of a grant (`delete_on_end = true` in a policy): what `retained-after-end` checks.
pub const DELETE_ON_END: &str = "delete-on-end";

/// Ids of the built-in catalogue that are SPDX licence list ids (the others, `proprietary`
/// and `unknown`, are provtrack's own).
pub const SPDX_IDS: &[&str] = &[
    "CC0-1.0",
    "CC-BY-4.0",
    "CC-BY-SA-4.0",
    "CC-BY-NC-4.0",
    "CC-BY-NC-SA-4.0",
    "CC-BY-ND-4.0",
    "ODC-By-1.0",
    "ODbL-1.0",
    "PDDL-1.0",
    "MIT",
    "Apache-2.0",
];

/// The note shown with the catalogue.
pub const CATALOGUE_NOTE: &str = "built-in licence terms are defaults for triage, not legal advice";

/// A set of terms: uses allowed, uses denied, conditions. `*` in a list means every use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Licence {
    /// Licence id (an SPDX id for built-ins).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Uses allowed.
    pub allow: Vec<String>,
    /// Uses denied (deny wins over allow).
    pub deny: Vec<String>,
    /// Conditions attached (attribution, share-alike, non-commercial).
    pub conditions: Vec<String>,
    /// True for catalogue entries not overridden by a policy file.
    pub builtin: bool,
}

/// What a licence says about one use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terms {
    /// Allowed and not denied.
    Allows,
    /// Denied.
    Denies,
    /// Neither allowed nor denied.
    Silent,
}

impl Licence {
    /// What this licence says about `use_`; deny takes precedence over allow.
    pub fn terms(&self, use_: &str) -> Terms {
        let has = |list: &[String]| list.iter().any(|u| u == use_ || u == "*");
        if has(&self.deny) {
            Terms::Denies
        } else if has(&self.allow) {
            Terms::Allows
        } else {
            Terms::Silent
        }
    }

    /// Whether the agreement requires deleting the content when a grant under it ends.
    pub fn delete_on_end(&self) -> bool {
        self.conditions.iter().any(|c| c == DELETE_ON_END)
    }
}

fn lic(id: &str, name: &str, allow: &[&str], deny: &[&str], conditions: &[&str]) -> Licence {
    let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
    Licence {
        id: id.into(),
        name: name.into(),
        allow: v(allow),
        deny: v(deny),
        conditions: v(conditions),
        builtin: true,
    }
}

/// The built-in catalogue, in id order.
pub fn builtins() -> Vec<Licence> {
    const OPEN: &[&str] = &[
        "ai-training",
        "research",
        "redistribution",
        "commercial",
        "derivatives",
        "display",
        "analytics",
        "advertising",
        "third-party-sharing",
        "government-sharing",
    ];
    let open_nc: Vec<&str> = OPEN
        .iter()
        .copied()
        .filter(|u| *u != "commercial")
        .collect();
    let open_nd: Vec<&str> = OPEN
        .iter()
        .copied()
        .filter(|u| *u != "derivatives")
        .collect();
    let mut all = vec![
        lic(
            "CC0-1.0",
            "Creative Commons Zero v1.0 Universal",
            OPEN,
            &[],
            &[],
        ),
        lic(
            "CC-BY-4.0",
            "Creative Commons Attribution 4.0",
            OPEN,
            &[],
            &["attribution"],
        ),
        lic(
            "CC-BY-SA-4.0",
            "Creative Commons Attribution Share Alike 4.0",
            OPEN,
            &[],
            &["attribution", "share-alike"],
        ),
        lic(
            "CC-BY-NC-4.0",
            "Creative Commons Attribution Non Commercial 4.0",
            &open_nc,
            &["commercial"],
            &["attribution", "non-commercial"],
        ),
        lic(
            "CC-BY-NC-SA-4.0",
            "Creative Commons Attribution Non Commercial Share Alike 4.0",
            &open_nc,
            &["commercial"],
            &["attribution", "non-commercial", "share-alike"],
        ),
        lic(
            "CC-BY-ND-4.0",
            "Creative Commons Attribution No Derivatives 4.0",
            &open_nd,
            &["derivatives"],
            &["attribution"],
        ),
        lic(
            "ODC-By-1.0",
            "Open Data Commons Attribution License v1.0",
            OPEN,
            &[],
            &["attribution"],
        ),
        lic(
            "ODbL-1.0",
            "Open Data Commons Open Database License v1.0",
            OPEN,
            &[],
            &["attribution", "share-alike"],
        ),
        lic(
            "PDDL-1.0",
            "Open Data Commons Public Domain Dedication & License 1.0",
            OPEN,
            &[],
            &[],
        ),
        lic("MIT", "MIT License", OPEN, &[], &["attribution"]),
        lic(
            "Apache-2.0",
            "Apache License 2.0",
            OPEN,
            &[],
            &["attribution"],
        ),
        lic(
            "proprietary",
            "Proprietary: denies everything not granted",
            &[],
            &["*"],
            &[],
        ),
        lic("unknown", "Unknown terms", &[], &[], &[]),
    ];
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all
}

/// The licences in force: the built-ins, overridden by id with the registry's own.
#[derive(Clone, Debug)]
pub struct Catalogue {
    by_id: BTreeMap<String, Licence>,
}

impl Catalogue {
    /// The built-ins overridden by `declared` (policy-file licences from the registry).
    pub fn with_overrides(declared: Vec<Licence>) -> Catalogue {
        let mut by_id: BTreeMap<String, Licence> =
            builtins().into_iter().map(|l| (l.id.clone(), l)).collect();
        for l in declared {
            by_id.insert(l.id.clone(), l);
        }
        Catalogue { by_id }
    }

    /// Looks a licence up by id.
    pub fn get(&self, id: &str) -> Option<&Licence> {
        self.by_id.get(id)
    }

    /// Every use this catalogue knows: the built-in vocabulary, the collection words, and
    /// every word a licence allows or denies (so a policy's own uses are known once a
    /// licence names them).
    pub fn vocabulary(&self) -> BTreeSet<&str> {
        let mut out: BTreeSet<&str> = KNOWN_USES.iter().chain(COLLECTION_USES).copied().collect();
        for l in self.all() {
            out.extend(
                l.allow
                    .iter()
                    .chain(&l.deny)
                    .map(String::as_str)
                    .filter(|u| *u != "*"),
            );
        }
        out
    }

    /// Every licence, in id order.
    pub fn all(&self) -> impl Iterator<Item = &Licence> {
        self.by_id.values()
    }
}

/// The SPDX id of a licence when it is on the SPDX licence list, else `None`.
pub fn spdx_id(licence: &str) -> Option<&'static str> {
    SPDX_IDS.iter().copied().find(|id| *id == licence)
}

/// The id a licence has in SPDX license expressions: its SPDX id when it has one, else
/// `LicenseRef-` and the id with every character outside `[A-Za-z0-9.-]` made `-` (an id
/// already starting with `LicenseRef-` is kept).
pub fn expression_id(licence: &str) -> String {
    if let Some(id) = spdx_id(licence) {
        return id.to_string();
    }
    let rest = licence.strip_prefix("LicenseRef-").unwrap_or(licence);
    let clean: String = rest
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("LicenseRef-{clean}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_semantics() {
        let c = Catalogue::with_overrides(vec![]);
        let by = |id| c.get(id).unwrap();
        assert_eq!(by("CC-BY-SA-4.0").terms("ai-training"), Terms::Allows);
        assert_eq!(by("CC-BY-NC-4.0").terms("commercial"), Terms::Denies);
        assert_eq!(by("CC-BY-NC-4.0").terms("research"), Terms::Allows);
        assert_eq!(by("CC-BY-ND-4.0").terms("derivatives"), Terms::Denies);
        assert_eq!(by("proprietary").terms("ai-training"), Terms::Denies);
        assert_eq!(by("unknown").terms("ai-training"), Terms::Silent);
        assert_eq!(by("CC0-1.0").terms("my-custom-use"), Terms::Silent);
        for id in SPDX_IDS.iter().chain(&["proprietary", "unknown"]) {
            assert!(c.get(id).is_some(), "{id} missing");
        }
    }

    #[test]
    fn overrides_replace_builtins() {
        let mut mine = builtins().into_iter().find(|l| l.id == "MIT").unwrap();
        mine.deny = vec!["ai-training".into()];
        mine.builtin = false;
        let c = Catalogue::with_overrides(vec![mine]);
        assert_eq!(c.get("MIT").unwrap().terms("ai-training"), Terms::Denies);
    }

    #[test]
    fn licence_ids_in_expressions() {
        assert_eq!(expression_id("CC-BY-SA-4.0"), "CC-BY-SA-4.0");
        assert_eq!(
            expression_id("twitter-paid-api"),
            "LicenseRef-twitter-paid-api"
        );
        assert_eq!(expression_id("a/b:c_d"), "LicenseRef-a-b-c-d");
        assert_eq!(expression_id("LicenseRef-x_y"), "LicenseRef-x-y");
        assert_eq!(spdx_id("proprietary"), None);
    }
}
