//! Reading one file: hash its bytes with BLAKE3 and count and attribute its records, in one
//! pass for streamed formats; detect a file that changes while it is read.

use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::Path;

use super::FileEntry;
use super::walk::version;
use crate::attribute::{self, Compression, Format, RecordStats, SourceMatcher, UrlField};

/// Files at least this large and without records are hashed with BLAKE3's multi-threaded
/// memory-mapped path; smaller ones with plain reads (mmap set-up costs more than it saves).
pub(super) const MMAP_MIN: u64 = 4 * 1024 * 1024;

/// One file's fingerprint and records.
#[derive(Clone, Debug)]
pub struct FileFacts {
    /// BLAKE3 of its bytes.
    pub hash: blake3::Hash,
    /// Bytes hashed.
    pub size: u64,
    /// Stored format name.
    pub format: &'static str,
    /// Records found.
    pub stats: RecordStats,
}

/// Hashes one file and reads its records. I/O errors are returned; malformed records and
/// corrupt compressed streams are recorded in the stats. The file's (size, mtime, inode)
/// before reading are the walk's when `known`, else taken from the open file; a file whose
/// version differs after reading is read once more, then refused. On success the entry
/// carries the version that was read.
pub fn fingerprint(
    entry: &mut FileEntry,
    known: bool,
    field: &UrlField,
    matcher: &SourceMatcher,
) -> io::Result<FileFacts> {
    fingerprint_or_defer(entry, known, false, field, matcher)?
        .ok_or_else(|| io::Error::other("deferred"))
}

/// [`fingerprint`], or `Ok(None)` without reading when `defer_large` is set and the file
/// is one to hash alone (see [`hash_alone`]).
pub(super) fn fingerprint_or_defer(
    entry: &mut FileEntry,
    known: bool,
    defer_large: bool,
    field: &UrlField,
    matcher: &SourceMatcher,
) -> io::Result<Option<FileFacts>> {
    for attempt in 0..2 {
        let file = File::open(&entry.abs)?;
        let before = if known && attempt == 0 {
            (entry.size, entry.mtime_ns, entry.inode)
        } else {
            version(&file.metadata()?)
        };
        if defer_large && hash_alone(&entry.rel, before.0) {
            return Ok(None);
        }
        let facts = read_open(&file, &entry.abs, &entry.rel, before.0, field, matcher)?;
        // fstat on the open file: cheaper than a path lookup, and it is the file we read.
        let after = version(&file.metadata()?);
        if facts.size == after.0 && after == before {
            (entry.size, entry.mtime_ns, entry.inode) = after;
            return Ok(Some(facts));
        }
    }
    Err(io::Error::other("the file changed while it was being read"))
}

/// Whether a file is read best on its own, after the walk, with BLAKE3's multi-threaded
/// path using every core (large opaque files), rather than in a walker thread beside others.
pub(super) fn hash_alone(rel: &[u8], size: u64) -> bool {
    size >= MMAP_MIN && matches!(attribute::detect(rel).0, Format::Binary | Format::Parquet)
}

thread_local! {
    /// A read buffer per thread, zeroed once: a fresh buffer per file would cost more in
    /// clearing memory than small files cost to hash.
    static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 256 * 1024]);
}

/// Feeds everything left in `r` to `hasher`; returns the bytes read.
fn hash_rest(mut r: impl Read, hasher: &mut blake3::Hasher) -> io::Result<u64> {
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        let mut total = 0;
        loop {
            match r.read(&mut buf) {
                Ok(0) => return Ok(total),
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    total += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    })
}

/// Hashes a whole file without parsing it: large files through BLAKE3's multi-threaded
/// memory-mapped path, small ones with plain reads.
fn hash_file(file: &File, path: &Path, size: u64) -> io::Result<blake3::Hash> {
    let mut hasher = blake3::Hasher::new();
    if size >= MMAP_MIN {
        hasher.update_mmap_rayon(path)?;
    } else {
        hash_rest(file, &mut hasher)?;
    }
    Ok(hasher.finalize())
}

