//! Validated value types shared by every layer: calendar dates, `NAME@VERSION` dataset
//! references, use words and cap periods. Parsed once at the door; inner code trusts them.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// A calendar date (proleptic Gregorian, UTC), stored as days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// Builds a date from its parts, or `None` when they name no day.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || !(1..=9999).contains(&y) {
            return None;
        }
        Some(Date(days_from_civil(y, m, d)))
    }

    /// Today's date in UTC.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Date((secs / 86_400) as i32)
    }

    /// The date `days` later (earlier when negative).
    pub fn add_days(self, days: i32) -> Date {
        Date(self.0 + days)
    }

    /// Year, month and day.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// The first day of this date's month.
    pub fn month_start(self) -> Date {
        let (y, m, _) = self.ymd();
        Date(days_from_civil(y, m, 1))
    }

    /// The first day of this date's year.
    pub fn year_start(self) -> Date {
        let (y, _, _) = self.ymd();
        Date(days_from_civil(y, 1, 1))
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

// Howard Hinnant's days_from_civil / civil_from_days algorithms.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl FromStr for Date {
    type Err = String;
    fn from_str(s: &str) -> Result<Date, String> {
        let bad = || format!("invalid date '{s}' (expected YYYY-MM-DD)");
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, String> {
            let part = &s[r];
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        Date::from_ymd(y as i32, m, d).ok_or_else(bad)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The current UTC time as RFC 3339 with seconds, e.g. `2026-11-24T23:50:07Z`.
pub fn utc_now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let day = Date((secs / 86_400) as i32);
    let rem = secs % 86_400;
    format!(
        "{day}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A dataset version reference, `NAME@VERSION`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DatasetRef {
    /// Dataset name.
    pub name: String,
    /// Version label.
    pub version: String,
}

fn valid_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+' | ':')
}

impl FromStr for DatasetRef {
    type Err = String;
    fn from_str(s: &str) -> Result<DatasetRef, String> {
        let bad = |why: &str| format!("invalid dataset '{s}': {why} (expected NAME@VERSION)");
        let (name, version) = s.split_once('@').ok_or_else(|| bad("no '@'"))?;
        if name.is_empty() || version.is_empty() {
            return Err(bad("empty name or version"));
        }
        if !name.chars().all(valid_ident_char) || !version.chars().all(valid_ident_char) {
            return Err(bad("only letters, digits and - _ . / + : are allowed"));
        }
        Ok(DatasetRef {
            name: name.to_string(),
            version: version.to_string(),
        })
    }
}

impl fmt::Display for DatasetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

impl Serialize for DatasetRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Checks an identifier (source, licence, org, model, application id).
pub fn check_ident(kind: &str, s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err(format!("{kind} must not be empty"));
    }
    if s.chars().all(valid_ident_char) {
        Ok(())
    } else {
        Err(format!(
            "invalid {kind} '{s}': only letters, digits and - _ . / + : are allowed"
        ))
    }
}

/// Checks a use word: kebab-case (`ai-training`, `government-sharing`), or `*` in licences.
pub fn check_use(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid use '{s}': uses are kebab-case words such as 'ai-training'"
        ))
    }
}

/// The period a volume cap counts over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Period {
    /// Calendar month (UTC).
    Month,
    /// Calendar year (UTC).
    Year,
    /// The whole life of the grant.
    Total,
}

impl Period {
    /// The kebab-case name used in files and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Year => "year",
            Period::Total => "total",
        }
    }

    /// Whether the period of this kind containing `d` overlaps the days `from..=to` (either
    /// end open when `None`). A `total` period overlaps every window.
    pub fn overlaps(self, d: Date, from: Option<Date>, to: Option<Date>) -> bool {
        let (start, end) = match self {
            Period::Month => {
                let (y, m, _) = d.ymd();
                let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                (d.month_start(), Date(days_from_civil(next.0, next.1, 1)))
            }
            Period::Year => {
                let (y, _, _) = d.ymd();
                (d.year_start(), Date(days_from_civil(y + 1, 1, 1)))
            }
            Period::Total => return true,
        };
        from.is_none_or(|f| end > f) && to.is_none_or(|t| start <= t)
    }

    /// The label of the period that contains `d` (`2022-03`, `2022`, `total`).
    pub fn label(self, d: Date) -> String {
        let (y, m, _) = d.ymd();
        match self {
            Period::Month => format!("{y:04}-{m:02}"),
            Period::Year => format!("{y:04}"),
            Period::Total => "total".to_string(),
        }
    }
}

