//! Blocking readers over objects: [`ObjectReader`] streams a whole body (memory bounded by
//! the client's chunk size, never the object), [`RangedObject`] fetches byte ranges for the
//! Parquet reader (its footer and URL column chunks only). Both are conditional on the
//! listed ETag and check the size and ETag the server answers with.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use object_store::path::Path as KeyPath;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore};

use super::{Counters, Object, Store};

/// What a request needs besides the store: the key, the listed version and where to
/// report.
#[derive(Clone)]
struct Target {
    handle: tokio::runtime::Handle,
    s3: Arc<object_store::aws::AmazonS3>,
    key: KeyPath,
    etag: Option<String>,
    size: u64,
    secrets: Arc<[String]>,
}

impl Target {
    fn of(store: &Store, obj: &Object) -> Target {
        Target {
            handle: store.rt.handle().clone(),
            s3: Arc::clone(&store.s3),
            key: obj.key.clone(),
            etag: obj.etag.clone(),
            size: obj.size,
            secrets: Arc::clone(&store.secrets),
        }
    }

    fn error(&self, e: object_store::Error) -> io::Error {
        let (kind, what) = match &e {
            object_store::Error::NotFound { .. } => (
                io::ErrorKind::NotFound,
                "not found (deleted since it was listed)".to_string(),
            ),
            object_store::Error::Precondition { .. } => (
                io::ErrorKind::InvalidData,
                "the object changed since it was listed (ETag differs)".to_string(),
            ),
            e => (
                io::ErrorKind::Other,
                super::scrub(&e.to_string(), &self.secrets),
            ),
        };
        io::Error::new(kind, what)
    }

    /// The object as answered is the object as listed: same ETag, same size.
    fn check(&self, meta: &ObjectMeta) -> io::Result<()> {
        let etag_differs = self.etag.is_some() && meta.e_tag.is_some() && meta.e_tag != self.etag;
        if etag_differs || meta.size != self.size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the object changed since it was listed ({} bytes, now {})",
                    self.size, meta.size
                ),
            ));
        }
        Ok(())
    }

    fn options(&self, range: Option<GetRange>) -> GetOptions {
        GetOptions {
            if_match: self.etag.clone(),
            range,
            ..GetOptions::default()
        }
    }
}

/// A blocking reader over a whole object body, conditional on the listed ETag.
pub struct ObjectReader {
    target: Target,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    cur: Bytes,
    read: u64,
}

/// Opens `obj` for streaming.
pub(super) fn open(store: &Store, obj: &Object) -> io::Result<ObjectReader> {
    let target = Target::of(store, obj);
    let (s3, key, opts) = (
        Arc::clone(&target.s3),
        target.key.clone(),
        target.options(None),
    );
    let got = store
        .rt
        .block_on(async move { s3.get_opts(&key, opts).await })
        .map_err(|e| target.error(e))?;
    target.check(&got.meta)?;
    Ok(ObjectReader {
        stream: got.into_stream(),
        target,
        cur: Bytes::new(),
        read: 0,
    })
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.cur.is_empty() {
            match self.target.handle.block_on(self.stream.next()) {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(self.target.error(e)),
                None if self.read != self.target.size => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the body ended after {} of {} bytes",
                            self.read, self.target.size
                        ),
                    ));
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur = self.cur.slice(n..);
        self.read += n as u64;
        if self.read > self.target.size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "more bytes than listed",
            ));
        }
        Ok(n)
    }
}

/// An object read by byte ranges, each request conditional on the listed ETag; the bytes
/// received are counted in the store's [`Counters`].
#[derive(Clone)]
pub struct RangedObject {
    target: Target,
    counters: Arc<Counters>,
    /// The first failed request: the Parquet reader turns read errors into a shard's
    /// problem, but a failed request fails the scan (see [`RangedObject::failure`]).
    failed: Arc<std::sync::Mutex<Option<(io::ErrorKind, String)>>>,
}

/// How much a sequential read (a Parquet page header) fetches per request.
const READ_AHEAD: u64 = 64 * 1024;

impl RangedObject {
    pub(super) fn new(store: &Store, obj: &Object) -> RangedObject {
        RangedObject {
            target: Target::of(store, obj),
            counters: Arc::clone(&store.counters),
            failed: Arc::default(),
        }
    }

    /// The object's size as listed.
    pub fn size(&self) -> u64 {
        self.target.size
    }

    /// The first request that failed, if any.
    pub fn failure(&self) -> Option<io::Error> {
        let f = self.failed.lock().ok()?;
        f.as_ref().map(|(k, m)| io::Error::new(*k, m.clone()))
    }

    /// Bytes `start..start + len` (clamped to the object).
    pub fn fetch(&self, start: u64, len: u64) -> io::Result<Bytes> {
        let r = self.fetch_once(start, len);
        if let Err(e) = &r
            && let Ok(mut f) = self.failed.lock()
            && f.is_none()
        {
            *f = Some((e.kind(), e.to_string()));
        }
        r
    }

    fn fetch_once(&self, start: u64, len: u64) -> io::Result<Bytes> {
        let end = start.saturating_add(len).min(self.target.size);
        if start >= end {
            return Ok(Bytes::new());
        }
        let t = &self.target;
        let (s3, key, opts) = (
            Arc::clone(&t.s3),
            t.key.clone(),
            t.options(Some(GetRange::Bounded(start..end))),
        );
        let (meta, bytes) = t
            .handle
            .block_on(async move {
                let got = s3.get_opts(&key, opts).await?;
                let meta = got.meta.clone();
                Ok::<_, object_store::Error>((meta, got.bytes().await?))
            })
            .map_err(|e| t.error(e))?;
        t.check(&meta)?;
        self.counters
            .ranged_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        self.counters
            .ranged_requests
            .fetch_add(1, Ordering::Relaxed);
        if bytes.len() as u64 != end - start {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a short range answer",
            ));
        }
        Ok(bytes)
    }
}

/// A sequential reader from an offset, fetching [`READ_AHEAD`] bytes per request.
pub struct RangedRead {
    obj: RangedObject,
    pos: u64,
    cur: Bytes,
}

impl Read for RangedRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cur.is_empty() {
            self.cur = self.obj.fetch(self.pos, READ_AHEAD)?;
            self.pos += self.cur.len() as u64;
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        self.cur = self.cur.slice(n..);
        Ok(n)
    }
}

#[cfg(feature = "parquet")]
impl parquet::file::reader::Length for RangedObject {
    fn len(&self) -> u64 {
        self.target.size
    }
}

#[cfg(feature = "parquet")]
impl parquet::file::reader::ChunkReader for RangedObject {
    type T = RangedRead;

    fn get_read(&self, start: u64) -> parquet::errors::Result<RangedRead> {
        Ok(RangedRead {
            obj: self.clone(),
            pos: start,
            cur: Bytes::new(),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.fetch(start, length as u64)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))
    }
}
