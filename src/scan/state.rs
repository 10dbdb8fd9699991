//! The incremental scan state: for each file of a scanned directory, the (size, mtime,
//! inode) it had and the facts read from it, saved as one compact binary blob per directory
//! (one read and one write per scan, whatever the file count). Valid only under the same
//! attribution configuration; anything unreadable is treated as no state at all.
//!
//! Format 4 (written): files in path order, each path stored as the length it shares with
//! the previous one and the rest, mtime and inode as differences from the previous file's,
//! the format as an index into a table, and the facts of an opaque file (one unattributed
//! record of all its bytes, the usual case in a directory of blobs) as one flag: about half
//! the bytes of format 3, which is still read (its files are then reused as before).

use std::borrow::Cow;
use std::collections::HashMap;

use super::FileEntry;
use super::read::FileFacts;
use crate::attribute::{self, RecordStats};

const MAGIC_V3: &[u8; 8] = b"PTSTATE3";
const MAGIC: &[u8; 8] = b"PTSTATE4";

/// Per-file flags of format 4.
const F_SIZE: u64 = 1; // the bytes hashed differ from the listed size (then stored)
const F_OPAQUE: u64 = 2; // one unattributed record of all the bytes; no stats follow
const F_PROBLEM: u64 = 4; // a problem text follows

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

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

/// Whether `st` is exactly what an opaque file of `size` bytes has (see `read::opaque`),
/// as far as the state keeps it.
fn is_opaque(st: &RecordStats, size: u64) -> bool {
    st.records == 1
        && st.malformed == 0
        && st.unattributed_records == 1
        && st.unattributed_bytes == size
        && st.problem.is_none()
        && st.per_source.is_empty()
        && st.prints.matched.is_empty()
}

/// Fingerprint of everything attribution depends on besides the bytes: the source
/// domains, the URL fields, the reading limits and whether Parquet can be read. Cached
/// facts from another configuration (or an older reader) are not reused.
pub(super) fn attribution_config(
    sources: &[crate::registry::Source],
    field: &crate::attribute::UrlField,
    limits: &crate::attribute::Limits,
) -> blake3::Hash {
    let mut h = blake3::Hasher::new();
    h.update(b"provtrack-attribution-v3\n");
    if !field.prints() {
        h.update(b"no-prints\n");
    }
    for f in field.text_dotted() {
        h.update(format!("text\0{f}\n").as_bytes());
    }
    // What was registered when a file was cached does not enter: every cached file's shard
    // is registered, and a registered shard counts by its stored attributions, not by these
    // facts (a set scanned before its sources were registered is re-matched by --rehash).
    h.update(
        format!(
            "limits\0{}\0{}\n",
            limits.max_record_bytes, limits.max_expansion
        )
        .as_bytes(),
    );
    for s in sources {
        for d in &s.domains {
            h.update(format!("{d}\0{}\n", s.id).as_bytes());
        }
    }
    for f in field.dotted() {
        h.update(format!("field\0{f}\n").as_bytes());
    }
    // A build without the Parquet reader records Parquet shards as unread: its facts must
    // not be reused by a build that can read them (nor the reverse). Only the lean build
    // adds this line, so default builds keep their existing state.
    if !cfg!(feature = "parquet") {
        h.update(b"no-parquet-reader\n");
    }
    h.finalize()
}

/// Encodes the state of a directory: `config` and, per file in path order, its version
/// and facts. `ids` names the sources that `per_source` indexes.
pub fn encode<'a>(
    config: &blake3::Hash,
    ids: &[String],
    files: impl Iterator<Item = (&'a [u8], (u64, i64, u64), &'a FileFacts)>,
) -> Vec<u8> {
    let files: Vec<_> = files.collect();
    let mut formats: Vec<&'static str> = Vec::new();
    for (_, _, f) in &files {
        if !formats.contains(&f.format) {
            formats.push(f.format);
        }
    }
    let mut w = Writer(Vec::with_capacity(64 + files.len() * 56));
    w.0.extend_from_slice(MAGIC);
    w.0.extend_from_slice(config.as_bytes());
    w.u64(ids.len() as u64);
    for id in ids {
        w.bytes(id.as_bytes());
    }
    w.u64(formats.len() as u64);
    for f in &formats {
        w.bytes(f.as_bytes());
    }
    let (mut prev, mut prev_mtime, mut prev_inode): (&[u8], i64, u64) = (b"", 0, 0);
    for (path, (size, mtime, inode), f) in files {
        let shared = path.iter().zip(prev).take_while(|(a, b)| a == b).count();
        w.u64(shared as u64);
        w.bytes(&path[shared..]);
        w.u64(size);
        w.u64(zigzag(mtime.wrapping_sub(prev_mtime)));
        w.u64(zigzag(inode.wrapping_sub(prev_inode) as i64));
        (prev, prev_mtime, prev_inode) = (path, mtime, inode);
        w.0.extend_from_slice(f.hash.as_bytes());
        let st = &f.stats;
        let opaque = is_opaque(st, f.size);
        let flags = if f.size != size { F_SIZE } else { 0 }
            | if opaque { F_OPAQUE } else { 0 }
            | if st.problem.is_some() { F_PROBLEM } else { 0 };
        w.u64(flags);
        if f.size != size {
            w.u64(f.size);
        }
        // Every format is in the table (built above).
        w.u64(formats.iter().position(|x| *x == f.format).unwrap_or(0) as u64);
        if opaque {
            continue;
        }
        w.u64(st.records);
        w.u64(st.malformed);
        w.u64(st.unattributed_records);
        w.u64(st.unattributed_bytes);
        if let Some(p) = &st.problem {
            w.bytes(p.as_bytes());
        }
        for list in [&st.per_source, &st.prints.matched] {
            w.u64(list.len() as u64);
            for (i, r, b) in list {
                w.u64(*i as u64);
                w.u64(*r);
                w.u64(*b);
            }
        }
    }
    w.0
}

