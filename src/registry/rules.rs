//! The registry's pure rules, shared by both backends: sealing's checks on staged parts,
//! the `dup` mark, the description of a changed re-scan, what a card import attributes,
//! and how what a version declared adds to what its shards' bytes showed.

use std::collections::HashMap;

use super::{
    CardAttributed, CardImport, ContentRow, DatasetInfo, Member, PartMember, RegistryError,
    SourceUsage, StagedPartRow,
};
use crate::types::DatasetRef;

impl CardImport {
    /// From a dataset's members as (path, shard id, unattributed records, unattributed
    /// bytes), the distinct shards whose unclaimed content this import declares the
    /// source's, and what that adds up to. Both backends decide alike through this.
    pub fn targets(
        &self,
        members: &[(Vec<u8>, i64, i64, i64)],
    ) -> (Vec<(i64, i64, i64)>, CardAttributed) {
        let wanted: Option<std::collections::HashSet<&[u8]>> = self
            .paths
            .as_ref()
            .map(|ps| ps.iter().map(Vec::as_slice).collect());
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        let mut sum = CardAttributed::default();
        for (path, shard, records, bytes) in members {
            if *records <= 0
                || wanted
                    .as_ref()
                    .is_some_and(|w| !w.contains(path.as_slice()))
                || !seen.insert(*shard)
            {
                continue;
            }
            out.push((*shard, *records, *bytes));
            sum.shards += 1;
            sum.records += *records as u64;
            sum.bytes += (*bytes).max(0) as u64;
        }
        (out, sum)
    }
}

