//! Permission semantics: given a source's grants, decide whether org O may put its content
//! to use U on date T ([`evaluate`]), whether a collection was made under a grant
//! ([`coverage`]), how much was collected per cap period ([`caps`]) and what a disclosure
//! shared ([`sharing`]). Pure functions of values, the only place these rules are written;
//! report, audit, gate and the exports read them. `docs/policy.md` says the same in words.

mod caps;
mod coverage;
mod sharing;

pub use caps::{CapPeriod, CapUse, cap_periods, cap_use, first_collections, periods};
pub use coverage::{Collection, collection};
pub use sharing::{disclosed, in_disclosure};

use std::fmt;

use serde::Serialize;

use crate::licence::{Catalogue, Terms};
use crate::types::Date;
use crate::values::Grant;

/// A finding's verdict. The kebab-case codes are stable interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A valid grant allows the use.
    Permitted,
    /// No grant of the source covers the org.
    NoLicence,
    /// A valid grant's licence denies the use.
    UseDenied,
    /// Grants existed but ended before the date.
    Expired,
    /// Grants exist but start after the date.
    NotYetValid,
    /// Valid grants neither allow nor deny the use.
    Unspecified,
    /// Records collected in a period exceed a grant's cap.
    VolumeExceeded,
    /// Content attributed to no source.
    UnknownProvenance,
    /// Content shared with a recipient without the sharing use.
    UnauthorisedSharing,
    /// Content collected when no grant of its source covered the collecting org (before a
    /// grant started, after it ended, or with none at all).
    CollectedWithoutGrant,
    /// Content still held after the end of a grant whose licence requires deletion then.
    RetainedAfterEnd,
    /// Content collected from a host whose rights reservation (TDM opt-out) covered it on
    /// the collection date.
    OptedOut,
    /// Content collected before its host's reservation, trained on after it.
    OptedOutLater,
    /// A reservation whose effect on the content cannot be measured (a path-level rule,
    /// hosts not counted): undecided, never clear.
    OptOutUndecided,
}

impl Verdict {
    /// Every verdict, in severity order of the report.
    pub const ALL: [Verdict; 14] = [
        Verdict::Permitted,
        Verdict::NoLicence,
        Verdict::UseDenied,
        Verdict::Expired,
        Verdict::NotYetValid,
        Verdict::Unspecified,
        Verdict::VolumeExceeded,
        Verdict::UnknownProvenance,
        Verdict::UnauthorisedSharing,
        Verdict::CollectedWithoutGrant,
        Verdict::RetainedAfterEnd,
        Verdict::OptedOut,
        Verdict::OptedOutLater,
        Verdict::OptOutUndecided,
    ];

    /// The stable kebab-case code.
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Permitted => "permitted",
            Verdict::NoLicence => "no-licence",
            Verdict::UseDenied => "use-denied",
            Verdict::Expired => "expired",
            Verdict::NotYetValid => "not-yet-valid",
            Verdict::Unspecified => "unspecified",
            Verdict::VolumeExceeded => "volume-exceeded",
            Verdict::UnknownProvenance => "unknown-provenance",
            Verdict::UnauthorisedSharing => "unauthorised-sharing",
            Verdict::CollectedWithoutGrant => "collected-without-grant",
            Verdict::RetainedAfterEnd => "retained-after-end",
            Verdict::OptedOut => "opted-out",
            Verdict::OptedOutLater => "opted-out-later",
            Verdict::OptOutUndecided => "opt-out-undecided",
        }
    }

    /// What to do about a finding with this verdict, in a few words.
    pub fn remedy(self) -> &'static str {
        match self {
            Verdict::NoLicence => "obtain a grant for this org, or remove the source's content",
            Verdict::UseDenied => "remove the source's content, or renegotiate the licence",
            Verdict::Expired => "renew the grant, or remove the source's content",
            Verdict::NotYetValid => "wait for the grant to start, or move the training date",
            Verdict::Unspecified => {
                "get the use allowed in writing (or --unspecified allow in report)"
            }
            Verdict::VolumeExceeded => "drop the records collected above the cap",
            Verdict::UnknownProvenance => {
                "attribute it (scan --source / --derived-from) or --allow-unknown"
            }
            Verdict::UnauthorisedSharing => "stop the sharing, or obtain the sharing use",
            Verdict::CollectedWithoutGrant => {
                "obtain a grant covering the collection date, or retract and delete the content"
            }
            Verdict::RetainedAfterEnd => {
                "delete the content (dataset retract), as the licence requires at the grant's end"
            }
            Verdict::OptedOut => {
                "drop the host's records, or obtain a licence from the rightsholder"
            }
            Verdict::OptedOutLater => {
                "drop the host's records from new training, or obtain a licence"
            }
            Verdict::OptOutUndecided => {
                "check the reserved paths against the records, or drop the host's records"
            }
            Verdict::Permitted => "",
        }
    }

    /// Parses a code.
    pub fn from_code(s: &str) -> Option<Verdict> {
        Verdict::ALL.into_iter().find(|v| v.code() == s)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Knobs of the semantics.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rules {
    /// Treat `unspecified` as permitted (`--unspecified allow`).
    pub unspecified_allows: bool,
}

/// The verdict for one (source, org, date, use) and the grant that decided it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome<'g> {
    /// The verdict (never volume, provenance or sharing: those are decided elsewhere).
    pub verdict: Verdict,
    /// The grant consulted, when one was.
    pub grant: Option<&'g Grant>,
}