impl FromStr for Period {
    type Err = String;
    fn from_str(s: &str) -> Result<Period, String> {
        match s {
            "month" => Ok(Period::Month),
            "year" => Ok(Period::Year),
            "total" => Ok(Period::Total),
            _ => Err(format!(
                "invalid cap period '{s}' (expected month, year or total)"
            )),
        }
    }
}

/// Lower-cases a domain and checks it is a bare host name (`twitter.com`, no scheme or path).
/// A Unicode domain (`bücher.de`, `ｘ。com`) is stored in its ASCII form (`xn--bcher-kva.de`,
/// `x.com`), the form URL hosts are matched in.
pub fn normalise_domain(d: &str) -> std::result::Result<String, String> {
    let trimmed = d.trim();
    let ascii;
    let d_ascii = if trimmed.is_ascii() {
        trimmed
    } else {
        ascii = match url::Host::parse(trimmed) {
            Ok(url::Host::Domain(a)) => a,
            _ => {
                return Err(format!(
                    "invalid domain '{d}' (expected a host name such as example.com)"
                ));
            }
        };
        &ascii
    };
    let dom = d_ascii.trim_end_matches('.').to_ascii_lowercase();
    let ok = !dom.is_empty()
        && dom.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        });
    if ok {
        Ok(dom)
    } else {
        Err(format!(
            "invalid domain '{d}' (expected a host name such as example.com)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_overlap_windows() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let march = d("2023-03-15");
        assert!(Period::Month.overlaps(march, Some(d("2023-03-31")), None));
        assert!(!Period::Month.overlaps(march, Some(d("2023-04-01")), None));
        assert!(Period::Month.overlaps(march, None, Some(d("2023-03-01"))));
        assert!(!Period::Month.overlaps(march, None, Some(d("2023-02-28"))));
        assert!(Period::Month.overlaps(d("2023-12-31"), Some(d("2023-12-31")), None));
        assert!(Period::Year.overlaps(march, Some(d("2023-12-31")), Some(d("2024-06-01"))));
        assert!(!Period::Year.overlaps(march, Some(d("2024-01-01")), None));
        assert!(Period::Total.overlaps(march, Some(d("2030-01-01")), None));
    }

    #[test]
    fn dates_round_trip_and_reject_nonsense() {
        for s in [
            "1970-01-01",
            "2000-02-29",
            "2023-02-09",
            "2024-12-31",
            "1969-07-20",
        ] {
            assert_eq!(s.parse::<Date>().unwrap().to_string(), s);
        }
        for s in [
            "2023-02-29",
            "2023-13-01",
            "2023-1-01",
            "20230101",
            "2023-00-10",
            "abcd-01-01",
        ] {
            assert!(s.parse::<Date>().is_err(), "{s} accepted");
        }
        let a: Date = "2023-02-28".parse().unwrap();
        let b: Date = "2023-03-01".parse().unwrap();
        assert!(a < b);
        assert_eq!(b.month_start().to_string(), "2023-03-01");
        assert_eq!(a.year_start().to_string(), "2023-01-01");
    }

    #[test]
    fn dataset_refs() {
        let r: DatasetRef = "web-mix@2022".parse().unwrap();
        assert_eq!((r.name.as_str(), r.version.as_str()), ("web-mix", "2022"));
        assert_eq!(r.to_string(), "web-mix@2022");
        for bad in ["web-mix", "@1", "a@", "a@b@c", "a b@1"] {
            assert!(bad.parse::<DatasetRef>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn use_words() {
        assert!(check_use("ai-training").is_ok());
        assert!(check_use("third-party-sharing").is_ok());
        for bad in ["AI", "ai_training", "-x", "x-", "", "a--b"] {
            assert!(check_use(bad).is_err(), "{bad} accepted");
        }
    }
}
