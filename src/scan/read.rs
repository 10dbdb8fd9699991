//! Reading one file: hash its bytes with BLAKE3 and count and attribute its records, in one
//! pass for streamed formats; detect a file that changes while it is read.

use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::Path;

use super::FileEntry;
use super::walk::version;
use crate::attribute::{self, Compression, Format, Limits, RecordStats, SourceMatcher, UrlField};

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
    fingerprint_or_defer(entry, known, false, field, matcher, &Limits::default())?
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
    limits: &Limits,
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
        let facts = read_open(
            &file, &entry.abs, &entry.rel, before.0, field, matcher, limits,
        )?;
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
    size >= MMAP_MIN
        && matches!(
            attribute::detect(rel).0,
            Format::Binary | Format::Parquet | Format::Arrow
        )
}

thread_local! {
    /// A read buffer per thread, zeroed once: a fresh buffer per file would cost more in
    /// clearing memory than small files cost to hash.
    static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 256 * 1024]);
}

/// Feeds everything left in `r` to `hasher`; returns the bytes read.
pub(super) fn hash_rest(mut r: impl Read, hasher: &mut blake3::Hasher) -> io::Result<u64> {
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

/// Hashes a file's bytes without reading its records: (hash, bytes hashed).
pub(super) fn hash_only(path: &Path) -> io::Result<(blake3::Hash, u64)> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut hasher = blake3::Hasher::new();
    let n = if size >= MMAP_MIN {
        hasher.update_mmap_rayon(path)?;
        size
    } else {
        hash_rest(&file, &mut hasher)?
    };
    Ok((hasher.finalize(), n))
}

/// One opaque record holding all of a file's bytes, attributed to no source.
pub(super) fn opaque(size: u64) -> RecordStats {
    RecordStats {
        records: 1,
        unattributed_records: 1,
        unattributed_bytes: size,
        // No record of an opaque file has a URL: its hosts are measured, and none.
        hosts: Some(Default::default()),
        ..RecordStats::default()
    }
}

/// The format and compression of a file: by name, else by its first bytes.
fn format_of(file: &File, rel: &[u8]) -> (Format, Compression, bool) {
    let (format, compression) = attribute::detect(rel);
    if format != Format::Binary {
        return (format, compression, false);
    }
    let mut head = [0u8; 512];
    let n = read_head(file, &mut head);
    match attribute::sniff(&head[..n]) {
        Some((f, c)) => (f, c, true),
        None => (Format::Binary, Compression::None, false),
    }
}

/// Reads the file from its start into the thread's buffer: when its first bytes name no
/// format, hashes it (the buffered bytes, then the rest) and answers the hash; otherwise
/// rewinds and answers `None` for the format-aware readers.
fn hash_if_opaque(mut file: &File, size: u64) -> io::Result<Option<blake3::Hash>> {
    use std::io::Seek;
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        // Up to the whole file when it fits (it usually does below MMAP_MIN).
        let want = usize::try_from(size)
            .unwrap_or(usize::MAX)
            .min(buf.len())
            .max(512);
        let want = want.min(buf.len());
        let mut n = 0;
        while n < want {
            match file.read(&mut buf[n..want]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if attribute::sniff(&buf[..n.min(512)]).is_some() {
            file.seek(io::SeekFrom::Start(0))?;
            return Ok(None);
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(&buf[..n]);
        drop(buf);
        // All `size` bytes read: no read to see the end. A file that grew meanwhile shows a
        // new size in the version checked after reading, and is read again.
        if n == want && (n as u64) < size {
            hash_rest(file, &mut hasher)?;
        }
        Ok(Some(hasher.finalize()))
    })
}

/// Reads up to `buf.len()` bytes from the start of the file (fewer at its end or on error:
/// the full read that follows reports errors).
fn read_head(file: &File, buf: &mut [u8]) -> usize {
    use std::os::unix::fs::FileExt;
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], n as u64) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

