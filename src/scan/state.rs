//! The incremental scan state: for each file of a scanned directory, the (size, mtime,
//! inode) it had and the facts read from it, saved as one compact binary blob per directory
//! (one read and one write per scan, whatever the file count). Valid only under the same
//! attribution configuration; anything unreadable is treated as no state at all.

use std::collections::HashMap;

use super::FileEntry;
use super::read::FileFacts;
use crate::attribute::{self, RecordStats};

const MAGIC: &[u8; 8] = b"PTSTATE3";

struct Writer(Vec<u8>);

impl Writer {
    /// LEB128: most counts fit in one or two bytes.
    fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
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
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.0.first()?;
            self.0 = &self.0[1..];
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
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
        w.u64(st.per_source.len() as u64);
        for (i, r, b) in &st.per_source {
            w.u64(*i as u64);
            w.u64(*r);
            w.u64(*b);
        }
        w.u64(st.prints.matched.len() as u64);
        for (i, r, b) in &st.prints.matched {
            w.u64(*i as u64);
            w.u64(*r);
            w.u64(*b);
        }
    }
    w.0
}

/// A file's (size, mtime ns, inode).
type Version = (u64, i64, u64);

/// A directory's saved state, indexed by path (borrowed from the blob).
pub struct Saved<'a> {
    files: HashMap<&'a [u8], (Version, FileFacts)>,
}

impl Saved<'_> {
    /// The saved facts of a file whose (size, mtime, inode) are unchanged; with
    /// `check_bytes`, of a file whose bytes still hash the same, whatever its metadata
    /// says (it is hashed, but its records are not read again).
    pub fn reuse(&self, e: &FileEntry, check_bytes: bool) -> Option<FileFacts> {
        let (version, facts) = self.files.get(e.rel.as_slice())?;
        if check_bytes {
            // Another size is other bytes: no need to hash to know it.
            let same = e.size == facts.size
                && super::read::hash_only(&e.abs).ok()? == (facts.hash, facts.size);
            return same.then(|| facts.clone());
        }
        (*version == (e.size, e.mtime_ns, e.inode)).then(|| facts.clone())
    }
}

/// Decodes a directory's saved state. `None` when it is corrupt or from another
/// attribution configuration; files whose facts name a source that no longer exists are
/// left out (they are read again rather than lose records).
pub fn decode<'a>(blob: &'a [u8], config: &blake3::Hash, ids: &[String]) -> Option<Saved<'a>> {
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
    let mut files = HashMap::new();
    while !r.0.is_empty() {
        let path = r.bytes()?;
        let version = (r.u64()?, r.u64()? as i64, r.u64()?);
        let hash = blake3::Hash::from_bytes(r.take(32)?.try_into().ok()?);
        let size = r.u64()?;
        let format = r.bytes()?;
        let mut stats = RecordStats {
            records: r.u64()?,
            malformed: r.u64()?,
            unattributed_records: r.u64()?,
            unattributed_bytes: r.u64()?,
            per_source: Vec::new(),
            problem: None,
            failed: false,
            prints: Default::default(),
        };
        let problem = r.bytes()?;
        if r.u64()? == 1 {
            stats.problem = Some(String::from_utf8_lossy(problem).into_owned());
        }
        let mut complete = true;
        for _ in 0..r.u64()? {
            let (i, rec, bytes) = (r.u64()?, r.u64()?, r.u64()?);
            match map.get(usize::try_from(i).ok()?).copied().flatten() {
                Some(target) => stats.per_source.push((target, rec, bytes)),
                None => complete = false,
            }
        }
        for _ in 0..r.u64()? {
            let (i, rec, bytes) = (r.u64()?, r.u64()?, r.u64()?);
            match map.get(usize::try_from(i).ok()?).copied().flatten() {
                Some(target) => stats.prints.matched.push((target, rec, bytes)),
                None => complete = false,
            }
        }
        stats.per_source.sort_unstable();
        stats.prints.matched.sort_unstable();
        // The format comes from the content too, so it is saved, not derived from the name.
        let known = attribute::known_format_name(format);
        if complete && let Some(format_name) = known {
            let facts = FileFacts {
                hash,
                size,
                format: format_name,
                stats,
            };
            files.insert(path, (version, facts));
        }
    }
    Some(Saved { files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rel: &str, version: (u64, i64, u64)) -> FileEntry {
        FileEntry {
            rel: rel.as_bytes().to_vec(),
            abs: rel.into(),
            size: version.0,
            mtime_ns: version.1,
            inode: version.2,
        }
    }

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
                per_source: vec![(1, 3, 30)],
                unattributed_records: 2,
                unattributed_bytes: 20,
                problem: Some("oops".into()),
                failed: false,
                prints: Default::default(),
            },
        };
        let other = FileFacts {
            format: "binary",
            ..facts.clone()
        };
        let config = blake3::hash(b"config");
        let blob = encode(
            &config,
            &ids,
            [
                (b"a.bin".as_slice(), (1, 2, 3), &other),
                (b"d/f.jsonl".as_slice(), (10, 123, 7), &facts),
            ]
            .into_iter(),
        );
        let walk = [
            entry("a.bin", (1, 2, 4)), // inode changed: re-read
            entry("b.bin", (1, 2, 3)), // new file
            entry("d/f.jsonl", (10, 123, 7)),
        ];
        let reuse = |ids: &[String]| -> Option<Vec<Option<FileFacts>>> {
            let saved = decode(&blob, &config, ids)?;
            Some(walk.iter().map(|e| saved.reuse(e, false)).collect())
        };
        let back = reuse(&ids).unwrap();
        assert!(back[0].is_none() && back[1].is_none());
        let f = back[2].as_ref().unwrap();
        assert_eq!(f.stats, facts.stats);
        assert_eq!(f.hash, facts.hash);
        // Reordered sources are remapped by id.
        let swapped = vec!["b".to_string(), "a".to_string()];
        let back = reuse(&swapped).unwrap();
        assert_eq!(back[2].as_ref().unwrap().stats.per_source, vec![(0, 3, 30)]);
        // A vanished source: that file is re-read.
        let back = reuse(&["a".to_string()]).unwrap();
        assert!(back[2].is_none());
        // Another configuration or a truncated blob: no state at all.
        assert!(decode(&blob, &blake3::hash(b"other"), &ids).is_none());
        assert!(decode(&blob[..blob.len() - 3], &config, &ids).is_none());
    }
}
