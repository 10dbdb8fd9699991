//! Record fingerprints ("prints"): a 48-bit hash of each record's normalised text (and of
//! its normalised URL), kept per shard and source in a compact Rice-coded set, so that
//! provenance survives re-packing: a record whose URL was dropped is still recognised by
//! its text ([`PrintIndex`]), and `match` answers "are these posts in your datasets?".
//!
//! Normalisation (documented in the README, stable: stored prints depend on it):
//! Unicode NFKC, lower case, every run of white space one space, trimmed. A print is the
//! top 48 bits of XXH3-64 (seed 0) of the normalised UTF-8 bytes.

mod codec;
mod derive;
mod index;

pub use codec::{decode, encode};
pub use derive::{Matched, attribute_pending, load_index, local_sources, sets_of};
pub use index::{IndexEntry, PrintIndex};

use unicode_normalization::UnicodeNormalization;

/// Bits kept of a print: with 10^7 indexed records, a lookup of an unknown record
/// collides with probability 10^7 / 2^48 ≈ 3.6e-8.
pub const PRINT_BITS: u32 = 48;

/// What a print is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// The record's text field.
    Text,
    /// The record's URL.
    Url,
}

impl Kind {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Url => "url",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "text" => Some(Kind::Text),
            "url" => Some(Kind::Url),
            _ => None,
        }
    }
}

/// The text fields looked for when `--text-field` is not given, in priority order
/// (matched ignoring case).
pub const DEFAULT_TEXT_FIELDS: &[&str] = &[
    "text",
    "content",
    "caption",
    "body",
    "raw_content",
    "selftext",
    "document",
    "TEXT",
];

fn top(h: u64) -> u64 {
    h >> (64 - PRINT_BITS)
}

/// Normalises and hashes text, reusing one buffer (one per reader).
#[derive(Default)]
pub struct Printer {
    buf: Vec<u8>,
}

impl Printer {
    /// The print of a record's text, or `None` when nothing is left after normalising.
    pub fn text(&mut self, s: &str) -> Option<u64> {
        self.buf.clear();
        let mut space = false;
        let mut push = |buf: &mut Vec<u8>, c: char| {
            if c.is_whitespace() {
                space = !buf.is_empty();
            } else {
                if space {
                    buf.push(b' ');
                    space = false;
                }
                let mut tmp = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        };
        if s.is_ascii() {
            // NFKC leaves ASCII as it is.
            let mut space = false;
            for &b in s.as_bytes() {
                if b.is_ascii_whitespace() || b == 0x0b {
                    space = !self.buf.is_empty();
                } else {
                    if space {
                        self.buf.push(b' ');
                        space = false;
                    }
                    self.buf.push(b.to_ascii_lowercase());
                }
            }
        } else {
            for c in s.nfkc() {
                if c.is_uppercase() {
                    for l in c.to_lowercase() {
                        push(&mut self.buf, l);
                    }
                } else {
                    push(&mut self.buf, c);
                }
            }
        }
        (!self.buf.is_empty()).then(|| top(xxhash_rust::xxh3::xxh3_64(&self.buf)))
    }

    /// The print of a URL: scheme, a leading `www.`, the fragment and a trailing `/`
    /// dropped, the host lower-cased; `None` for a blank one.
    pub fn url(&mut self, u: &str) -> Option<u64> {
        let u = u.trim();
        let rest = u.split_once("://").map_or(u, |(_, r)| r);
        let rest = rest.split('#').next().unwrap_or("");
        let (host, path) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let host = host.strip_prefix("www.").unwrap_or(host);
        let host = host.strip_prefix("WWW.").unwrap_or(host);
        let path = path.strip_suffix('/').unwrap_or(path);
        if host.is_empty() && path.is_empty() {
            return None;
        }
        self.buf.clear();
        self.buf
            .extend(host.bytes().map(|b| b.to_ascii_lowercase()));
        self.buf.extend_from_slice(path.as_bytes());
        Some(top(xxhash_rust::xxh3::xxh3_64(&self.buf)))
    }

    /// The print of raw bytes (a WebDataset member, an image).
    pub fn bytes(b: &[u8]) -> u64 {
        top(xxhash_rust::xxh3::xxh3_64(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_ignores_case_space_and_unicode_forms() {
        let mut p = Printer::default();
        let a = p.text("Hello  World\n").unwrap();
        assert_eq!(p.text(" hello world").unwrap(), a);
        assert_eq!(p.text("HELLO\tWORLD").unwrap(), a);
        // Fullwidth letters and a non-breaking space read as their plain forms.
        assert_eq!(p.text("Ｈｅｌｌｏ\u{a0}World").unwrap(), a);
        assert_ne!(p.text("Hello World!").unwrap(), a);
        assert_eq!(p.text(" \n\t"), None);
        assert!(a < 1 << PRINT_BITS);
        // Composed and decomposed accents are one text.
        assert_eq!(p.text("café"), p.text("cafe\u{301}"));
    }

    #[test]
    fn url_prints_ignore_scheme_www_and_host_case() {
        let mut p = Printer::default();
        let a = p.url("https://www.Reddit.com/r/x/1/").unwrap();
        assert_eq!(p.url("http://reddit.com/r/x/1").unwrap(), a);
        assert_ne!(p.url("https://reddit.com/r/X/1").unwrap(), a);
        assert_eq!(p.url("  "), None);
    }
}