fn terms(cat: &Catalogue, g: &Grant, use_: &str) -> Terms {
    // A grant whose licence is unknown to the catalogue says nothing about any use.
    cat.get(&g.licence).map_or(Terms::Silent, |l| l.terms(use_))
}

/// Decides use `use_` by `org` on `date` of a source whose grants are `grants`.
pub fn evaluate<'g>(
    grants: &'g [Grant],
    cat: &Catalogue,
    org: &str,
    date: Date,
    use_: &str,
    rules: Rules,
) -> Outcome<'g> {
    // Org-specific grants are preferred to public ones when naming the deciding grant.
    let mut candidates: Vec<&Grant> = grants.iter().filter(|g| g.covers_org(org)).collect();
    candidates.sort_by(|a, b| (a.grantee == "*", &a.id).cmp(&(b.grantee == "*", &b.id)));
    if candidates.is_empty() {
        return Outcome {
            verdict: Verdict::NoLicence,
            grant: None,
        };
    }
    let valid: Vec<&Grant> = candidates
        .iter()
        .copied()
        .filter(|g| g.valid_on(date))
        .collect();
    if let Some(g) = valid.iter().find(|g| terms(cat, g, use_) == Terms::Allows) {
        return Outcome {
            verdict: Verdict::Permitted,
            grant: Some(g),
        };
    }
    if let Some(g) = valid.iter().find(|g| terms(cat, g, use_) == Terms::Denies) {
        return Outcome {
            verdict: Verdict::UseDenied,
            grant: Some(g),
        };
    }
    if let Some(g) = valid.first() {
        let verdict = if rules.unspecified_allows {
            Verdict::Permitted
        } else {
            Verdict::Unspecified
        };
        return Outcome {
            verdict,
            grant: Some(g),
        };
    }
    // No grant is valid on the date: the nearest reason is the latest one that ended, or
    // else the earliest one still to start.
    let ended = candidates
        .iter()
        .filter(|g| g.until.is_some_and(|u| u <= date))
        .max_by_key(|g| g.until);
    if let Some(g) = ended {
        return Outcome {
            verdict: Verdict::Expired,
            grant: Some(g),
        };
    }
    Outcome {
        verdict: Verdict::NotYetValid,
        grant: candidates.iter().copied().min_by_key(|g| g.from),
    }
}

/// Builders the rule tests share.
#[cfg(test)]
pub(crate) mod testing {
    use crate::types::Date;
    use crate::values::Grant;

