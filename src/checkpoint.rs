//! Signed checkpoints of the event chain, and the Ed25519 key files that sign them.
//!
//! A checkpoint is what an auditor keeps outside the registry to prove later that the
//! registry still extends what they saw: Certificate Transparency's signed tree head applied
//! to the event log. It is a small JSON document (see `docs/checkpoints.md`):
//!
//! ```json
//! {"format":"provtrack-checkpoint/1","head":"…64 hex…","key_id":"…16 hex…","seq":42,
//!  "signature":"…128 hex…","state_root":null,"time":"2026-12-01T12:00:00Z"}
//! ```
//!
//! The signature is Ed25519 over the canonical JSON (keys sorted, no white space, see
//! [`crate::events::canonical`]) of the same object without its `signature` key, so the
//! signed bytes are re-derived from the parsed document whatever its layout. `state_root`
//! is the state root the event at `seq` committed to (`null`, signed as `null`, for an
//! event written before state digests).
//!
//! Key files are text, one key per file; blank lines and lines starting with `#` are
//! comments. A private key file holds `provtrack-ed25519-secret-key HEX` (the 32-byte
//! seed), a public key file `provtrack-ed25519-public-key HEX` (32 bytes). Key files are
//! never stored in the registry.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::events;

/// The `format` of the checkpoints this version writes and reads.
pub const FORMAT: &str = "provtrack-checkpoint/1";

const SECRET_TAG: &str = "provtrack-ed25519-secret-key";
const PUBLIC_TAG: &str = "provtrack-ed25519-public-key";

/// Key and checkpoint files are a few hundred bytes; anything much larger is not one, and
/// is refused without being read whole.
const MAX_FILE: u64 = 64 * 1024;

/// A signed checkpoint of the event chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Always [`FORMAT`].
    pub format: String,
    /// The sequence number of the head event: the chain had this many events.
    pub seq: u64,
    /// The head event's chain hash, 64 lowercase hex digits.
    pub head: String,
    /// The registry's state root at `seq`, 64 hex digits; `null` until the registry
    /// records state roots.
    pub state_root: Option<String>,
    /// When the checkpoint was signed, UTC, RFC 3339.
    pub time: String,
    /// Which key signed it: [`key_id`] of the public key.
    pub key_id: String,
    /// Ed25519 signature over [`Checkpoint::signed_bytes`], 128 hex digits.
    pub signature: String,
}

impl Checkpoint {
    /// Signs a checkpoint of the chain head `head` at `seq`.
    pub fn sign(
        seq: u64,
        head: &str,
        state_root: Option<String>,
        time: String,
        key: &SigningKey,
    ) -> Checkpoint {
        let mut cp = Checkpoint {
            format: FORMAT.into(),
            seq,
            head: head.to_string(),
            state_root,
            time,
            key_id: key_id(&key.verifying_key()),
            signature: String::new(),
        };
        cp.signature = to_hex(&key.sign(&cp.signed_bytes()).to_bytes());
        cp
    }

    /// The bytes the signature covers: the canonical JSON of every field but `signature`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let v = serde_json::json!({
            "format": self.format,
            "seq": self.seq,
            "head": self.head,
            "state_root": self.state_root,
            "time": self.time,
            "key_id": self.key_id,
        });
        events::canonical(&v).into_bytes()
    }

    /// The checkpoint as printed: pretty JSON with sorted keys and a final newline.
    pub fn to_json(&self) -> String {
        // A struct of strings and integers always serialises.
        let v = serde_json::to_value(self).unwrap_or_default();
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Parses and validates a checkpoint document; `place` names it in errors.
    pub fn parse(text: &str, place: &str) -> Result<Checkpoint> {
        let cp: Checkpoint = serde_json::from_str(text)
            .map_err(|e| Error::input(place, format!("not a provtrack checkpoint: {e}")))?;
        let bad = |msg: String| Err(Error::input(place, msg));
        if cp.format != FORMAT {
            return bad(format!(
                "format {:?} is not {FORMAT:?} (written by another version?)",
                cp.format
            ));
        }
        if cp.seq == 0 {
            return bad("seq must be at least 1".into());
        }
        if !is_hex(&cp.head, 64) {
            return bad("head must be 64 lowercase hex digits".into());
        }
        if let Some(r) = &cp.state_root
            && !is_hex(r, 64)
        {
            return bad("state_root must be null or 64 lowercase hex digits".into());
        }
        if !is_hex(&cp.key_id, 16) {
            return bad("key_id must be 16 lowercase hex digits".into());
        }
        if !is_hex(&cp.signature, 128) {
            return bad("signature must be 128 lowercase hex digits".into());
        }
        if cp.time.is_empty() {
            return bad("time is empty".into());
        }
        Ok(cp)
    }

    /// Checks the signature with `key`; the error says why it does not hold.
    pub fn check_signature(&self, key: &VerifyingKey) -> std::result::Result<(), String> {
        let given = key_id(key);
        if given != self.key_id {
            return Err(format!(
                "signed by key {}, not by the key given ({given})",
                self.key_id
            ));
        }
        let bytes: [u8; 64] = from_hex(&self.signature)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| "the signature is not 64 bytes of hex".to_string())?;
        key.verify_strict(&self.signed_bytes(), &Signature::from_bytes(&bytes))
            .map_err(|_| {
                format!(
                    "the signature does not verify with key {given} (the checkpoint was altered)"
                )
            })
    }
}

