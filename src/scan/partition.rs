//! Partitioned scans: slice K of N of a tree, chosen by the BLAKE3 of each file's relative
//! path, so N machines (or jobs) scan one huge dataset without coordinating.

use std::fmt;

/// Slice K of N (1-based) of a tree: the files whose relative path hashes to it. Every file
/// is in exactly one slice, whatever machine or mount point lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// Which slice, 1..=n.
    pub k: u32,
    /// How many.
    pub n: u32,
}

impl Partition {
    /// Whether the file at `rel` (raw relative path bytes) is in this slice.
    pub fn holds(&self, rel: &[u8]) -> bool {
        let h = blake3::hash(rel);
        let mut first = [0u8; 8];
        first.copy_from_slice(&h.as_bytes()[..8]);
        u64::from_le_bytes(first) % u64::from(self.n) == u64::from(self.k - 1)
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl std::str::FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Partition, String> {
        let bad = || format!("'{s}' is not K/N with 1 <= K <= N <= 65536 (e.g. 2/8)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || k > n || n > 65536 {
            return Err(bad());
        }
        Ok(Partition { k, n })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_split_every_path_once() {
        let n = 4;
        let mut counts = [0; 4];
        for i in 0..1000 {
            let rel = format!("d{}/f{i}.jsonl", i % 7);
            let holders: Vec<u32> = (1..=n)
                .filter(|&k| Partition { k, n }.holds(rel.as_bytes()))
                .collect();
            assert_eq!(holders.len(), 1, "{rel}");
            counts[holders[0] as usize - 1] += 1;
        }
        assert!(counts.iter().all(|&c| c > 150), "{counts:?}");
        assert_eq!("2/8".parse(), Ok(Partition { k: 2, n: 8 }));
        for bad in ["0/4", "5/4", "4", "a/b", "1/0"] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
    }
}
