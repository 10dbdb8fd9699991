//! Object storage: an `s3://bucket/prefix` location opened with the S3 client built from
//! the standard AWS environment, run on a small tokio runtime that the (synchronous)
//! scanner drives; the paginated listing, and blocking readers over object bodies
//! ([`read`]: streamed whole, or by byte range for Parquet). Every request after the
//! listing is conditional on the listed ETag, so an object replaced mid-scan is an error
//! naming its key, never a mix of two versions. Credentials are never printed: errors are
//! scrubbed of them (see [`scrub`]).

pub mod read;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as KeyPath;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, RetryConfig};

use crate::error::{Error, Result};
pub use crate::scan::ObjectUrl;

pub use read::{ObjectReader, RangedObject};

/// One listed object.
#[derive(Clone, Debug)]
pub struct Object {
    /// Key relative to the prefix, `/`-separated: the path a scan of the same files on
    /// disk gives.
    pub rel: Vec<u8>,
    /// The full key.
    pub key: KeyPath,
    /// Size when listed.
    pub size: u64,
    /// ETag when listed (every request for the object is conditional on it).
    pub etag: Option<String>,
    /// Last-modified when listed, nanoseconds since the epoch.
    pub modified_ns: i64,
}

impl Object {
    /// The version the scan-state cache compares: (size, last-modified, a 64-bit digest
    /// of the ETag), stored where a file's (size, mtime, inode) is.
    pub fn version(&self) -> (u64, i64, u64) {
        let tag = blake3::hash(self.etag.as_deref().unwrap_or("").as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&tag.as_bytes()[..8]);
        (self.size, self.modified_ns, u64::from_le_bytes(b))
    }
}

/// Bytes moved by ranged reads, for the summary.
#[derive(Debug, Default)]
pub struct Counters {
    /// Bytes received by ranged (Parquet footer and column chunk) requests.
    pub ranged_bytes: std::sync::atomic::AtomicU64,
    /// Ranged requests made.
    pub ranged_requests: std::sync::atomic::AtomicU64,
}

/// An opened bucket prefix: the client, the runtime it runs on, and the location.
pub struct Store {
    rt: tokio::runtime::Runtime,
    s3: Arc<AmazonS3>,
    /// Where.
    pub url: ObjectUrl,
    /// Counts of ranged reads made through this store.
    pub counters: Arc<Counters>,
    secrets: Arc<[String]>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the client: its configuration holds the credentials.
        f.debug_struct("Store").field("url", &self.url).finish()
    }
}

/// Environment variables holding credentials, scrubbed from every message.
const SECRET_VARS: [&str; 3] = [
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
];

/// One line, free of any credential of the environment: the S3 error bodies and URLs that
/// object_store reports could in principle echo an access key id or token.
pub fn scrub(msg: &str, secrets: &[String]) -> String {
    let mut s: String = msg
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    for secret in secrets.iter().filter(|x| x.len() >= 4) {
        s = s.replace(secret.as_str(), "***");
    }
    s
}

/// S3 error codes and what they mean to a user.
const CODES: [(&str, &str); 9] = [
    ("NoSuchBucket", "no such bucket"),
    (
        "InvalidAccessKeyId",
        "credentials refused: unknown access key (AWS_ACCESS_KEY_ID)",
    ),
    (
        "SignatureDoesNotMatch",
        "credentials refused: the signature does not match (AWS_SECRET_ACCESS_KEY)",
    ),
    (
        "ExpiredToken",
        "credentials refused: the session token expired",
    ),
    ("InvalidToken", "credentials refused: invalid session token"),
    (
        "InvalidClientTokenId",
        "credentials refused: invalid security token",
    ),
    ("AccessDenied", "access denied"),
    ("AllAccessDisabled", "access denied"),
    ("SlowDown", "throttled by the server (retries exhausted)"),
];