/// A file's (size, mtime ns, inode).
type Version = (u64, i64, u64);

/// A directory's saved state, indexed by path (borrowed from the blob).
pub struct Saved<'a> {
    files: HashMap<Cow<'a, [u8]>, (Version, FileFacts), foldhash::fast::RandomState>,
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

/// Decodes a directory's saved state (format 4, or 3 as older versions wrote it). `None`
/// when it is corrupt or from another attribution configuration; files whose facts name a
/// source that no longer exists are left out (they are read again rather than lose records).
pub fn decode<'a>(blob: &'a [u8], config: &blake3::Hash, ids: &[String]) -> Option<Saved<'a>> {
    let mut r = Reader(blob);
    let magic = r.take(8)?;
    if (magic != MAGIC && magic != MAGIC_V3) || r.take(32)? != config.as_bytes() {
        return None;
    }
    // Source indexes are remapped by id, so a reordering of sources does not matter.
    let n = r.u64()?;
    let mut map = Vec::new();
    for _ in 0..n {
        let id = std::str::from_utf8(r.bytes()?).ok()?;
        map.push(ids.iter().position(|x| x == id));
    }
    if magic == MAGIC {
        return decode_v4(r, &map);
    }
    let mut files = HashMap::default();
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
            // Hosts are stored with the shard, which a saved state implies is registered.
            hosts: None,
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
            files.insert(Cow::Borrowed(path), (version, facts));
        }
    }
    Some(Saved { files })
}

/// Reads `n` (source index, records, bytes) of a file, remapped by `map`; `false` when one
/// names a source that is gone.
fn remapped(
    r: &mut Reader<'_>,
    map: &[Option<usize>],
    out: &mut Vec<(usize, u64, u64)>,
) -> Option<bool> {
    let mut complete = true;
    for _ in 0..r.u64()? {
        let (i, rec, bytes) = (r.u64()?, r.u64()?, r.u64()?);
        match map.get(usize::try_from(i).ok()?).copied().flatten() {
            Some(target) => out.push((target, rec, bytes)),
            None => complete = false,
        }
    }
    out.sort_unstable();
    Some(complete)
}