/// Sealing's checks on the staged parts of `d` (by part; `sealed`: the version is already
/// published): some parts, all of the same N, parts 1..N all there, one org and date.
pub fn check_staged_parts(
    d: &DatasetRef,
    sealed: bool,
    parts: &[StagedPartRow],
) -> Result<(), RegistryError> {
    if sealed {
        return Err(RegistryError::AlreadySealed(d.clone()));
    }
    let Some(first) = parts.first() else {
        return Err(RegistryError::NoStagedParts(d.clone()));
    };
    let n = first.parts;
    if let Some(p) = parts.iter().find(|p| p.parts != n) {
        return Err(RegistryError::PartCountsDisagree {
            dataset: d.clone(),
            first: (first.part, first.parts),
            other: (p.part, p.parts),
        });
    }
    let missing: Vec<String> = (1..=n)
        .filter(|k| !parts.iter().any(|p| p.part == *k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(RegistryError::PartMissing {
            dataset: d.clone(),
            missing: missing.join(", "),
            staged: parts
                .iter()
                .map(|p| format!("{}/{n}", p.part))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    if let Some(p) = parts[1..]
        .iter()
        .find(|p| p.org != first.org || p.collected != first.collected)
    {
        let origin = |p: &StagedPartRow| {
            let org = p.org.as_deref().unwrap_or("-").to_string();
            (p.part, org, p.collected.clone())
        };
        return Err(RegistryError::PartsDisagree {
            dataset: d.clone(),
            parts: n,
            first: Box::new(origin(first)),
            other: Box::new(origin(p)),
        });
    }
    Ok(())
}

/// The `--derived-from` parents (ids) every staged part was scanned with, which must agree;
/// `parents` in the order of `parts`.
pub fn same_parents(
    d: &DatasetRef,
    parts: &[StagedPartRow],
    parents: Vec<Vec<i64>>,
) -> Result<Vec<i64>, RegistryError> {
    let mut agreed: Option<Vec<i64>> = None;
    for (p, ids) in parts.iter().zip(parents) {
        match &agreed {
            Some(q) if *q != ids => {
                return Err(RegistryError::PartParentsDisagree {
                    dataset: d.clone(),
                    part: p.part,
                    first: parts[0].part,
                    parts: p.parts,
                });
            }
            _ => agreed = Some(ids),
        }
    }
    Ok(agreed.unwrap_or_default())
}

/// The version sealing publishes from its parts' `members` (sorted here by path): no path
/// in two parts, the root hash over all of them as a single scan computes it.
pub fn sealed_info(
    d: &DatasetRef,
    parts: &[StagedPartRow],
    members: &mut [PartMember],
) -> Result<DatasetInfo, RegistryError> {
    let first = &parts[0];
    let n = first.parts;
    members.sort_by(|a, b| (&a.path, a.part).cmp(&(&b.path, b.part)));
    if let Some(w) = members.windows(2).find(|w| w[0].path == w[1].path) {
        return Err(RegistryError::PathInTwoParts {
            dataset: d.clone(),
            path: String::from_utf8_lossy(&w[0].path).into_owned(),
            first: w[0].part,
            other: w[1].part,
            parts: n,
        });
    }
    Ok(DatasetInfo {
        dataset: d.clone(),
        org: first.org.clone(),
        collected: first
            .collected
            .parse()
            .map_err(|why: String| RegistryError::BadStagedDate {
                dataset: d.clone(),
                why,
            })?,
        root: crate::digest::root_hash(members.iter().map(|m| (m.path.as_slice(), &m.hash))),
        files: members.len() as u64,
        bytes: members.iter().map(|m| m.size).sum(),
        records: distinct_records(members.iter().map(|m| (&m.hash, m.records))),
        parents: Vec::new(),
        retracted: None,
    })
}

/// A scan's members as (path, shard id), as the backends write them.
pub fn member_rows<'a>(members: &'a [Member], shard_ids: &[i64]) -> Vec<(&'a [u8], i64)> {
    members
        .iter()
        .zip(shard_ids)
        .map(|(m, id)| (m.path.as_slice(), *id))
        .collect()
}

/// The members' indexes in the order of their shards' hashes (members holding the same
/// shard by index): the order shard rows are written in, so that each B-tree fills
/// sequentially and concurrent writers take row locks in one order.
pub fn by_hash(members: &[Member]) -> Vec<usize> {
    // The keys are gathered first: sorting indexes that reach into each member for its
    // hash spent most of its time waiting on memory. (hash, index) is unique: an unstable
    // sort gives the one order.
    let mut keys: Vec<([u8; 32], usize)> = members
        .iter()
        .enumerate()
        .map(|(k, m)| (*m.shard.hash.as_bytes(), k))
        .collect();
    keys.sort_unstable();
    keys.into_iter().map(|(_, k)| k).collect()
}

/// The `dup` mark of each member of one dataset version (`members` as (path, shard id)):
/// set on every member holding a shard that a member with a smaller path already holds.
pub fn dup_flags<'a>(members: impl Iterator<Item = (&'a [u8], i64)>) -> Vec<bool> {
    let members: Vec<(&[u8], i64)> = members.collect();
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by(|&a, &b| members[a].0.cmp(members[b].0));
    let mut seen = foldhash::HashSet::with_capacity_and_hasher(members.len(), Default::default());
    let mut dup = vec![false; members.len()];
    for k in order {
        dup[k] = !seen.insert(members[k].1);
    }
    dup
}

/// Names what differs between a stored member list and a new one, for the one-line error
/// of a re-scan with different content: `changed: a, b; added: c; removed: d`.
pub fn describe_changes(old: &[(Vec<u8>, blake3::Hash)], new: &[Member]) -> String {
    let old: HashMap<&[u8], &blake3::Hash> = old.iter().map(|(p, h)| (p.as_slice(), h)).collect();
    let new_map: HashMap<&[u8], &blake3::Hash> = new
        .iter()
        .map(|m| (m.path.as_slice(), &m.shard.hash))
        .collect();
    let show = |p: &[u8]| String::from_utf8_lossy(p).into_owned();
    let mut changed = Vec::new();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for m in new {
        match old.get(m.path.as_slice()) {
            Some(h) if **h != m.shard.hash => changed.push(show(&m.path)),
            Some(_) => {}
            None => added.push(show(&m.path)),
        }
    }
    for p in old.keys() {
        if !new_map.contains_key(p) {
            removed.push(show(p));
        }
    }
    removed.sort();
    let list = |label: &str, v: &[String]| -> Option<String> {
        if v.is_empty() {
            return None;
        }
        const SHOWN: usize = 5;
        let mut s = format!("{label}: {}", v[..v.len().min(SHOWN)].join(", "));
        if v.len() > SHOWN {
            s.push_str(&format!(" and {} more", v.len() - SHOWN));
        }
        Some(s)
    };
    let parts: Vec<String> = [
        list("changed", &changed),
        list("added", &added),
        list("removed", &removed),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        "same files, different metadata".to_string()
    } else {
        parts.join("; ")
    }
}

/// The records of a version's content: each distinct shard once, however many paths hold
/// it (files and bytes count every path: they describe what is on disk).
pub fn distinct_records<'a>(members: impl Iterator<Item = (&'a blake3::Hash, u64)>) -> u64 {
    let mut seen = foldhash::HashSet::with_capacity_and_hasher(
        members.size_hint().0,
        foldhash::fast::RandomState::default(),
    );
    members
        .filter(|(h, _)| seen.insert(*h))
        .fold(0u64, |sum, (_, n)| sum.saturating_add(n))
}

