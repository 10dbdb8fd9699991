//! Reading an object-storage prefix as the walk reads a directory: the listing gives the
//! entries (relative keys, sorted as paths are), the scan-state cache is consulted with
//! (size, last-modified, ETag) where a file has (size, mtime, inode), and every other object
//! is streamed once through the same hashing and record readers as a file (`read`), on a
//! pool of `--jobs` threads, one request in flight each. Parquet is hashed from the stream
//! and attributed by ranged requests (footer and URL column chunks only).

use std::collections::HashSet;
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use rayon::prelude::*;

use super::read::{self, FileFacts};
use super::state::Saved;
use super::{FileEntry, ObjectUrl, ReadOptions, RemoteFacts, Visited};
use crate::attribute::{self, Compression, Format, SourceMatcher};
use crate::error::{Error, Result};
use crate::remote::{Object, Store};

/// The default number of requests in flight: small objects are latency-bound, so many per
/// core (32 on 2 cores; measured against a local server, 8 took twice as long as 32).
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(32, |n| (n.get() * 16).clamp(16, 64))
}

/// Lists `url` and reads every object not reused from `saved`, as the walk does a
/// directory. Entries come back sorted by relative key.
pub(super) fn walk(
    url: &ObjectUrl,
    opts: &ReadOptions,
    saved: Option<&Saved<'_>>,
    matcher: &SourceMatcher,
) -> Result<super::Walked> {
    let jobs = opts.jobs.unwrap_or_else(default_jobs).max(1);
    let store = Store::connect(url, jobs)?;
    let excludes = excludes(&opts.walk.excludes)?;
    let objects: Vec<Object> = store
        .list()?
        .into_iter()
        .filter(|o| opts.walk.partition.is_none_or(|p| p.holds(&o.rel)))
        .filter(|o| !excluded(&excludes, &o.rel))
        .collect();
    let names: HashSet<&[u8]> = objects.iter().map(|o| o.rel.as_slice()).collect();
    let mut facts = RemoteFacts {
        url: url.to_string(),
        listed: objects.len() as u64,
        jobs: jobs as u64,
        ..RemoteFacts::default()
    };
    let entries: Vec<FileEntry> = objects
        .iter()
        .map(|o| {
            let (size, mtime_ns, inode) = o.version();
            FileEntry {
                rel: o.rel.clone(),
                abs: PathBuf::from(store.show(o)),
                size,
                mtime_ns,
                inode,
            }
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("provtrack-get-{i}"))
        .build()
        .map_err(|e| Error::io(url.to_string(), io::Error::other(e.to_string())))?;
    let ranged = std::sync::atomic::AtomicU64::new(0);
    let ranged_size = std::sync::atomic::AtomicU64::new(0);
    let visited: Vec<Visited> = pool.install(|| {
        objects
            .par_iter()
            .zip(entries.par_iter())
            .map(|(o, e)| {
                // With `check_bytes` (gate) the cache is not trusted for objects: re-reading
                // is the only way to know the bytes.
                if !opts.check_bytes
                    && let Some(f) = saved.and_then(|s| s.reuse(e, false))
                {
                    return Visited::Reused(Box::new(f));
                }
                let exists = |sibling: &str| names.contains(sibling_of(&o.rel, sibling).as_slice());
                let r = read_object(&store, o, &exists, opts, matcher);
                if let Ok(f) = &r {
                    if f.format == "parquet" {
                        ranged.fetch_add(1, Ordering::Relaxed);
                        ranged_size.fetch_add(f.size, Ordering::Relaxed);
                    }
                    if let Some(p) = &opts.progress {
                        p.advance(f.size);
                    }
                }
                Visited::Read(r.map(Box::new))
            })
            .collect()
    });
    for (o, v) in objects.iter().zip(&visited) {
        if let Visited::Read(_) = v {
            facts.fetched += 1;
            facts.streamed_bytes += o.size;
        }
    }
    facts.ranged_objects = ranged.into_inner();
    facts.ranged_object_bytes = ranged_size.into_inner();
    facts.ranged_bytes = store.counters.ranged_bytes.load(Ordering::Relaxed);
    facts.ranged_requests = store.counters.ranged_requests.load(Ordering::Relaxed);
    Ok((
        entries.into_iter().zip(visited).collect(),
        Vec::new(),
        facts,
    ))
}

/// The `--exclude` globs, as the walk builds them.
fn excludes(patterns: &[String]) -> Result<globset::GlobSet> {
    let mut globs = globset::GlobSetBuilder::new();
    for pat in patterns {
        globs.add(globset::Glob::new(pat).map_err(|e| Error::input("--exclude", e.to_string()))?);
    }
    globs
        .build()
        .map_err(|e| Error::input("--exclude", e.to_string()))
}

/// Whether a key is excluded: a glob matches it or one of its folders (the walk does not
/// descend into an excluded directory).
fn excluded(globs: &globset::GlobSet, rel: &[u8]) -> bool {
    if globs.is_empty() {
        return false;
    }
    let text = String::from_utf8_lossy(rel);
    text.char_indices()
        .any(|(i, c)| c == '/' && globs.is_match(&text[..i]))
        || globs.is_match(text.as_ref())
}

/// The relative key of `sibling` beside `rel`.
fn sibling_of(rel: &[u8], sibling: &str) -> Vec<u8> {
    let dir = rel
        .iter()
        .rposition(|&c| c == b'/')
        .map_or(&rel[..0], |i| &rel[..=i]);
    [dir, sibling.as_bytes()].concat()
}

/// The file name of a relative key.
fn file_name(rel: &[u8]) -> &str {
    let name = rel
        .iter()
        .rposition(|&c| c == b'/')
        .map_or(rel, |i| &rel[i + 1..]);
    std::str::from_utf8(name).unwrap_or("")
}

/// Hashes everything `r` yields.
fn hash_all(r: impl Read) -> io::Result<(blake3::Hash, u64)> {
    let mut h = blake3::Hasher::new();
    let n = read::hash_rest(r, &mut h)?;
    Ok((h.finalize(), n))
}

/// Reads one object as `read` reads a file: format by name, else by its first bytes;
/// streamed formats hashed and parsed in one pass; Parquet hashed from the stream and
/// attributed by range; Arrow IPC spooled to a temporary file (it is read by seeking).
fn read_object(
    store: &Store,
    obj: &Object,
    exists: &dyn Fn(&str) -> bool,
    opts: &ReadOptions,
    matcher: &SourceMatcher,
) -> io::Result<FileFacts> {
    let size = obj.size;
    let body = store.open(obj)?;
    let (mut format, mut compression) = attribute::detect(&obj.rel);
    let mut sniffed = false;
    // The first bytes, kept to be read again in front of the rest of the body.
    let mut head = Vec::new();
    let mut body = body;
    if format == Format::Binary {
        (&mut body).take(512).read_to_end(&mut head)?;
        match attribute::sniff(&head) {
            Some((f, c)) => {
                (format, compression, sniffed) = (f, c, true);
            }
            None => {
                let (hash, n) = hash_all(io::Cursor::new(&head).chain(body))?;
                return Ok(FileFacts {
                    hash,
                    size: n,
                    format: attribute::format_name(Format::Binary, Compression::None),
                    stats: read::opaque(size),
                });
            }
        }
    }
    let src = io::Cursor::new(head).chain(body);
    let name = attribute::format_name(format, compression);
    let metadata = |src| -> io::Result<FileFacts> {
        let (hash, n) = hash_all(src)?;
        Ok(FileFacts {
            hash,
            size: n,
            format: attribute::format_name(Format::Metadata, Compression::None),
            stats: attribute::RecordStats::default(),
        })
    };
    let layout = read::layout_metadata_by(file_name(&obj.rel), exists);
    match format {
        Format::Parquet | Format::Json if layout => metadata(src),
        Format::Metadata => metadata(src),
        Format::Binary => Err(io::Error::other("unreachable: binary handled above")),
        Format::Parquet => {
            let (hash, n) = hash_all(src)?;
            let ranged = store.ranged(obj);
            let stats = attribute::attribute_parquet(
                ranged.clone(),
                size,
                &opts.url_field,
                matcher,
                opts.limits.max_record_bytes,
            );
            // A failed request is the object's error, not a shard's problem.
            if let Some(e) = ranged.failure() {
                return Err(e);
            }
            Ok(FileFacts {
                hash,
                size: n,
                format: name,
                stats,
            })
        }
        Format::Arrow => {
            // Arrow IPC is read by seeking back and forth: spooled to a temporary file
            // (disk, not memory), hashed on the way.
            let mut tmp = tempfile::tempfile()?;
            let mut hr = Tee {
                inner: src,
                out: &mut tmp,
                hasher: blake3::Hasher::new(),
            };
            let n = io::copy(&mut hr, &mut io::sink())?;
            let hash = hr.hasher.finalize();
            let stats = attribute::attribute_arrow(tmp, size, &opts.url_field, matcher);
            Ok(FileFacts {
                hash,
                size: n,
                format: name,
                stats,
            })
        }
        Format::Jsonl
        | Format::Json
        | Format::Csv
        | Format::Tsv
        | Format::Tar
        | Format::WebDataset => read::read_stream(
            src,
            size,
            format,
            compression,
            sniffed,
            name,
            &opts.url_field,
            matcher,
            &opts.limits,
        ),
    }
}

/// Copies what it reads to `out` and hashes it.
struct Tee<'a, R> {
    inner: R,
    out: &'a mut std::fs::File,
    hasher: blake3::Hasher,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::io::Write;
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Hashes every object under `url` (nothing else is read), for `verify --path`: (relative
/// key, hash) sorted by key.
pub(super) fn hash_objects(
    url: &ObjectUrl,
    jobs: Option<usize>,
) -> Result<Vec<(Vec<u8>, blake3::Hash)>> {
    let jobs = jobs.unwrap_or_else(default_jobs).max(1);
    let store = Store::connect(url, jobs)?;
    let objects = store.list()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::io(url.to_string(), io::Error::other(e.to_string())))?;
    pool.install(|| {
        objects
            .par_iter()
            .map(|o| {
                let h = store
                    .open(o)
                    .and_then(hash_all)
                    .map_err(|e| Error::input(store.show(o), e.to_string()))?;
                Ok((o.rel.clone(), h.0))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_as_paths() {
        assert_eq!(
            sibling_of(b"a/b/00001.parquet", "00001.tar"),
            b"a/b/00001.tar"
        );
        assert_eq!(sibling_of(b"x.json", "state.json"), b"state.json");
        assert_eq!(file_name(b"a/b/c.tar"), "c.tar");
        let g = excludes(&["cache".into(), "*.tmp".into()]).unwrap();
        assert!(excluded(&g, b"cache/x.jsonl"));
        assert!(excluded(&g, b"a.tmp"));
        assert!(!excluded(&g, b"data/x.jsonl"));
    }
}