/// A short name of a public key: the first 16 hex digits of the BLAKE3 hash of its bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    blake3::hash(key.as_bytes()).to_hex()[..16].to_string()
}

/// A new private key from the operating system's random source.
pub fn generate() -> Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| Error::input("key new", format!("no random source: {e}")))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The text of a private key file.
pub fn secret_file_text(key: &SigningKey) -> String {
    format!(
        "# provtrack Ed25519 private key {}: keep it secret, keep it out of the registry\n{SECRET_TAG} {}\n",
        key_id(&key.verifying_key()),
        to_hex(&key.to_bytes())
    )
}

/// The text of a public key file.
pub fn public_file_text(key: &VerifyingKey) -> String {
    format!(
        "# provtrack Ed25519 public key {}\n{PUBLIC_TAG} {}\n",
        key_id(key),
        to_hex(key.as_bytes())
    )
}

/// Where `key new --out FILE` puts the public key: `FILE.pub`.
pub fn public_path(private: &Path) -> PathBuf {
    let mut p = private.as_os_str().to_owned();
    p.push(".pub");
    PathBuf::from(p)
}

/// Writes a new key pair: the private key to `out` (mode 0600 where the platform has
/// modes; a missing directory is created 0700) and the public key to `out.pub`. Neither
/// file may exist yet. Returns the public key.
pub fn write_new_pair(out: &Path, key: &SigningKey) -> Result<VerifyingKey> {
    let public = public_path(out);
    for p in [out, public.as_path()] {
        if p.exists() || p.is_symlink() {
            return Err(Error::input(
                p.display().to_string(),
                "already exists; key new never overwrites a key",
            ));
        }
    }
    if let Some(dir) = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        // A new directory for keys is private to its owner, as the private key is.
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(dir).map_err(|e| Error::io(dir, e))?;
    }
    create_new(out, secret_file_text(key).as_bytes(), true)?;
    let vk = key.verifying_key();
    if let Err(e) = create_new(&public, public_file_text(&vk).as_bytes(), false) {
        // Half a pair is no use: take the private key back.
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    Ok(vk)
}

fn create_new(path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    // create_new: refuses an existing file (or a link) even if it appeared just now.
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = opts.open(path).map_err(|e| Error::io(path, e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Reads a small text file (key or checkpoint), refusing one too large to be either.
pub fn read_small(path: &Path) -> Result<String> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    let place = path.display().to_string();
    if bytes.len() as u64 > MAX_FILE {
        return Err(Error::input(place, "too large to be a key or checkpoint"));
    }
    String::from_utf8(bytes).map_err(|_| Error::input(place, "not UTF-8 text"))
}

/// The one key line of a key file: `(tag, hex)`.
fn key_line<'a>(text: &'a str, place: &str) -> Result<(&'a str, &'a str)> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let line = lines
        .next()
        .ok_or_else(|| Error::input(place, "no key in this file"))?;
    if lines.next().is_some() {
        return Err(Error::input(place, "more than one key line"));
    }
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some(tag), Some(hex), None) => Ok((tag, hex)),
        _ => Err(Error::input(
            place,
            format!("expected `{PUBLIC_TAG} HEX` or `{SECRET_TAG} HEX`"),
        )),
    }
}

fn key_bytes(hex: &str, place: &str) -> Result<[u8; 32]> {
    from_hex(hex)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::input(place, "the key is not 64 hex digits (32 bytes)"))
}

/// Parses a private key file's text; `place` names it in errors.
pub fn parse_secret(text: &str, place: &str) -> Result<SigningKey> {
    match key_line(text, place)? {
        (SECRET_TAG, hex) => Ok(SigningKey::from_bytes(&key_bytes(hex, place)?)),
        (PUBLIC_TAG, _) => Err(Error::input(
            place,
            "this is a public key; signing needs the private key file",
        )),
        (tag, _) => Err(Error::input(
            place,
            format!("`{tag}` is not {SECRET_TAG:?}: not a provtrack private key"),
        )),
    }
}

