//! Disclosure scope (semantics step 6): a disclosure shares only content collected on or
//! before its date — by the disclosed dataset, or by the disclosing org for a disclosure of
//! a source's content. Written once; report and audit ask here.

use crate::types::Date;
use crate::values::VolumeRow;

/// Whether content collected on `collected` is covered by a disclosure dated `disclosed`.
pub fn in_disclosure(collected: Date, disclosed: Date) -> bool {
    collected <= disclosed
}

/// Of an org's distinct shards of a source (one row each, at its first collection), those a
/// disclosure dated `date` shared: (shards, records).
pub fn disclosed(rows: &[VolumeRow], date: Date) -> (u64, u64) {
    rows.iter()
        .filter(|r| in_disclosure(r.collected, date))
        .fold((0, 0), |(s, n), r| (s + 1, n.saturating_add(r.records)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::testing::d;

    #[test]
    fn a_disclosure_covers_what_was_collected_by_its_date() {
        let row = |date: &str, n, k: &[u8]| VolumeRow {
            collected: d(date),
            shard: blake3::hash(k),
            records: n,
        };
        let rows = [
            row("2023-06-01", 10, b"a"),
            row("2023-06-10", 20, b"b"),
            row("2023-08-01", 40, b"c"),
        ];
        assert_eq!(disclosed(&rows, d("2023-06-10")), (2, 30));
        assert_eq!(disclosed(&rows, d("2023-05-31")), (0, 0));
        assert_eq!(disclosed(&rows, d("2024-01-01")), (3, 70));
        assert!(in_disclosure(d("2023-06-10"), d("2023-06-10")));
        assert!(!in_disclosure(d("2023-06-11"), d("2023-06-10")));
    }
}
