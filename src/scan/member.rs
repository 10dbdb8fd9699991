//! A file's facts as a dataset member: its attributions by URL, by record print, then
//! declared and inherited, and its print sets.

use super::{FileEntry, FileFacts};
use crate::registry::{Member, Shard};
use crate::values::{Attribution, Method};

/// Attributes all of `unattributed` (records, bytes) to each of `sources` (all of it to
/// each: the content is said to come from every one of them), leaving nothing unattributed.
fn assign(
    attributions: &mut Vec<Attribution>,
    unattributed: &mut (u64, u64),
    sources: &[String],
    method: Method,
) {
    let (records, bytes) = *unattributed;
    if records == 0 || sources.is_empty() {
        return;
    }
    for s in sources {
        match attributions.iter_mut().find(|a| &a.source == s) {
            Some(a) => {
                a.records += records;
                a.bytes += bytes;
            }
            None => attributions.push(Attribution {
                source: s.clone(),
                records,
                bytes,
                method,
            }),
        }
    }
    *unattributed = (0, 0);
}

/// Turns one file's facts into a member, applying declared sources, then the parents'
/// sources, to content no URL attributed. What the registry already knows about the same
/// bytes is merged when it is stored.
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
    let mut unattributed = (st.unattributed_records, st.unattributed_bytes);
    // Content no URL attributed goes to the declared sources, or else to the sources of the
    // datasets it was derived from.
    assign(
        &mut attributions,
        &mut unattributed,
        declared,
        Method::Declared,
    );
    assign(
        &mut attributions,
        &mut unattributed,
        parent_sources,
        Method::Inherited,
    );
    let (un_records, un_bytes) = unattributed;
    attributions.sort_by(|a, b| a.source.cmp(&b.source));
    Member {
        path: entry.rel.clone(),
        shard: Shard {
            hash: facts.hash,
            size: facts.size,
            format: facts.format.to_string(),
            records: st.records,
            unattributed_records: un_records,
            unattributed_bytes: un_bytes,
            malformed: st.malformed,
            problem: st.problem,
        },
        attributions,
        prints,
    }
}
