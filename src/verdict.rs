//! Permission semantics: given a source's grants, decide whether org O may put its content
//! to use U on date T, and count volume against grant caps. Pure functions; the README's
//! "Permission semantics" section describes the same rules in plain words.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::licence::{Catalogue, Terms};
use crate::types::{Date, Period};
use crate::values::{Grant, VolumeRow};

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
}

impl Verdict {
    /// Every verdict, in severity order of the report.
    pub const ALL: [Verdict; 9] = [
        Verdict::Permitted,
        Verdict::NoLicence,
        Verdict::UseDenied,
        Verdict::Expired,
        Verdict::NotYetValid,
        Verdict::Unspecified,
        Verdict::VolumeExceeded,
        Verdict::UnknownProvenance,
        Verdict::UnauthorisedSharing,
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

/// Whether `date` lies in the grant's window `[from, until)`.
pub fn in_window(g: &Grant, date: Date) -> bool {
    g.from <= date && g.until.is_none_or(|u| date < u)
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
    let mut candidates: Vec<&Grant> = grants
        .iter()
        .filter(|g| g.grantee == org || g.grantee == "*")
        .collect();
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
        .filter(|g| in_window(g, date))
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

/// The first day of the cap period of kind `per` containing `d`, and of the next one.
fn period_bounds(per: Period, d: Date, g: &Grant) -> (Date, Option<Date>) {
    match per {
        Period::Month => {
            let start = d.month_start();
            let (y, m, _) = start.ymd();
            let next = if m == 12 {
                Date::from_ymd(y + 1, 1, 1)
            } else {
                Date::from_ymd(y, m + 1, 1)
            };
            (start, next)
        }
        Period::Year => {
            let (y, _, _) = d.ymd();
            (d.year_start(), Date::from_ymd(y + 1, 1, 1))
        }
        Period::Total => (g.from, g.until),
    }
}

/// Volume counted against a grant's cap in the period containing `date`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapUse {
    /// The period label (`2022-03`, `2022`, `total`).
    pub period: String,
    /// Records counted.
    pub records: u64,
    /// The cap.
    pub cap: u64,
}

/// Each distinct shard's (earliest collection date, records): a shard counts once, in the
/// period of its earliest collection.
pub fn first_collections(rows: &[VolumeRow]) -> HashMap<blake3::Hash, (Date, u64)> {
    let mut first: HashMap<blake3::Hash, (Date, u64)> = HashMap::new();
    for r in rows {
        let e = first.entry(r.shard).or_insert((r.collected, r.records));
        if r.collected < e.0 {
            *e = (r.collected, r.records);
        }
    }
    first
}

/// Counts the records of a source collected by the grantee in the cap period containing
/// `date`, inside the grant's window. `rows` are the source's records per shard in the
/// org's datasets; a shard counts once, in the period of its earliest collection.
pub fn cap_use(g: &Grant, rows: &[VolumeRow], date: Date) -> Option<CapUse> {
    let cap = g.cap?;
    let (start, end) = period_bounds(cap.per, date, g);
    let records = first_collections(rows)
        .values()
        .filter(|(d, _)| *d >= start && end.is_none_or(|e| *d < e) && in_window(g, *d))
        .map(|(_, n)| n)
        .sum();
    Some(CapUse {
        period: cap.per.label(date),
        records,
        cap: cap.records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licence::Licence;
    use crate::registry::Cap;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn grant(id: &str, licence: &str, grantee: &str, from: &str, until: Option<&str>) -> Grant {
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

    #[test]
    fn caps_count_distinct_shards_once_in_their_first_period() {
        let mut g = grant("g", "api", "acme", "2020-01-01", None);
        g.cap = Some(Cap {
            records: 100,
            per: Period::Month,
        });
        let h1 = blake3::hash(b"1");
        let h2 = blake3::hash(b"2");
        let row = |date: &str, h: blake3::Hash, n| VolumeRow {
            collected: d(date),
            shard: h,
            records: n,
        };
        let rows = vec![
            row("2022-03-01", h1, 60),
            row("2022-03-20", h1, 60), // same shard again: counted once
            row("2022-03-31", h2, 40),
            row("2022-04-01", h1, 60), // seen in March already
        ];
        let march = cap_use(&g, &rows, d("2022-03-15")).unwrap();
        assert_eq!(
            (march.period.as_str(), march.records, march.cap),
            ("2022-03", 100, 100)
        );
        assert_eq!(cap_use(&g, &rows, d("2022-04-15")).unwrap().records, 0);
        g.cap = Some(Cap {
            records: 99,
            per: Period::Year,
        });
        assert_eq!(cap_use(&g, &rows, d("2022-12-31")).unwrap().records, 100);
        g.cap = Some(Cap {
            records: 99,
            per: Period::Total,
        });
        assert_eq!(cap_use(&g, &rows, d("2025-01-01")).unwrap().period, "total");
        g.until = Some(d("2022-03-31"));
        assert_eq!(cap_use(&g, &rows, d("2022-03-01")).unwrap().records, 60);
    }
}
