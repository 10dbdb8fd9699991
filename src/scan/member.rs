//! A file's facts as a dataset member: its attributions by URL, by record print, then
//! declared and inherited, and its print sets.

use super::{FileEntry, FileFacts};
use crate::registry::{Member, Shard};
use crate::values::{Attribution, Method};

/// What a scan declares of a shard's unattributed content (records, bytes): all of it
/// to each of `sources` (the content is said to come from every one of them).
fn declare(unattributed: (u64, u64), sources: &[String], method: Method) -> Vec<Attribution> {
    let (records, bytes) = unattributed;
    if records == 0 {
        return Vec::new();
    }
    let mut out: Vec<Attribution> = sources
        .iter()
        .map(|s| Attribution {
            source: s.clone(),
            records,
            bytes,
            method,
        })
        .collect();
    out.sort_by(|a, b| a.source.cmp(&b.source));
    out.dedup_by(|a, b| a.source == b.source);
    out
}

/// Turns one file's facts into a member: what its bytes showed (attributions by URL and
/// by record print, the rest unattributed), and what this version declares of that rest
/// (the declared sources, or else the parents'). What the registry already knows about the
/// same bytes is merged when it is stored; the declaration stays this version's.
pub(super) fn member_of(
    entry: &FileEntry,
    facts: FileFacts,
    ids: &[String],
    declared: &[String],
    parent_sources: &[String],
) -> Member {
    let mut st = facts.stats;
    let mut attributions: Vec<Attribution> = st
        .per_source
        .iter()
        .map(|(i, records, bytes)| Attribution {
            source: ids[*i].clone(),
            records: *records,
            bytes: *bytes,
            method: Method::Url,
        })
        .collect();
    // Records attributed by print count with the source's URL-attributed ones in one row
    // (method url when there are any).
    for (i, records, bytes) in &st.prints.matched {
        match attributions.iter_mut().find(|a| a.source == ids[*i]) {
            Some(a) => {
                a.records += records;
                a.bytes += bytes;
            }
            None => attributions.push(Attribution {
                source: ids[*i].clone(),
                records: *records,
                bytes: *bytes,
                method: Method::Fingerprint,
            }),
        }
    }
    let prints = crate::prints::sets_of(&mut st.prints, ids);
    let unattributed = (st.unattributed_records, st.unattributed_bytes);
    let declared = if declared.is_empty() {
        declare(unattributed, parent_sources, Method::Inherited)
    } else {
        declare(unattributed, declared, Method::Declared)
    };
    attributions.sort_by(|a, b| a.source.cmp(&b.source));
    Member {
        path: entry.rel.clone(),
        shard: Shard {
            hash: facts.hash,
            size: facts.size,
            format: facts.format.to_string(),
            records: st.records,
            unattributed_records: st.unattributed_records,
            unattributed_bytes: st.unattributed_bytes,
            malformed: st.malformed,
            problem: st.problem,
        },
        attributions,
        declared,
        prints,
        hosts: st.hosts,
    }
}
