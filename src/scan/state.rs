//! The incremental scan state: for each file of a scanned directory, the (size, mtime,
//! inode) it had and the facts read from it, saved as one compact binary blob per directory
//! (one read and one write per scan, whatever the file count). Valid only under the same
//! attribution configuration; anything unreadable is treated as no state at all.

use std::collections::HashMap;

use super::read::FileFacts;
use crate::attribute::{self, RecordStats};

const MAGIC: &[u8; 8] = b"PTSTATE1";

/// What was known of one file.
pub struct Cached {
    /// (size, mtime ns, inode) when read.
    pub version: (u64, i64, u64),
    /// What was read.
    pub facts: FileFacts,
}

struct Writer(Vec<u8>);

impl Writer {
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n)
    }
}

/// Encodes the state of a directory: `config` and, per file, its version and facts.
/// `ids` names the sources that `per_source` indexes.
pub fn encode<'a>(
    config: &blake3::Hash,
    ids: &[String],
    files: impl Iterator<Item = (&'a [u8], (u64, i64, u64), &'a FileFacts)>,
) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.0.extend_from_slice(MAGIC);
    w.0.extend_from_slice(config.as_bytes());
    w.u64(ids.len() as u64);
    for id in ids {
        w.bytes(id.as_bytes());
    }
    for (path, (size, mtime, inode), f) in files {
        w.bytes(path);
        w.u64(size);
        w.u64(mtime as u64);
        w.u64(inode);
        w.0.extend_from_slice(f.hash.as_bytes());
        w.u64(f.size);
        w.bytes(f.format.as_bytes());
        let st = &f.stats;
        w.u64(st.records);
        w.u64(st.malformed);
        w.u64(st.unattributed_records);
        w.u64(st.unattributed_bytes);
        w.bytes(st.problem.as_deref().unwrap_or("").as_bytes());
        w.u64(u64::from(st.problem.is_some()));
        let nonzero: Vec<(usize, &(u64, u64))> = st
            .per_source
            .iter()
            .enumerate()
            .filter(|(_, v)| v.0 > 0)
            .collect();
        w.u64(nonzero.len() as u64);
        for (i, (r, b)) in nonzero {
            w.u64(i as u64);
            w.u64(*r);
            w.u64(*b);
        }
    }
    w.0
}

/// Decodes a directory's state saved under `config` for sources `ids`; `None` when it is
/// missing, corrupt, or from another configuration.
pub fn decode(
    blob: &[u8],
    config: &blake3::Hash,
    ids: &[String],
) -> Option<HashMap<Vec<u8>, Cached>> {
    let mut r = Reader(blob);
    if r.take(8)? != MAGIC || r.take(32)? != config.as_bytes() {
        return None;
    }
    // Source indexes are remapped by id, so a reordering of sources does not matter.
    let n = r.u64()?;
    let mut map = Vec::new();
    for _ in 0..n {
        let id = std::str::from_utf8(r.bytes()?).ok()?;
        map.push(ids.iter().position(|x| x == id));
    }
    let mut out = HashMap::new();
    while !r.0.is_empty() {
        let path = r.bytes()?.to_vec();
        let version = (r.u64()?, r.u64()? as i64, r.u64()?);
        let hash = blake3::Hash::from_bytes(r.take(32)?.try_into().ok()?);
        let size = r.u64()?;
        let format = std::str::from_utf8(r.bytes()?).ok()?;
        let (f, c) = attribute::detect(&path);
        let format_name = attribute::format_name(f, c);
        if format != format_name {
            return None;
        }
        let mut st = RecordStats {
            records: r.u64()?,
            malformed: r.u64()?,
            unattributed_records: r.u64()?,
            unattributed_bytes: r.u64()?,
            per_source: vec![(0, 0); ids.len()],
            problem: None,
        };
        let problem = std::str::from_utf8(r.bytes()?).ok()?.to_string();
        if r.u64()? == 1 {
            st.problem = Some(problem);
        }
        for _ in 0..r.u64()? {
            let (i, rec, bytes) = (r.u64()?, r.u64()?, r.u64()?);
            let target = (*map.get(usize::try_from(i).ok()?)?)?;
            st.per_source[target] = (rec, bytes);
        }
        out.insert(
            path,
            Cached {
                version,
                facts: FileFacts {
                    hash,
                    size,
                    format: format_name,
                    stats: st,
                },
            },
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let ids = vec!["a".to_string(), "b".to_string()];
        let facts = FileFacts {
            hash: blake3::hash(b"x"),
            size: 10,
            format: "jsonl",
            stats: RecordStats {
                records: 5,
                malformed: 1,
                per_source: vec![(0, 0), (3, 30)],
                unattributed_records: 2,
                unattributed_bytes: 20,
                problem: Some("oops".into()),
            },
        };
        let config = blake3::hash(b"config");
        let blob = encode(
            &config,
            &ids,
            [(b"d/f.jsonl".as_slice(), (10, 123, 7), &facts)].into_iter(),
        );
        let back = decode(&blob, &config, &ids).unwrap();
        let c = &back[b"d/f.jsonl".as_slice()];
        assert_eq!(c.version, (10, 123, 7));
        assert_eq!(c.facts.stats, facts.stats);
        assert_eq!(c.facts.hash, facts.hash);
        // Reordered sources are remapped by id.
        let swapped = vec!["b".to_string(), "a".to_string()];
        let back = decode(&blob, &config, &swapped).unwrap();
        assert_eq!(
            back[b"d/f.jsonl".as_slice()].facts.stats.per_source,
            vec![(3, 30), (0, 0)]
        );
        // Another configuration, a truncated blob, or a vanished source: no state.
        assert!(decode(&blob, &blake3::hash(b"other"), &ids).is_none());
        assert!(decode(&blob[..blob.len() - 3], &config, &ids).is_none());
        assert!(decode(&blob, &config, &["a".to_string()]).is_none());
    }
}