/// The files of a format-4 state, after its header and source ids.
fn decode_v4<'a>(mut r: Reader<'a>, map: &[Option<usize>]) -> Option<Saved<'a>> {
    let mut formats = Vec::new();
    for _ in 0..r.u64()? {
        formats.push(attribute::known_format_name(r.bytes()?));
    }
    let mut files = HashMap::default();
    let mut path: Vec<u8> = Vec::new();
    let (mut mtime, mut inode) = (0i64, 0u64);
    while !r.0.is_empty() {
        let shared = usize::try_from(r.u64()?).ok()?;
        if shared > path.len() {
            return None;
        }
        path.truncate(shared);
        path.extend_from_slice(r.bytes()?);
        let size = r.u64()?;
        mtime = mtime.wrapping_add(unzigzag(r.u64()?));
        inode = inode.wrapping_add(unzigzag(r.u64()?) as u64);
        let hash = blake3::Hash::from_bytes(r.take(32)?.try_into().ok()?);
        let flags = r.u64()?;
        let hashed = if flags & F_SIZE != 0 { r.u64()? } else { size };
        let format = *formats.get(usize::try_from(r.u64()?).ok()?)?;
        let mut complete = true;
        let stats = if flags & F_OPAQUE != 0 {
            // As `read::opaque` gives, less the hosts (stored with the shard).
            RecordStats {
                records: 1,
                unattributed_records: 1,
                unattributed_bytes: hashed,
                hosts: None,
                ..RecordStats::default()
            }
        } else {
            let mut st = RecordStats {
                records: r.u64()?,
                malformed: r.u64()?,
                unattributed_records: r.u64()?,
                unattributed_bytes: r.u64()?,
                // Hosts are stored with the shard, which a saved state implies is registered.
                hosts: None,
                ..RecordStats::default()
            };
            if flags & F_PROBLEM != 0 {
                st.problem = Some(String::from_utf8_lossy(r.bytes()?).into_owned());
            }
            complete &= remapped(&mut r, map, &mut st.per_source)?;
            complete &= remapped(&mut r, map, &mut st.prints.matched)?;
            st
        };
        // The format comes from the content too, so it is saved, not derived from the name.
        if complete && let Some(format) = format {
            let facts = FileFacts {
                hash,
                size: hashed,
                format,
                stats,
            };
            files.insert(Cow::Owned(path.clone()), ((size, mtime, inode), facts));
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
                hosts: None,
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

    #[test]
    fn format_4_is_dense_and_round_trips_what_format_3_did() {
        let ids = vec!["a".to_string()];
        let opaque = |size: u64| FileFacts {
            hash: blake3::hash(&size.to_le_bytes()),
            size,
            format: "binary",
            stats: RecordStats {
                records: 1,
                unattributed_records: 1,
                unattributed_bytes: size,
                ..Default::default()
            },
        };
        let grown = FileFacts {
            size: 12, // more bytes hashed than listed
            ..opaque(12)
        };
        let records = FileFacts {
            hash: blake3::hash(b"j"),
            size: 30,
            format: "jsonl",
            stats: RecordStats {
                records: 3,
                per_source: vec![(0, 2, 20)],
                unattributed_records: 1,
                unattributed_bytes: 10,
                problem: Some("no-url-field".into()),
                ..Default::default()
            },
        };
        let config = blake3::hash(b"config");
        let (eight, empty) = (opaque(8), opaque(0));
        // Versions going down as well as up: mtime and inode are stored as differences.
        let files: Vec<(&[u8], Version, &FileFacts)> = vec![
            (b"d/a.bin", (8, 1_700_000_000_000_000_000, 900), &eight),
            (b"d/b.bin", (10, 5, 7), &grown),
            (b"d/bb.jsonl", (30, -3, u64::MAX), &records),
            (b"e", (0, i64::MAX, 0), &empty),
        ];
        let blob = encode(&config, &ids, files.iter().copied());
        let saved = decode(&blob, &config, &ids).unwrap();
        for (path, v, f) in &files {
            let e = entry(std::str::from_utf8(path).unwrap(), *v);
            let back = saved.reuse(&e, false).unwrap();
            assert_eq!(
                (back.hash, back.size, back.format),
                (f.hash, f.size, f.format)
            );
            assert_eq!(
                back.stats,
                RecordStats {
                    hosts: None,
                    ..f.stats.clone()
                }
            );
        }
        assert!(saved.reuse(&entry("d/b.bin", (10, 5, 8)), false).is_none());
        // A blob of format 3, as older versions saved it, is still reused.
        let mut w = Writer(Vec::new());
        w.0.extend_from_slice(MAGIC_V3);
        w.0.extend_from_slice(config.as_bytes());
        w.u64(1);
        w.bytes(b"a");
        w.bytes(b"x.bin");
        for v in [8, 3, 4] {
            w.u64(v);
        }
        let f = opaque(8);
        w.0.extend_from_slice(f.hash.as_bytes());
        w.u64(8);
        w.bytes(b"binary");
        for v in [1, 0, 1, 8] {
            w.u64(v);
        }
        w.bytes(b"");
        for v in [0, 0, 0] {
            w.u64(v);
        }
        let saved = decode(&w.0, &config, &ids).unwrap();
        let back = saved.reuse(&entry("x.bin", (8, 3, 4)), false).unwrap();
        assert_eq!((back.hash, back.stats), (f.hash, f.stats));
        // Format 4 is dense: 100 opaque files of a directory of blobs, under 50 bytes each
        // (32 of them the hash); format 3 took over 80.
        let names: Vec<String> = (0..100).map(|i| format!("d00/e0/f{i:05}.bin")).collect();
        let many = encode(
            &config,
            &ids,
            names.iter().enumerate().map(|(i, n)| {
                let v = (
                    8192,
                    1_700_000_000_000_000_000 + 50_000 * i as i64,
                    4000 + i as u64,
                );
                (n.as_bytes(), v, &eight)
            }),
        );
        assert!(many.len() < 60 + 100 * 50, "{}", many.len());
    }
}