    /// A date from `YYYY-MM-DD`.
    pub fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// A grant of source `s` with no cap.
    pub fn grant(id: &str, licence: &str, grantee: &str, from: &str, until: Option<&str>) -> Grant {
        Grant {
            id: id.into(),
            source: "s".into(),
            licence: licence.into(),
            grantee: grantee.into(),
            from: d(from),
            until: until.map(d),
            cap: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licence::Licence;

    use crate::verdict::testing::{d, grant};

    fn cat() -> Catalogue {
        Catalogue::with_overrides(vec![Licence {
            id: "api".into(),
            name: "api".into(),
            allow: vec!["display".into()],
            deny: vec!["ai-training".into()],
            conditions: vec![],
            builtin: false,
        }])
    }

    fn verdict(grants: &[Grant], org: &str, date: &str, use_: &str) -> (Verdict, Option<String>) {
        let o = evaluate(grants, &cat(), org, d(date), use_, Rules::default());
        (o.verdict, o.grant.map(|g| g.id.clone()))
    }

    #[test]
    fn table_of_verdicts() {
        let api = grant("g-api", "api", "acme", "2020-01-01", Some("2023-02-09"));
        let open = grant("g-open", "CC-BY-4.0", "*", "2020-01-01", None);
        let later = grant("g-later", "CC0-1.0", "acme", "2030-01-01", None);
        type Case<'a> = (
            Vec<Grant>,
            &'a str,
            &'a str,
            &'a str,
            Verdict,
            Option<&'a str>,
        );
        let cases: Vec<Case> = vec![
            (
                vec![],
                "acme",
                "2022-01-01",
                "ai-training",
                Verdict::NoLicence,
                None,
            ),
            (
                vec![api.clone()],
                "other",
                "2022-01-01",
                "ai-training",
                Verdict::NoLicence,
                None,
            ),
            (
                vec![api.clone()],
                "acme",
                "2022-01-01",
                "ai-training",
                Verdict::UseDenied,
                Some("g-api"),
            ),
            (
                vec![api.clone()],
                "acme",
                "2022-01-01",
                "display",
                Verdict::Permitted,
                Some("g-api"),
            ),
            (
                vec![api.clone()],
                "acme",
                "2022-01-01",
                "commercial",
                Verdict::Unspecified,
                Some("g-api"),
            ),
            // from is inclusive, until exclusive
            (
                vec![api.clone()],
                "acme",
                "2020-01-01",
                "display",
                Verdict::Permitted,
                Some("g-api"),
            ),
            (
                vec![api.clone()],
                "acme",
                "2019-12-31",
                "display",
                Verdict::NotYetValid,
                Some("g-api"),
            ),
            (
                vec![api.clone()],
                "acme",
                "2023-02-08",
                "display",
                Verdict::Permitted,
                Some("g-api"),
            ),
            (
                vec![api.clone()],
                "acme",
                "2023-02-09",
                "display",
                Verdict::Expired,
                Some("g-api"),
            ),
            // one permitting grant among several wins
            (
                vec![api.clone(), open.clone()],
                "acme",
                "2022-01-01",
                "ai-training",
                Verdict::Permitted,
                Some("g-open"),
            ),
            (
                vec![api.clone(), open.clone()],
                "someone",
                "2022-01-01",
                "ai-training",
                Verdict::Permitted,
                Some("g-open"),
            ),
            (
                vec![later.clone()],
                "acme",
                "2022-01-01",
                "ai-training",
                Verdict::NotYetValid,
                Some("g-later"),
            ),
            (
                vec![api.clone(), later.clone()],
                "acme",
                "2024-01-01",
                "ai-training",
                Verdict::Expired,
                Some("g-api"),
            ),
            (
                vec![grant("p", "proprietary", "acme", "2020-01-01", None)],
                "acme",
                "2022-01-01",
                "research",
                Verdict::UseDenied,
                Some("p"),
            ),
            (
                vec![grant("u", "no-such-licence", "acme", "2020-01-01", None)],
                "acme",
                "2022-01-01",
                "research",
                Verdict::Unspecified,
                Some("u"),
            ),
        ];
        for (grants, org, date, use_, want, want_grant) in cases {
            let got = verdict(&grants, org, date, use_);
            assert_eq!(
                got,
                (want, want_grant.map(str::to_string)),
                "{org} {date} {use_}"
            );
        }
    }

    #[test]
    fn unspecified_can_be_relaxed() {
        let g = [grant("g", "api", "acme", "2020-01-01", None)];
        let o = evaluate(
            &g,
            &cat(),
            "acme",
            d("2022-01-01"),
            "commercial",
            Rules {
                unspecified_allows: true,
            },
        );
        assert_eq!(o.verdict, Verdict::Permitted);
    }

    #[test]
    fn codes_round_trip() {
        for v in Verdict::ALL {
            assert_eq!(Verdict::from_code(v.code()), Some(v));
        }
    }
}
