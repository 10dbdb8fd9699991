//! The incremental scan state: for each file of a scanned directory, the (size, mtime,
//! inode) it had and the facts read from it, saved as one compact binary blob per directory
//! (one read and one write per scan, whatever the file count). Valid only under the same
//! attribution configuration; anything unreadable is treated as no state at all.

use super::FileEntry;
use super::read::FileFacts;
use crate::attribute::{self, RecordStats};

const MAGIC: &[u8; 8] = b"PTSTATE2";

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
    }
    w.0
}

/// Matches a directory's saved state against the walk: for each entry (sorted by path,
/// as the state is), the saved facts when its (size, mtime, inode) are unchanged. `None`
/// when the state is missing, corrupt, or from another attribution configuration. A merge
/// of two sorted lists: no map and no copy of the paths.
pub fn reuse(
    blob: &[u8],
    config: &blake3::Hash,
    ids: &[String],
    entries: &[FileEntry],
) -> Option<Vec<Option<FileFacts>>> {
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
    let mut out: Vec<Option<FileFacts>> = vec![None; entries.len()];
    let mut next = 0;
    while !r.0.is_empty() {
        let path = r.bytes()?;
        let version = (r.u64()?, r.u64()? as i64, r.u64()?);
        let hash = r.take(32)?;
        let size = r.u64()?;
        let format = r.bytes()?;
        let counts = [r.u64()?, r.u64()?, r.u64()?, r.u64()?];
        let problem = r.bytes()?;
        let has_problem = r.u64()? == 1;
        let pairs = r.u64()?;
        let mut per_source = Vec::new();
        for _ in 0..pairs {
            per_source.push((r.u64()?, r.u64()?, r.u64()?));
        }
        while next < entries.len() && entries[next].rel.as_slice() < path {
            next += 1;
        }
        let Some(e) = entries.get(next) else { break };
        if e.rel.as_slice() != path || (e.size, e.mtime_ns, e.inode) != version {
            continue;
        }
        let (f, c) = attribute::detect(path);
        let format_name = attribute::format_name(f, c);
        if format != format_name.as_bytes() {
            continue;
        }
        let mut stats = RecordStats {
            records: counts[0],
            malformed: counts[1],
            unattributed_records: counts[2],
            unattributed_bytes: counts[3],
            per_source: Vec::with_capacity(per_source.len()),
            problem: None,
        };
        if has_problem {
            stats.problem = Some(String::from_utf8_lossy(problem).into_owned());
        }
        let mut complete = true;
        for (i, rec, bytes) in per_source {
            match map.get(usize::try_from(i).ok()?).copied().flatten() {
                Some(target) => stats.per_source.push((target, rec, bytes)),
                // A source that no longer exists: re-read the file rather than drop records.
                None => complete = false,
            }
        }
        if !complete {
            continue;
        }
        stats.per_source.sort_unstable();
        out[next] = Some(FileFacts {
            hash: blake3::Hash::from_bytes(hash.try_into().ok()?),
            size,
            format: format_name,
            stats,
        });
        next += 1;
    }
    Some(out)
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
        let back = reuse(&blob, &config, &ids, &walk).unwrap();
        assert!(back[0].is_none() && back[1].is_none());
        let f = back[2].as_ref().unwrap();
        assert_eq!(f.stats, facts.stats);
        assert_eq!(f.hash, facts.hash);
        // Reordered sources are remapped by id.
        let swapped = vec!["b".to_string(), "a".to_string()];
        let back = reuse(&blob, &config, &swapped, &walk).unwrap();
        assert_eq!(back[2].as_ref().unwrap().stats.per_source, vec![(0, 3, 30)]);
        // A vanished source: that file is re-read.
        let back = reuse(&blob, &config, &["a".to_string()], &walk).unwrap();
        assert!(back[2].is_none());
        // Another configuration or a truncated blob: no state at all.
        assert!(reuse(&blob, &blake3::hash(b"other"), &ids, &walk).is_none());
        assert!(reuse(&blob[..blob.len() - 3], &config, &ids, &walk).is_none());
    }
}