/// Parses a public key file's text; `place` names it in errors.
pub fn parse_public(text: &str, place: &str) -> Result<VerifyingKey> {
    match key_line(text, place)? {
        (PUBLIC_TAG, hex) => VerifyingKey::from_bytes(&key_bytes(hex, place)?)
            .map_err(|_| Error::input(place, "not a valid Ed25519 public key")),
        (SECRET_TAG, _) => Err(Error::input(
            place,
            "this is a private key; give the public key file (FILE.pub), which is all a verifier needs",
        )),
        (tag, _) => Err(Error::input(
            place,
            format!("`{tag}` is not {PUBLIC_TAG:?}: not a provtrack public key"),
        )),
    }
}

/// A chain hash as given on a command line: 64 hex digits or a prefix of at least 8,
/// lowercased. `None` when it is neither.
pub fn head_prefix(s: &str) -> Option<String> {
    let s = s.trim();
    ((8..=64).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_hexdigit()))
        .then(|| s.to_ascii_lowercase())
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len() / 2)
        .map(|k| u8::from_str_radix(&s[2 * k..2 * k + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn a_signed_checkpoint_round_trips_and_verifies() {
        let k = key(7);
        let head = "ab".repeat(32);
        let cp = Checkpoint::sign(3, &head, None, "2026-12-01T12:00:00Z".into(), &k);
        let back = Checkpoint::parse(&cp.to_json(), "cp").unwrap();
        assert_eq!(back, cp);
        assert!(back.check_signature(&k.verifying_key()).is_ok());
        assert!(cp.to_json().contains("\"state_root\": null"));
    }

    #[test]
    fn any_change_or_another_key_fails_the_signature() {
        let k = key(7);
        let cp = Checkpoint::sign(3, &"ab".repeat(32), None, "t".into(), &k);
        let mut moved = cp.clone();
        moved.seq = 4;
        assert!(moved.check_signature(&k.verifying_key()).is_err());
        let mut rooted = cp.clone();
        rooted.state_root = Some("cd".repeat(32));
        assert!(rooted.check_signature(&k.verifying_key()).is_err());
        let other = key(8).verifying_key();
        assert!(
            cp.check_signature(&other)
                .unwrap_err()
                .contains("signed by key")
        );
        // The other key's id written in: still its signature does not hold.
        let mut forged = cp.clone();
        forged.key_id = key_id(&other);
        assert!(
            forged
                .check_signature(&other)
                .unwrap_err()
                .contains("does not verify")
        );
    }

    #[test]
    fn key_files_round_trip_and_are_told_apart() {
        let k = key(9);
        let secret = secret_file_text(&k);
        let public = public_file_text(&k.verifying_key());
        assert_eq!(parse_secret(&secret, "k").unwrap().to_bytes(), k.to_bytes());
        assert_eq!(parse_public(&public, "k.pub").unwrap(), k.verifying_key());
        assert!(parse_public(&secret, "k").is_err());
        assert!(parse_secret(&public, "k.pub").is_err());
        assert!(parse_public("", "x").is_err());
        assert!(parse_public("provtrack-ed25519-public-key zz", "x").is_err());
        assert!(parse_public(&format!("{public}{public}"), "x").is_err());
    }

    #[test]
    fn malformed_checkpoints_are_refused() {
        let k = key(7);
        let good = Checkpoint::sign(3, &"ab".repeat(32), None, "t".into(), &k).to_json();
        assert!(Checkpoint::parse("{", "cp").is_err());
        assert!(Checkpoint::parse("[]", "cp").is_err());
        assert!(Checkpoint::parse(&good.replace("\"seq\": 3", "\"seq\": -3"), "cp").is_err());
        assert!(Checkpoint::parse(&good.replace("abab", "ABAB"), "cp").is_err());
        assert!(
            Checkpoint::parse(&good.replace("\"seq\"", "\"extra\": 1, \"seq\""), "cp").is_err()
        );
        assert!(Checkpoint::parse(&good.replace("/1", "/2"), "cp").is_err());
    }

    #[test]
    fn head_prefixes() {
        assert_eq!(head_prefix("ABCDEF01").as_deref(), Some("abcdef01"));
        assert!(head_prefix("abcdef0").is_none());
        assert!(head_prefix("xyzxyzxy").is_none());
        assert!(head_prefix(&"a".repeat(65)).is_none());
    }
}