/// A version's content per source, by source: what its shards' bytes showed (`observed`)
/// plus what it declared of the content they left unattributed (`declared`, each with how
/// many of its shards the bytes also attribute to the source: a shard counts once).
pub fn merge_usage(
    observed: Vec<SourceUsage>,
    declared: Vec<(SourceUsage, u64)>,
) -> Vec<SourceUsage> {
    let mut by: std::collections::BTreeMap<Option<String>, SourceUsage> = observed
        .into_iter()
        .map(|u| (u.source.clone(), u))
        .collect();
    for (d, both) in declared {
        let u = by.entry(d.source.clone()).or_insert_with(|| SourceUsage {
            source: d.source.clone(),
            shards: 0,
            records: 0,
            bytes: 0,
        });
        u.shards = u.shards.saturating_add(d.shards.saturating_sub(both));
        u.records = u.records.saturating_add(d.records);
        u.bytes = u.bytes.saturating_add(d.bytes);
    }
    by.into_values().collect()
}

/// Every member holding a source's content (see [`super::Registry::source_content`]): the
/// `observed` rows, each with the `declared` records of the same version and shard added,
/// then the declared rows of shards whose bytes showed none of the source, by collection
/// date and version (the observed rows' order kept within a version).
pub fn merge_content(mut observed: Vec<ContentRow>, declared: Vec<ContentRow>) -> Vec<ContentRow> {
    if declared.is_empty() {
        return observed;
    }
    let mut at: HashMap<(DatasetRef, blake3::Hash), usize> = HashMap::new();
    for (i, r) in observed.iter().enumerate() {
        at.entry((r.dataset.clone(), r.shard)).or_insert(i);
    }
    for d in declared {
        match at.get(&(d.dataset.clone(), d.shard)) {
            Some(&i) => {
                observed[i].records = observed[i].records.saturating_add(d.records);
                observed[i].bytes = observed[i].bytes.saturating_add(d.bytes);
            }
            None => observed.push(d),
        }
    }
    observed.sort_by(|a, b| (a.collected, &a.dataset).cmp(&(b.collected, &b.dataset)));
    observed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{Shard, Source};

    fn usage(source: Option<&str>, shards: u64, records: u64) -> SourceUsage {
        SourceUsage {
            source: source.map(String::from),
            shards,
            records,
            bytes: records * 10,
        }
    }

    #[test]
    fn declared_content_adds_to_observed_and_a_shard_counts_once() {
        let got = merge_usage(
            vec![usage(Some("a"), 2, 20), usage(Some("b"), 1, 5)],
            vec![(usage(Some("b"), 3, 30), 1), (usage(Some("c"), 1, 4), 0)],
        );
        assert_eq!(
            got,
            vec![
                usage(Some("a"), 2, 20),
                usage(Some("b"), 3, 35),
                usage(Some("c"), 1, 4)
            ]
        );
        assert_eq!(merge_usage(Vec::new(), Vec::new()), Vec::new());
    }

    #[test]
    fn declared_records_join_the_same_version_and_shard_or_come_in_date_order() {
        let row = |d: &str, date: &str, shard: &[u8], records: u64| ContentRow {
            dataset: d.parse().unwrap(),
            org: None,
            collected: date.parse().unwrap(),
            shard: blake3::hash(shard),
            records,
            bytes: records,
        };
        let observed = vec![
            row("a@1", "2020-01-01", b"x", 3),
            row("b@1", "2022-01-01", b"y", 4),
        ];
        let got = merge_content(
            observed,
            vec![
                row("a@1", "2020-01-01", b"x", 2),
                row("c@1", "2021-01-01", b"z", 7),
            ],
        );
        let short: Vec<(String, u64)> = got
            .iter()
            .map(|r| (r.dataset.to_string(), r.records))
            .collect();
        assert_eq!(
            short,
            vec![("a@1".into(), 5), ("c@1".into(), 7), ("b@1".into(), 4)]
        );
    }

    fn d() -> DatasetRef {
        "web@1".parse().unwrap()
    }

    fn part(id: i64, k: i64, n: i64, org: Option<&str>, collected: &str) -> StagedPartRow {
        StagedPartRow {
            id,
            part: k,
            parts: n,
            org: org.map(str::to_string),
            collected: collected.into(),
        }
    }

    fn shard(byte: u8, size: u64, records: u64) -> Shard {
        Shard {
            hash: blake3::hash(&[byte]),
            size,
            format: "jsonl".into(),
            records,
            unattributed_records: 0,
            unattributed_bytes: 0,
            malformed: 0,
            problem: None,
        }
    }

    fn member(path: &str, byte: u8) -> Member {
        Member {
            path: path.as_bytes().to_vec(),
            shard: shard(byte, 1, 1),
            attributions: Vec::new(),
            declared: Vec::new(),
            prints: Vec::new(),
            hosts: None,
        }
    }

    fn message(r: Result<impl std::fmt::Debug, RegistryError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn staged_parts_are_checked_in_order() {
        let p = |k, n| part(k, k, n, Some("acme"), "2024-01-01");
        assert_eq!(
            message(check_staged_parts(&d(), true, &[p(1, 1)])),
            "dataset web@1 is already registered (sealed)"
        );
        assert_eq!(
            message(check_staged_parts(&d(), false, &[])),
            "dataset web@1 has no staged parts; scan each slice with --partition K/N first"
        );
        assert_eq!(
            message(check_staged_parts(&d(), false, &[p(1, 2), p(2, 3)])),
            "dataset web@1: part 1/2 and part 2/3 disagree on the number of parts"
        );
        assert_eq!(
            message(check_staged_parts(&d(), false, &[p(2, 4), p(4, 4)])),
            "dataset web@1: part 1/4, 3/4 missing (staged: 2/4, 4/4); scan it with --partition"
        );
        let other = part(2, 2, 2, None, "2024-02-01");
        assert_eq!(
            message(check_staged_parts(&d(), false, &[p(1, 2), other])),
            "dataset web@1: part 1/2 (org acme, collected 2024-01-01) and part 2/2 (org -, collected 2024-02-01) disagree; re-scan with the same --org and --collected"
        );
        assert!(check_staged_parts(&d(), false, &[p(1, 2), p(2, 2)]).is_ok());
    }

    #[test]
    fn parts_must_share_their_parents() {
        let parts = [
            part(7, 1, 2, None, "2024-01-01"),
            part(8, 2, 2, None, "2024-01-01"),
        ];
        assert_eq!(
            same_parents(&d(), &parts, vec![vec![3, 5], vec![3, 5]]).unwrap(),
            vec![3, 5]
        );
        assert_eq!(
            message(same_parents(&d(), &parts, vec![vec![3], vec![5]])),
            "dataset web@1: part 2/2 was scanned with other --derived-from parents than part 1/2"
        );
        assert!(same_parents(&d(), &[], Vec::new()).unwrap().is_empty());
    }

    #[test]
    fn sealing_computes_one_scans_root_and_refuses_a_path_twice() {
        let parts = [
            part(7, 1, 2, Some("acme"), "2024-01-01"),
            part(8, 2, 2, Some("acme"), "2024-01-01"),
        ];
        let pm = |path: &str, byte: u8, k: i64| PartMember {
            path: path.as_bytes().to_vec(),
            shard_id: i64::from(byte),
            hash: blake3::hash(&[byte]),
            size: 10,
            records: 2,
            part: k,
        };
        let mut members = vec![pm("b", 2, 2), pm("a", 1, 1)];
        let info = sealed_info(&d(), &parts, &mut members).unwrap();
        let whole = crate::digest::root_hash([
            ("a".as_bytes(), &blake3::hash(&[1])),
            ("b".as_bytes(), &blake3::hash(&[2])),
        ]);
        assert_eq!(info.root, whole);
        assert_eq!((info.files, info.bytes, info.records), (2, 20, 4));
        assert_eq!(info.org.as_deref(), Some("acme"));
        let mut twice = vec![pm("a", 1, 1), pm("a", 2, 2)];
        assert_eq!(
            message(sealed_info(&d(), &parts, &mut twice)),
            "dataset web@1: path a is in part 1/2 and part 2/2; were the parts scanned from different trees?"
        );
    }

    #[test]
    fn dup_marks_every_later_path_of_a_shard() {
        let rows: [(&[u8], i64); 4] = [(b"c", 1), (b"a", 1), (b"b", 2), (b"d", 1)];
        assert_eq!(dup_flags(rows.into_iter()), vec![true, false, false, true]);
        let members = [member("x", 1), member("y", 2)];
        assert_eq!(
            member_rows(&members, &[10, 20]),
            vec![(b"x".as_slice(), 10), (b"y".as_slice(), 20)]
        );
    }

    #[test]
    fn members_go_in_hash_order_first_holder_first() {
        let members = [member("a", 1), member("b", 2), member("c", 1)];
        let order = by_hash(&members);
        let hashes: Vec<_> = order.iter().map(|&k| members[k].shard.hash).collect();
        assert!(
            hashes
                .windows(2)
                .all(|w| w[0].as_bytes() <= w[1].as_bytes())
        );
        let a = order.iter().position(|&k| k == 0).unwrap();
        let c = order.iter().position(|&k| k == 2).unwrap();
        assert_eq!(c, a + 1, "the same shard's members are together, by index");
    }

    #[test]
    fn changes_name_changed_added_and_removed_paths() {
        let old = vec![
            (b"a".to_vec(), blake3::hash(&[1])),
            (b"b".to_vec(), blake3::hash(&[2])),
            (b"gone".to_vec(), blake3::hash(&[3])),
        ];
        let new = [member("a", 9), member("b", 2), member("new", 4)];
        assert_eq!(
            describe_changes(&old, &new),
            "changed: a; added: new; removed: gone"
        );
        let same = [member("a", 1), member("b", 2), member("gone", 3)];
        assert_eq!(
            describe_changes(&old, &same),
            "same files, different metadata"
        );
        let many: Vec<Member> = (0..7).map(|k| member(&format!("n{k}"), 10 + k)).collect();
        assert!(describe_changes(&[], &many).ends_with("n4 and 2 more"));
    }

    #[test]
    fn a_card_claims_each_unclaimed_shard_once() {
        let mut card = CardImport {
            dataset: d(),
            source: Source {
                id: "hub".into(),
                name: "Hub".into(),
                domains: Vec::new(),
            },
            licences: Vec::new(),
            grants: Vec::new(),
            paths: None,
        };
        let members = vec![
            (b"a".to_vec(), 1, 5, 50),
            (b"b".to_vec(), 1, 5, 50),
            (b"c".to_vec(), 2, 0, 0),
            (b"d".to_vec(), 3, 2, -1),
        ];
        let (targets, sum) = card.targets(&members);
        assert_eq!(targets, vec![(1, 5, 50), (3, 2, -1)]);
        assert_eq!(
            sum,
            CardAttributed {
                shards: 2,
                records: 7,
                bytes: 50
            }
        );
        card.paths = Some(vec![b"d".to_vec()]);
        assert_eq!(card.targets(&members).0, vec![(3, 2, -1)]);
    }
}