fn read_open(
    file: &File,
    path: &Path,
    rel: &[u8],
    size: u64,
    field: &UrlField,
    matcher: &SourceMatcher,
) -> io::Result<FileFacts> {
    let (format, compression) = attribute::detect(rel);
    let name = attribute::format_name(format, compression);
    let facts = match format {
        Format::Binary => FileFacts {
            hash: hash_file(file, path, size)?,
            size,
            format: name,
            stats: RecordStats {
                records: 1,
                per_source: Vec::new(),
                unattributed_records: 1,
                unattributed_bytes: size,
                ..RecordStats::default()
            },
        },
        Format::Parquet => {
            // Parquet is read by seeking (footer first), so it is hashed in its own pass.
            let hash = hash_file(file, path, size)?;
            let stats = attribute::attribute_parquet(file.try_clone()?, size, field, matcher);
            FileFacts {
                hash,
                size,
                format: name,
                stats,
            }
        }
        Format::Jsonl | Format::Csv | Format::Tsv => {
            let mut hr = HashingReader::new(file);
            let stats = {
                let raw = Pooled::new(&mut hr);
                let decoded: Box<dyn BufRead + '_> = match compression {
                    Compression::None => Box::new(raw),
                    Compression::Gzip => {
                        Box::new(Pooled::new(flate2::bufread::MultiGzDecoder::new(raw)))
                    }
                    Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(raw) {
                        Ok(d) => Box::new(Pooled::new(d)),
                        Err(e) => Box::new(Pooled::new(FailingReader(Some(e)))),
                    },
                };
                match format {
                    Format::Csv => attribute::attribute_delimited(decoded, b',', field, matcher),
                    Format::Tsv => attribute::attribute_delimited(decoded, b'\t', field, matcher),
                    _ => attribute::attribute_jsonl(decoded, field, matcher),
                }
            };
            if let Some(e) = hr.error.take() {
                return Err(e);
            }
            hr.drain()?;
            FileFacts {
                hash: hr.hasher.finalize(),
                size: hr.bytes,
                format: name,
                stats,
            }
        }
    };
    Ok(facts)
}

/// A reader that feeds every byte it reads into a BLAKE3 hasher, so a shard is hashed and
/// parsed in one pass over the file.
struct HashingReader<R> {
    inner: R,
    hasher: blake3::Hasher,
    bytes: u64,
    error: Option<io::Error>,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: blake3::Hasher::new(),
            bytes: 0,
            error: None,
        }
    }

    /// Hashes whatever the parser left unread (after a corrupt stream or trailing data).
    fn drain(&mut self) -> io::Result<()> {
        self.bytes += hash_rest(&mut self.inner, &mut self.hasher)?;
        Ok(())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.bytes += n as u64;
                Ok(n)
            }
            Err(e) => {
                // Keep the file's own I/O errors apart from decoding errors: the first fails
                // the scan, the second is a per-shard problem.
                if e.kind() != io::ErrorKind::Interrupted {
                    self.error = Some(io::Error::new(e.kind(), e.to_string()));
                }
                Err(e)
            }
        }
    }
}

const POOLED_SIZE: usize = 256 * 1024;

thread_local! {
    /// Read buffers kept for the next file. A fresh 256 KiB allocation per file would be
    /// given back to the kernel on free (glibc trims per-thread heaps with madvise) and
    /// page-faulted in again by the next file: on 50,000 small files that was most of the
    /// scan's time, all of it in the kernel.
    static POOL: std::cell::RefCell<Vec<Box<[u8]>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A buffered reader whose buffer comes from, and goes back to, the thread's pool.
struct Pooled<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
}

impl<R: Read> Pooled<R> {
    fn new(inner: R) -> Self {
        let buf = POOL
            .try_with(|p| p.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_else(|| vec![0; POOLED_SIZE].into_boxed_slice());
        Pooled {
            inner,
            buf,
            pos: 0,
            filled: 0,
        }
    }
}

impl<R> Drop for Pooled<R> {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        let _ = POOL.try_with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < 4 {
                p.push(buf);
            }
        });
    }
}

impl<R: Read> Read for Pooled<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.filled && out.len() >= self.buf.len() {
            return self.inner.read(out);
        }
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Pooled<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled {
            self.filled = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.filled);
    }
}

/// A reader that reports one error: a decoder that could not even start.
struct FailingReader(Option<io::Error>);

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}