/// One line for a failed request: the S3 error code's meaning when the body names one,
/// else the client's message, shortened and scrubbed of credentials.
pub fn explain(e: &object_store::Error, secrets: &[String]) -> String {
    let text = e.to_string();
    if let Some((code, what)) = CODES
        .iter()
        .find(|(c, _)| text.contains(&format!("<Code>{c}</Code>")))
    {
        return format!("{what} ({code})");
    }
    if matches!(e, object_store::Error::NotFound { .. }) {
        return "not found".to_string();
    }
    let mut s = scrub(&text, secrets);
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

impl Store {
    /// Opens `url` with credentials, endpoint and region from the environment
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
    /// `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, …, or the instance/container/web-identity
    /// credentials object_store finds), retrying throttling and server errors with backoff.
    /// `jobs` bounds the requests in flight.
    pub fn connect(url: &ObjectUrl, jobs: usize) -> Result<Store> {
        let vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        Store::connect_with(url, jobs, &vars)
    }

    /// [`Store::connect`] with the `AWS_*` settings taken from `vars` instead of the
    /// process environment (tests, and callers holding their own configuration).
    pub fn connect_with(url: &ObjectUrl, jobs: usize, vars: &[(String, String)]) -> Result<Store> {
        // reqwest is built without a default TLS provider (no aws-lc-rs): ring it is. Fails
        // only when one is installed already, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let var = |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let secrets: Arc<[String]> = SECRET_VARS.iter().filter_map(|v| var(v)).collect();
        let place = url.to_string();
        // As AmazonS3Builder::from_env does, from `vars`.
        let mut b = AmazonS3Builder::new();
        for (k, v) in vars.iter().filter(|(k, _)| k.starts_with("AWS_")) {
            if let Ok(key) = k.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                b = b.with_config(key, v.clone());
            }
        }
        let mut b = b
            .with_bucket_name(&url.bucket)
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(100),
                    max_backoff: Duration::from_secs(15),
                    base: 2.0,
                },
                max_retries: 8,
                retry_timeout: Duration::from_secs(120),
            })
            // A shard may take longer than object_store's default 30 s to stream: the whole
            // request is bounded loosely, the connection (5 s) and idle reads tightly.
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
                "24h".to_string(),
            )
            // A stalled body (no byte for a minute) fails rather than hanging the scan.
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::ReadTimeout),
                "60s".to_string(),
            )
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::PoolMaxIdlePerHost),
                jobs.max(1).to_string(),
            );
        if var("AWS_REGION").is_none() && var("AWS_DEFAULT_REGION").is_none() {
            b = b.with_region("us-east-1");
        }
        let s3 = b
            .build()
            .map_err(|e| Error::input(&place, scrub(&e.to_string(), &secrets)))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("provtrack-s3")
            .enable_all()
            .build()
            .map_err(|e| Error::io(&place, e))?;
        Ok(Store {
            rt,
            s3: Arc::new(s3),
            url: url.clone(),
            counters: Arc::default(),
            secrets,
        })
    }

    /// Lists every object under the prefix (paginated by the client), sorted by relative
    /// key bytes as the directory walk sorts paths. Keys ending in `/` (folder markers) are
    /// left out, as directories are on disk.
    pub fn list(&self) -> Result<Vec<Object>> {
        let prefix = (!self.url.prefix.is_empty()).then(|| KeyPath::from(self.url.prefix.as_str()));
        let s3 = Arc::clone(&self.s3);
        let base = self.url.prefix.len() + usize::from(!self.url.prefix.is_empty());
        let listed: Vec<std::result::Result<object_store::ObjectMeta, object_store::Error>> = self
            .rt
            .block_on(async move { s3.list(prefix.as_ref()).collect().await });
        let mut out = Vec::with_capacity(listed.len());
        for m in listed {
            let m = m.map_err(|e| {
                Error::input(
                    self.url.to_string(),
                    format!("listing failed: {}", explain(&e, &self.secrets)),
                )
            })?;
            let key = m.location.as_ref();
            let Some(rel) = key.get(base..).filter(|r| !r.is_empty()) else {
                continue;
            };
            if rel.ends_with('/') {
                continue;
            }
            out.push(Object {
                rel: rel.as_bytes().to_vec(),
                modified_ns: m.last_modified.timestamp_nanos_opt().unwrap_or(0),
                key: m.location,
                size: m.size,
                etag: m.e_tag,
            });
        }
        if out.is_empty() {
            // A mistyped prefix must not register an empty dataset.
            return Err(Error::input(
                self.url.to_string(),
                "no objects under this prefix",
            ));
        }
        out.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(out)
    }

    /// A blocking reader over the whole body of `obj`, conditional on its listed ETag;
    /// the returned object's size and ETag are checked against the listing too.
    pub fn open(&self, obj: &Object) -> io::Result<ObjectReader> {
        read::open(self, obj)
    }

    /// The object read by byte ranges (Parquet), each range conditional on its ETag.
    pub fn ranged(&self, obj: &Object) -> RangedObject {
        RangedObject::new(self, obj)
    }

    /// The key as shown in messages: `s3://bucket/key`.
    pub fn show(&self, obj: &Object) -> String {
        self.url.show_key(obj.key.as_ref())
    }
}
