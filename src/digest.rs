//! Digests every layer shares: the dataset root hash and the raw bytes of a relative path
//! that it is computed over. Ground floor: imports nothing of the crate.

use std::path::Path;

/// The dataset root hash: BLAKE3 over the sorted lines `relative-path NUL shard-hash LF`.
pub fn root_hash<'a>(
    members: impl IntoIterator<Item = (&'a [u8], &'a blake3::Hash)>,
) -> blake3::Hash {
    let mut sorted: Vec<(&[u8], &blake3::Hash)> = members.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = blake3::Hasher::new();
    for (path, hash) in sorted {
        h.update(path);
        h.update(b"\0");
        h.update(hash.to_hex().as_bytes());
        h.update(b"\n");
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
}
