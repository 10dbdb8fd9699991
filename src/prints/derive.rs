//! Derived attribution: the records of a shard that no URL attributed are looked up by
//! their text print among the registered records, and a print registered under exactly one
//! source attributes the record to it.

use super::{IndexEntry, Kind, PrintIndex};
use crate::attribute::{RecordStats, ShardPrints};
use crate::registry::{PrintSet, Registry, RegistryError};
use crate::types::DatasetRef;

/// The index's sources as positions in the scan's source list (`None`: not a source of
/// this scan, never matched).
pub fn local_sources(index: &PrintIndex, ids: &[String]) -> Vec<Option<usize>> {
    index
        .sources()
        .iter()
        .map(|s| ids.iter().position(|i| i == s))
        .collect()
}

/// What matching one shard's pending prints did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Matched {
    /// Records attributed by print.
    pub records: u64,
    /// Records whose print was registered under several sources.
    pub ambiguous: u64,
}

/// Attributes `stats`' pending records by print: each matched record moves from the
/// unattributed counts to `prints.matched`, and its print to the source's text prints.
pub fn attribute_pending(
    stats: &mut RecordStats,
    index: &PrintIndex,
    local: &[Option<usize>],
) -> Matched {
    let mut out = Matched::default();
    if index.is_empty() || stats.prints.pending.is_empty() {
        return out;
    }
    let mut matched: Vec<(usize, u64, u64)> = Vec::new();
    let mut keep = Vec::new();
    let pending = std::mem::take(&mut stats.prints.pending);
    for (print, bytes) in pending {
        let source = match index.lookup(print) {
            IndexEntry::Source(j) => local.get(usize::from(j)).copied().flatten(),
            IndexEntry::Ambiguous => {
                out.ambiguous += 1;
                None
            }
            IndexEntry::Unknown => None,
        };
        let Some(i) = source else {
            keep.push((print, bytes));
            continue;
        };
        // Moved, never created: the counts stay within what the reader counted.
        if stats.unattributed_records == 0 {
            keep.push((print, bytes));
            continue;
        }
        stats.unattributed_records -= 1;
        stats.unattributed_bytes = stats.unattributed_bytes.saturating_sub(bytes);
        out.records += 1;
        match matched.iter_mut().find(|m| m.0 == i) {
            Some(m) => {
                m.1 += 1;
                m.2 += bytes;
            }
            None => matched.push((i, 1, bytes)),
        }
        match stats.prints.text.iter_mut().find(|(j, _)| *j == i) {
            Some((_, v)) => v.push(print),
            None => stats.prints.text.push((i, vec![print])),
        }
    }
    matched.sort_unstable();
    stats.prints.text.sort_by_key(|(i, _)| *i);
    stats.prints.pending = keep;
    stats.prints.matched = matched;
    stats.prints.ambiguous = out.ambiguous;
    // Records without a URL field were recognised: the hint to name one no longer applies
    // (what is still unattributed stays so, and is reported as such).
    if out.records > 0
        && stats
            .problem
            .as_deref()
            .is_some_and(crate::scan::is_no_url_field)
    {
        stats.problem = None;
    }
    out
}

/// A shard's prints as the sets the registry stores: text and URL prints by source, the
/// unmatched records' text prints under no source. Empties `prints`' lists.
pub fn sets_of(prints: &mut ShardPrints, ids: &[String]) -> Vec<PrintSet> {
    let mut out = Vec::new();
    let mut set = |kind: Kind, source: Option<usize>, mut v: Vec<u64>| {
        if v.is_empty() {
            return;
        }
        let records = v.len() as u64;
        out.push(PrintSet {
            kind,
            source: source.and_then(|i| ids.get(i).cloned()),
            records,
            blob: super::encode(&mut v),
        });
    };
    for (i, v) in std::mem::take(&mut prints.text) {
        set(Kind::Text, Some(i), v);
    }
    let mut pending: Vec<u64> = std::mem::take(&mut prints.pending)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    pending.append(&mut prints.unsourced);
    set(Kind::Text, None, pending);
    for (i, v) in std::mem::take(&mut prints.url) {
        set(Kind::Url, i, v);
    }
    out
}

/// The index of registered text prints with a source: of every shard, or of `within`'s
/// members (`--derived-from`). `None` when nothing is printed.
pub fn load_index(
    reg: &dyn Registry,
    within: &[DatasetRef],
) -> Result<Option<PrintIndex>, RegistryError> {
    let mut sets: Vec<(String, Vec<u64>)> = Vec::new();
    for s in reg.print_sets(Kind::Text, within)? {
        let Some(source) = s.set.source else {
            continue;
        };
        let mut v = Vec::new();
        super::decode(&s.set.blob, crate::attribute::MAX_SHARD_RECORDS, |p| {
            v.push(p)
        })
        .ok_or_else(|| {
            RegistryError::Damaged(format!("record prints of shard {} are damaged", s.shard))
        })?;
        sets.push((source, v));
    }
    if sets.iter().all(|(_, v)| v.is_empty()) {
        return Ok(None);
    }
    PrintIndex::build(sets)
        .map(Some)
        .map_err(RegistryError::Damaged)
}