fn read_open(
    file: &File,
    path: &Path,
    rel: &[u8],
    size: u64,
    field: &UrlField,
    matcher: &SourceMatcher,
    limits: &Limits,
) -> io::Result<FileFacts> {
    // A file whose name says nothing is read once: its first bytes decide the format, and
    // when they show no known one (an image, a blob) the same read is hashed, so that small
    // opaque files cost no second read.
    if attribute::detect(rel).0 == Format::Binary
        && size < MMAP_MIN
        && let Some(hash) = hash_if_opaque(file, size)?
    {
        return Ok(FileFacts {
            hash,
            size,
            format: attribute::format_name(Format::Binary, Compression::None),
            stats: opaque(size),
        });
    }
    let (format, compression, sniffed) = format_of(file, rel);
    let name = attribute::format_name(format, compression);
    let facts = match format {
        Format::Binary => FileFacts {
            hash: hash_file(file, path, size)?,
            size,
            format: name,
            stats: opaque(size),
        },
        Format::Parquet if layout_metadata(path) => FileFacts {
            hash: hash_file(file, path, size)?,
            size,
            format: attribute::format_name(Format::Metadata, Compression::None),
            stats: RecordStats::default(),
        },
        Format::Metadata => FileFacts {
            hash: hash_file(file, path, size)?,
            size,
            format: name,
            stats: RecordStats::default(),
        },
        Format::Parquet | Format::Arrow => {
            // Read by seeking (footer or schema first), so hashed in its own pass.
            let hash = hash_file(file, path, size)?;
            let stats = if format == Format::Parquet {
                attribute::attribute_parquet(
                    file.try_clone()?,
                    size,
                    field,
                    matcher,
                    limits.max_record_bytes,
                )
            } else {
                attribute::attribute_arrow(file.try_clone()?, size, field, matcher)
            };
            FileFacts {
                hash,
                size,
                format: name,
                stats,
            }
        }
        Format::Json if layout_metadata(path) => FileFacts {
            hash: hash_file(file, path, size)?,
            size,
            format: attribute::format_name(Format::Metadata, Compression::None),
            stats: RecordStats::default(),
        },
        Format::Jsonl
        | Format::Json
        | Format::Csv
        | Format::Tsv
        | Format::Tar
        | Format::WebDataset
            if compression == Compression::None && size >= MMAP_MIN =>
        {
            let shape = Shape {
                format,
                compression,
                sniffed,
                name,
            };
            read_mapped(file, shape, field, matcher, limits)?
        }
        Format::Jsonl
        | Format::Json
        | Format::Csv
        | Format::Tsv
        | Format::Tar
        | Format::WebDataset => read_stream(
            file,
            size,
            format,
            compression,
            sniffed,
            name,
            field,
            matcher,
            limits,
        )?,
    };
    Ok(facts)
}

/// Hashes and reads the records of a streamed format (JSON Lines, JSON, CSV/TSV, tar,
/// plain or compressed) in one pass over `src`, from its first byte: a file on disk or an
/// object's body. `sniffed` says the format was recognised by its first bytes.
#[allow(clippy::too_many_arguments)]
pub(super) fn read_stream(
    src: impl Read,
    size: u64,
    format: Format,
    compression: Compression,
    sniffed: bool,
    name: &'static str,
    field: &UrlField,
    matcher: &SourceMatcher,
    limits: &Limits,
) -> io::Result<FileFacts> {
    let mut hr = HashingReader::new(src);
    let cap = limits.decompressed_cap(size);
    let (mut stats, name) = {
        let raw = Pooled::new(&mut hr);
        let decoded: Box<dyn BufRead + '_> = match compression {
            Compression::None => Box::new(raw),
            Compression::Gzip => Box::new(Pooled::new(Capped::new(
                flate2::bufread::MultiGzDecoder::new(raw),
                cap,
                size,
            ))),
            Compression::Zstd => match zstd_decoder(raw) {
                Ok(d) => Box::new(Pooled::new(Capped::new(d, cap, size))),
                Err(e) => Box::new(Pooled::new(FailingReader(Some(e)))),
            },
            Compression::Bzip2 => Box::new(Pooled::new(Capped::new(
                bzip2::bufread::MultiBzDecoder::new(raw),
                cap,
                size,
            ))),
            Compression::Xz => Box::new(Pooled::new(Capped::new(
                liblzma::bufread::XzDecoder::new_multi_decoder(raw),
                cap,
                size,
            ))),
        };
        let shape = Shape {
            format,
            compression,
            sniffed,
            name,
        };
        records(decoded, shape, size, field, matcher, limits)
    };
    if let Some(e) = hr.error.take() {
        return Err(e);
    }
    let consumed = hr.bytes;
    hr.drain()?;
    undecoded(&mut stats, hr.bytes, consumed);
    Ok(FileFacts {
        hash: hr.hasher.finalize(),
        size: hr.bytes,
        format: name,
        stats,
    })
}

