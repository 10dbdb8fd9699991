//! The registered records' text prints, held to attribute records that have no URL: one
//! sorted array of `print << 16 | source` (8 bytes a record) and a table of where each
//! leading-bits bucket starts (about 1 byte a record: four records a bucket), so a lookup
//! is one bucket probe and a few comparisons.

use super::PRINT_BITS;

/// What a print looked up found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexEntry {
    /// No registered record has it.
    Unknown,
    /// Registered records of one source have it (its index in the index's sources).
    Source(u16),
    /// Registered records of several sources have it: not attributed.
    Ambiguous,
}

/// Registered prints by source.
#[derive(Debug, Default)]
pub struct PrintIndex {
    sources: Vec<String>,
    entries: Vec<u64>,
    starts: Vec<u32>,
    bucket_bits: u32,
}

impl PrintIndex {
    /// Builds an index from (source, prints) sets; a source is listed once however many
    /// sets name it. Errors when more than 65,535 sources or 2^32 prints are given.
    pub fn build(sets: Vec<(String, Vec<u64>)>) -> Result<PrintIndex, String> {
        let mut sources: Vec<String> = sets.iter().map(|(s, _)| s.clone()).collect();
        sources.sort();
        sources.dedup();
        if sources.len() > usize::from(u16::MAX) {
            return Err("more than 65,535 sources have record prints".into());
        }
        let total: usize = sets.iter().map(|(_, p)| p.len()).sum();
        if total > u32::MAX as usize {
            return Err("more than 2^32 record prints registered".into());
        }
        let mut entries = Vec::with_capacity(total);
        for (s, prints) in sets {
            let i = sources.binary_search(&s).unwrap_or(0) as u64;
            entries.extend(prints.into_iter().map(|p| (p << 16) | i));
        }
        entries.sort_unstable();
        entries.dedup();
        // About four entries a bucket: one byte of table per entry.
        let bucket_bits = (usize::BITS - entries.len().leading_zeros())
            .saturating_sub(2)
            .clamp(4, 24);
        let mut starts = vec![0u32; (1usize << bucket_bits) + 1];
        for &e in &entries {
            starts[Self::bucket_of(e >> 16, bucket_bits) + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        Ok(PrintIndex {
            sources,
            entries,
            starts,
            bucket_bits,
        })
    }

    fn bucket_of(print: u64, bits: u32) -> usize {
        (print >> (PRINT_BITS - bits)) as usize
    }

    /// The source ids, in the order [`IndexEntry::Source`] numbers them.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// Prints held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no print is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes of memory the index holds.
    pub fn memory(&self) -> usize {
        self.entries.capacity() * 8 + self.starts.capacity() * 4
    }

    /// Which source's records have `print`.
    pub fn lookup(&self, print: u64) -> IndexEntry {
        let b = Self::bucket_of(print, self.bucket_bits);
        let (lo, hi) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        let bucket = &self.entries[lo..hi];
        let at = bucket.partition_point(|&e| e >> 16 < print);
        let mut found = IndexEntry::Unknown;
        for &e in &bucket[at..] {
            if e >> 16 != print {
                break;
            }
            found = match found {
                IndexEntry::Unknown => IndexEntry::Source(e as u16),
                _ => return IndexEntry::Ambiguous,
            };
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_name_one_source_or_say_ambiguous() {
        let idx = PrintIndex::build(vec![
            ("twitter".into(), vec![5, 1 << 40, 77]),
            ("reddit".into(), vec![77, 9]),
            ("twitter".into(), vec![5]),
        ])
        .unwrap();
        assert_eq!(
            idx.sources(),
            &["reddit".to_string(), "twitter".to_string()]
        );
        assert_eq!(idx.lookup(5), IndexEntry::Source(1));
        assert_eq!(idx.lookup(9), IndexEntry::Source(0));
        assert_eq!(idx.lookup(1 << 40), IndexEntry::Source(1));
        assert_eq!(idx.lookup(77), IndexEntry::Ambiguous);
        assert_eq!(idx.lookup(6), IndexEntry::Unknown);
        assert_eq!(idx.lookup((1 << 48) - 1), IndexEntry::Unknown);
        assert_eq!(idx.len(), 5);
        let empty = PrintIndex::build(vec![]).unwrap();
        assert_eq!(empty.lookup(3), IndexEntry::Unknown);
    }
}
