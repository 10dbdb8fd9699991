//! What a scan, `gate` or `verify --path` reads: a local directory, or a prefix in object
//! storage (`s3://bucket/prefix`), told apart by the argument's scheme. Both give the same
//! relative paths (`/`-separated, sorted by bytes), so the same files give the same
//! hashes and root hash wherever they are.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};

/// An object-storage prefix: `s3://bucket/prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectUrl {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, without leading or trailing `/` (empty: the whole bucket). Keys
    /// below `prefix/` are listed; their paths are relative to it.
    pub prefix: String,
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

impl ObjectUrl {
    /// A full key as shown in messages: `s3://bucket/key`.
    pub fn show_key(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

/// What reading an object-storage prefix did, for the summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RemoteFacts {
    /// The prefix as given (`s3://bucket/prefix`).
    pub url: String,
    /// Objects listed under the prefix (in this slice, not excluded).
    pub listed: u64,
    /// Objects fetched and read (the others' cached facts held: same key, size,
    /// last-modified and ETag).
    pub fetched: u64,
    /// Bytes streamed by whole-object requests (every fetched object, once).
    pub streamed_bytes: u64,
    /// Parquet objects attributed by ranged requests, and their total size.
    pub ranged_objects: u64,
    /// Their total size in bytes.
    pub ranged_object_bytes: u64,
    /// Bytes received by those ranged requests (footer and URL column chunks only).
    pub ranged_bytes: u64,
    /// Ranged requests made.
    pub ranged_requests: u64,
    /// Requests in flight at most (`--jobs`).
    pub jobs: u64,
}

/// A scan's input.
#[derive(Clone, Debug)]
pub enum Input<'a> {
    /// A local directory.
    Dir(&'a Path),
    /// A prefix in object storage.
    Object(ObjectUrl),
}

/// Schemes of other object stores, refused by name rather than taken for a directory.
const OTHER_SCHEMES: [&str; 6] = ["gs://", "gcs://", "az://", "abfs://", "hf://", "s3a://"];

/// Tells what `arg` names: `s3://bucket[/prefix]` is object storage, anything else a
/// directory. (A local directory named `s3:` is reached as `./s3:/…`.)
pub fn input_of(arg: &Path) -> Result<Input<'_>> {
    let Some(s) = arg.to_str() else {
        return Ok(Input::Dir(arg));
    };
    if let Some(other) = OTHER_SCHEMES.iter().find(|p| s.starts_with(*p)) {
        return Err(Error::input(
            s,
            format!(
                "{} is not supported: only s3:// (any S3-compatible store, with AWS_ENDPOINT_URL)",
                other.trim_end_matches("://")
            ),
        ));
    }
    let Some(rest) = s.strip_prefix("s3://") else {
        return Ok(Input::Dir(arg));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-');
    if !valid {
        return Err(Error::input(
            s,
            "not a bucket name (3-63 characters: a-z, 0-9, '.', '-')",
        ));
    }
    let prefix = prefix.trim_matches('/');
    if prefix.split('/').any(|seg| seg == "." || seg == "..") || prefix.contains("//") {
        return Err(Error::input(
            s,
            "the prefix has an empty, '.' or '..' segment",
        ));
    }
    Ok(Input::Object(ObjectUrl {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
    }))
}

/// The key the scanner's state for a prefix is saved under: the URL and the endpoint
/// (the same bucket name on two stores is two places). No credential is part of it.
pub(super) fn state_key(url: &ObjectUrl) -> Vec<u8> {
    let endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .unwrap_or_default();
    format!("{url}\0{endpoint}").into_bytes()
}

/// Lists and reads a prefix (see `object::walk`).
#[cfg(feature = "s3")]
pub(super) fn walk_objects(
    url: &ObjectUrl,
    opts: &super::ReadOptions,
    saved: Option<&super::state::Saved<'_>>,
    matcher: &crate::attribute::SourceMatcher,
) -> Result<super::Walked> {
    super::object::walk(url, opts, saved, matcher)
}

/// Without the `s3` feature an object-storage prefix is refused in one line.
#[cfg(not(feature = "s3"))]
pub(super) fn walk_objects(
    url: &ObjectUrl,
    _opts: &super::ReadOptions,
    _saved: Option<&super::state::Saved<'_>>,
    _matcher: &crate::attribute::SourceMatcher,
) -> Result<super::Walked> {
    Err(not_built(url))
}

/// The error of an `s3://` argument in a build without the `s3` feature.
#[cfg(not(feature = "s3"))]
pub fn not_built(url: &ObjectUrl) -> Error {
    Error::input(
        url.to_string(),
        "object storage support not built in (cargo feature \"s3\")",
    )
}

/// Hashes every object under `url` for `verify --path` (see `object::hash_objects`).
#[cfg(feature = "s3")]
pub fn hash_objects(url: &ObjectUrl, jobs: Option<usize>) -> Result<Vec<(Vec<u8>, blake3::Hash)>> {
    super::object::hash_objects(url, jobs)
}

/// Without the `s3` feature an object-storage prefix is refused in one line.
#[cfg(not(feature = "s3"))]
pub fn hash_objects(url: &ObjectUrl, _jobs: Option<usize>) -> Result<Vec<(Vec<u8>, blake3::Hash)>> {
    Err(not_built(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_directories() {
        let obj = |s: &str| match input_of(Path::new(s)).unwrap() {
            Input::Object(u) => u,
            Input::Dir(_) => panic!("{s} taken for a directory"),
        };
        assert_eq!(
            obj("s3://my-bucket/a/b/"),
            ObjectUrl {
                bucket: "my-bucket".into(),
                prefix: "a/b".into()
            }
        );
        assert_eq!(obj("s3://my-bucket").prefix, "");
        assert_eq!(obj("s3://my-bucket/x").to_string(), "s3://my-bucket/x");
        assert!(matches!(
            input_of(Path::new("data/s3://x")).unwrap(),
            Input::Dir(_)
        ));
        for bad in [
            "s3://",
            "s3://A_B/x",
            "s3://ab",
            "s3://bkt/a/../b",
            "gs://b/x",
        ] {
            assert!(input_of(Path::new(bad)).is_err(), "{bad}");
        }
    }
}