/// [`read_stream`] of an uncompressed file of at least [`MMAP_MIN`] bytes, read through a
/// memory map: the parser and BLAKE3 read the page cache's bytes, never a copy of them (a
/// fifth of a JSON Lines scan's time was the kernel copying into a read buffer).
fn read_mapped(
    file: &File,
    shape: Shape,
    field: &UrlField,
    matcher: &SourceMatcher,
    limits: &Limits,
) -> io::Result<FileFacts> {
    // SAFETY: the map is read-only and private to this function; the bytes are only read,
    // through `Mapped`, while it lives. As with BLAKE3's mapped hashing of large files, a
    // file truncated by another process while it is read raises SIGBUS (`main.rs` makes it
    // one line and exit 2); any other change is caught by the version check after reading.
    let map = unsafe { memmap2::Mmap::map(file)? };
    let _ = map.advise(memmap2::Advice::Sequential);
    let size = map.len() as u64;
    if std::env::var_os("PROVTRACK_TEST_PAUSE_MAPPED").is_some_and(|v| v == "1") {
        // Test hook: waits (up to a minute) for the test to change the mapped file's size.
        eprintln!("provtrack: test hook: a file is mapped");
        for _ in 0..600 {
            if file.metadata().map_or(true, |m| m.len() != size) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    let mut m = Mapped {
        map: &map,
        pos: 0,
        hashed: 0,
        released: 0,
        hasher: blake3::Hasher::new(),
    };
    let (mut stats, name) = records(Box::new(&mut m), shape, size, field, matcher, limits);
    let consumed = m.hashed as u64;
    m.hash_to(map.len());
    undecoded(&mut stats, size, consumed);
    Ok(FileFacts {
        hash: m.hasher.finalize(),
        size,
        format: name,
        stats,
    })
}

/// Nothing silent: when a shard's records could not all be decoded, what was not (the
/// whole shard of `total` bytes when no record was, else what followed the `consumed`
/// bytes) is content of unknown provenance, counted as one more unattributed record.
fn undecoded(stats: &mut RecordStats, total: u64, consumed: u64) {
    if stats.failed {
        let rest = if stats.records == 0 {
            total
        } else {
            total.saturating_sub(consumed)
        };
        stats.records += 1;
        stats.unattributed_records += 1;
        stats.unattributed_bytes += rest;
    }
}

/// A memory-mapped file read as a stream: handed out a window at a time, hashed a window
/// ahead of the reader (BLAKE3 is fastest on large updates), and the pages read given back
/// as it goes, so memory stays bounded whatever the file's size.
struct Mapped<'a> {
    map: &'a memmap2::Mmap,
    pos: usize,
    hashed: usize,
    released: usize,
    hasher: blake3::Hasher,
}

impl Mapped<'_> {
    /// Bytes handed out at a time, and hashed at a time.
    const WINDOW: usize = 1 << 20;
    /// Bytes read before they are given back to the kernel.
    const RELEASE: usize = 8 << 20;

    fn hash_to(&mut self, end: usize) {
        if end > self.hashed {
            self.hasher.update(&self.map[self.hashed..end]);
            self.hashed = end;
        }
    }
}

impl Read for Mapped<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Mapped<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let len = self.map.len();
        let end = (self.pos + Self::WINDOW).min(len);
        if end > self.hashed {
            self.hash_to((self.hashed + Self::WINDOW).max(end).min(len));
        }
        if self.pos - self.released >= Self::RELEASE {
            // The pages behind the reader: never read again (a parser keeps copies of what
            // it still needs). Dropped from this process only; the page cache keeps them.
            // SAFETY: a shared read-only file mapping reads the same bytes back if touched.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    self.released,
                    self.pos - self.released,
                )
            };
            self.released = self.pos;
        }
        Ok(&self.map[self.pos..end])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.map.len());
    }
}

/// What a streamed shard was found to be, before its records are read.
struct Shape {
    format: Format,
    compression: Compression,
    /// Recognised by its first bytes, not its name.
    sniffed: bool,
    /// The stored format name.
    name: &'static str,
}

