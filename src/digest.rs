//! Digests every layer shares: the dataset root hash, the raw bytes of a relative path
//! that it is computed over, and a hasher for digests over many small fields. Ground
//! floor: imports nothing of the crate.

use std::path::Path;

/// Bytes gathered before they are given to the hasher.
const BATCH: usize = 64 * 1024;

/// A BLAKE3 hasher fed many small pieces (the fields of a digest's lines): they are
/// gathered and hashed 64 KiB at a time. The hash is the same as feeding them one by one;
/// a hasher call per piece was most of the time of a digest over 50,000 lines.
pub struct Batched {
    hasher: blake3::Hasher,
    buf: Vec<u8>,
}

impl Default for Batched {
    fn default() -> Self {
        Batched {
            hasher: blake3::Hasher::new(),
            buf: Vec::with_capacity(BATCH + 1024),
        }
    }
}

impl Batched {
    /// Appends `bytes` to what is hashed.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= BATCH {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
    }

    /// The hash of everything pushed.
    pub fn finalize(mut self) -> blake3::Hash {
        self.hasher.update(&self.buf);
        self.hasher.finalize()
    }
}

/// The dataset root hash: BLAKE3 over the sorted lines `relative-path NUL shard-hash LF`.
pub fn root_hash<'a>(
    members: impl IntoIterator<Item = (&'a [u8], &'a blake3::Hash)>,
) -> blake3::Hash {
    let mut sorted: Vec<(&[u8], &blake3::Hash)> = members.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Batched::default();
    for (path, hash) in sorted {
        h.push(path);
        h.push(b"\0");
        h.push(hash.to_hex().as_bytes());
        h.push(b"\n");
    }
    h.finalize()
}

/// A relative path as the registry stores it: raw bytes (non-UTF-8 names kept), `/`-separated.
pub fn rel_bytes(rel: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        rel.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        rel.to_string_lossy().replace('\\', "/").into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_hash_is_order_independent_and_matches_the_spec_lines() {
        let a = blake3::hash(b"a");
        let b = blake3::hash(b"b");
        let r1 = root_hash([(b"x/b".as_slice(), &b), (b"x-a".as_slice(), &a)]);
        let r2 = root_hash([(b"x-a".as_slice(), &a), (b"x/b".as_slice(), &b)]);
        assert_eq!(r1, r2);
        let text = format!("x-a\0{}\nx/b\0{}\n", a.to_hex(), b.to_hex());
        assert_eq!(r1, blake3::hash(text.as_bytes()));
    }

    #[test]
    fn root_hash_over_several_batches_is_the_hash_of_all_the_lines() {
        let hashes: Vec<(Vec<u8>, blake3::Hash)> = (0..5000u32)
            .map(|k| {
                (
                    format!("d{:02}/f{k:05}.bin", k % 37).into_bytes(),
                    blake3::hash(&k.to_le_bytes()),
                )
            })
            .collect();
        let mut lines: Vec<&(Vec<u8>, blake3::Hash)> = hashes.iter().collect();
        lines.sort_by(|a, b| a.0.cmp(&b.0));
        let mut text = Vec::new();
        for (p, h) in lines {
            text.extend_from_slice(p);
            text.push(0);
            text.extend_from_slice(h.to_hex().as_bytes());
            text.push(b'\n');
        }
        assert!(text.len() > 4 * BATCH);
        let root = root_hash(hashes.iter().map(|(p, h)| (p.as_slice(), h)));
        assert_eq!(root, blake3::hash(&text));
    }
}
