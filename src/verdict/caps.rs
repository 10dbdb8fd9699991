//! Volume against caps (semantics step 4): each distinct shard counts once, in the period of
//! its first collection by the org — computed over the org's whole history, so that a window
//! or filter applied afterwards never moves a shard into another period. Written once;
//! report, audit, gate and the HTML charts ask here.

use std::collections::{BTreeMap, HashMap};

use crate::types::{Date, Period};
use crate::values::{Grant, VolumeRow};

/// Each distinct shard's (earliest collection date, records).
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

/// Records per period of kind `per` (label → first collection day seen in it, records),
/// each distinct shard once at its first collection. `Period::Total` is one `total` row.
pub fn periods(rows: &[VolumeRow], per: Period) -> BTreeMap<String, (Date, u64)> {
    let mut out: BTreeMap<String, (Date, u64)> = BTreeMap::new();
    for (d, n) in first_collections(rows).values() {
        let b = out.entry(per.label(*d)).or_insert((*d, 0));
        b.0 = b.0.min(*d);
        b.1 = b.1.saturating_add(*n);
    }
    out
}

/// One cap period of a grant and what the grantee collected in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapPeriod {
    /// The period label (`2022-03`, `2022`, `total`).
    pub period: String,
    /// The earliest collection day counted in it.
    pub first: Date,
    /// Records counted.
    pub records: u64,
    /// The cap.
    pub cap: u64,
}

impl CapPeriod {
    /// Records collected above the cap (0 when within it).
    pub fn over(&self) -> u64 {
        self.records.saturating_sub(self.cap)
    }
}

/// Every period of the grant's cap in which the grantee collected content inside the
/// grant's window, from `rows` (the source's distinct shards in the org's versions, whole
/// history), by period; empty for a grant without a cap.
pub fn cap_periods(g: &Grant, rows: &[VolumeRow]) -> Vec<CapPeriod> {
    let Some(cap) = g.cap else {
        return Vec::new();
    };
    let inside: Vec<VolumeRow> = first_collections(rows)
        .into_iter()
        .filter(|(_, (d, _))| g.valid_on(*d))
        .map(|(shard, (collected, records))| VolumeRow {
            collected,
            shard,
            records,
        })
        .collect();
    let mut out: Vec<CapPeriod> = periods(&inside, cap.per)
        .into_iter()
        .map(|(period, (first, records))| CapPeriod {
            period,
            first,
            records,
            cap: cap.records,
        })
        .collect();
    out.sort_by_key(|p| p.first);
    out
}

/// Volume counted against a grant's cap in the period containing a date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapUse {
    /// The period label (`2022-03`, `2022`, `total`).
    pub period: String,
    /// Records counted.
    pub records: u64,
    /// The cap.
    pub cap: u64,
}

/// The cap period of `g` containing `date` and the records the grantee collected in it
/// (see [`cap_periods`]); `None` for a grant without a cap.
pub fn cap_use(g: &Grant, rows: &[VolumeRow], date: Date) -> Option<CapUse> {
    let cap = g.cap?;
    let period = cap.per.label(date);
    let records = cap_periods(g, rows)
        .into_iter()
        .find(|p| p.period == period)
        .map_or(0, |p| p.records);
    Some(CapUse {
        period,
        records,
        cap: cap.records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Cap;
    use crate::verdict::testing::{d, grant};

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

    #[test]
    fn periods_do_not_depend_on_a_later_window() {
        let h = |k: &[u8]| blake3::hash(k);
        let row = |date: &str, k: &[u8], n| VolumeRow {
            collected: d(date),
            shard: h(k),
            records: n,
        };
        // Shard a first collected in February, again in March: it stays in February.
        let rows = [
            row("2023-02-20", b"a", 200),
            row("2023-03-05", b"a", 200),
            row("2023-03-06", b"b", 750),
        ];
        let months = periods(&rows, Period::Month);
        assert_eq!(months["2023-02"].1, 200);
        assert_eq!(months["2023-03"], (d("2023-03-06"), 750));
        assert_eq!(periods(&rows, Period::Total)["total"].1, 950);
        let mut g = grant("g", "api", "acme", "2023-01-01", Some("2023-03-01"));
        g.cap = Some(Cap {
            records: 100,
            per: Period::Total,
        });
        // Only what was collected inside the window counts against its total cap.
        let p = cap_periods(&g, &rows);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].records, p[0].over()), (200, 100));
        g.cap = None;
        assert!(cap_periods(&g, &rows).is_empty());
    }
}