/// Reads the records of a streamed format from `decoded` (its bytes as stored, decompressed):
/// the stats and the stored format name.
fn records(
    mut decoded: Box<dyn BufRead + '_>,
    shape: Shape,
    size: u64,
    field: &UrlField,
    matcher: &SourceMatcher,
    limits: &Limits,
) -> (RecordStats, &'static str) {
    let Shape {
        format,
        compression,
        sniffed,
        name,
    } = shape;
    // A file recognised by its compression alone may hold a tar.
    let format = match (sniffed, decoded.fill_buf()) {
        (true, Ok(head)) if attribute::is_tar(head) => Format::Tar,
        _ => format,
    };
    match format {
        Format::Csv => (
            attribute::attribute_delimited(decoded, b',', field, matcher, limits),
            name,
        ),
        Format::Tsv => (
            attribute::attribute_delimited(decoded, b'\t', field, matcher, limits),
            name,
        ),
        Format::Jsonl => (
            attribute::attribute_jsonl(decoded, field, matcher, limits),
            name,
        ),
        Format::Tar | Format::WebDataset => {
            let (st, wds) = attribute::attribute_tar(decoded, field, matcher, limits);
            let f = if wds { Format::WebDataset } else { Format::Tar };
            (st, attribute::format_name(f, compression))
        }
        _ => {
            // A file recognised by its compression alone may hold anything:
            // only JSON is read as records.
            let json = match decoded.fill_buf() {
                Ok(head) => !sniffed || attribute::looks_like_json(head),
                Err(_) => true,
            };
            if json {
                let (st, lines) = attribute::attribute_json(decoded, field, matcher, limits);
                let f = if lines { Format::Jsonl } else { Format::Json };
                (st, attribute::format_name(f, compression))
            } else {
                (
                    opaque(size),
                    attribute::format_name(Format::Binary, compression),
                )
            }
        }
    }
}

/// Whether a file is metadata describing content beside it, counted as no records:
/// img2dataset's `NNNNN.parquet` (every download attempted, failed ones too) and
/// `NNNNN_stats.json` next to `NNNNN.tar` (the tar's samples are the records; counting the
/// parquet too would count them twice), and Hugging Face `save_to_disk`'s `state.json` and
/// `dataset_info.json` (side by side; the `.arrow` files hold the records).
fn layout_metadata(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    layout_metadata_by(name, &|sibling| path.with_file_name(sibling).is_file())
}

/// [`layout_metadata`] of a file named `name`, `exists` telling whether a sibling of that
/// name is there (on disk, or in an object listing).
pub(super) fn layout_metadata_by(name: &str, exists: &dyn Fn(&str) -> bool) -> bool {
    if name == "state.json" || name == "dataset_info.json" {
        return exists("state.json") && exists("dataset_info.json");
    }
    let stem = name
        .strip_suffix("_stats.json")
        .or_else(|| name.strip_suffix(".parquet"));
    match stem {
        Some(stem) if !stem.is_empty() && stem.bytes().all(|c| c.is_ascii_digit()) => {
            exists(&format!("{stem}.tar")) && exists(&format!("{stem}_stats.json"))
        }
        _ => false,
    }
}

/// A zstd decoder accepting windows up to 2^31 bytes (`zstd --long=31`), as the format
/// allows; the default limit (2^27) refuses such frames.
fn zstd_decoder<'a, R: BufRead + 'a>(raw: R) -> io::Result<impl Read + 'a> {
    let mut d = zstd::stream::read::Decoder::with_buffer(raw)?;
    d.window_log_max(31)?;
    Ok(d)
}

/// A decoder's output bounded to `cap` bytes: past it, reading fails with an error that
/// becomes the shard's problem (a decompression bomb costs time up to the cap, no more).
struct Capped<R> {
    inner: R,
    left: u64,
    cap: u64,
    size: u64,
}

impl<R> Capped<R> {
    fn new(inner: R, cap: u64, size: u64) -> Self {
        Capped {
            inner,
            left: cap,
            cap,
            size,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // Is there more? One byte says.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(format!(
                    "decompressed-size limit: more than {} bytes from a {}-byte shard \
                     (--max-expansion)",
                    self.cap, self.size
                ))),
            };
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
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
