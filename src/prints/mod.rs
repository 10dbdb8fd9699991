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

/// The shortest normalised text printed, in bytes: shorter ones ("thanks!", "lol") are
/// written by many people on every platform, and a match would attribute them by chance.
pub const MIN_TEXT_BYTES: usize = 16;

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
pub struct Printer {
    buf: Vec<u8>,
    spaces: memchr::memmem::Finder<'static>,
}

impl Default for Printer {
    fn default() -> Printer {
        Printer {
            buf: Vec::new(),
            spaces: memchr::memmem::Finder::new(b"  "),
        }
    }
}

impl Printer {
    /// The print of a record's text, or `None` when less than [`MIN_TEXT_BYTES`] are left
    /// after normalising.
    pub fn text(&mut self, s: &str) -> Option<u64> {
        // ASCII first (NFKC leaves it as it is): lower case and white space → space in one
        // pass the compiler vectorises, noting any byte past ASCII on the way; runs of
        // spaces (rare) are collapsed after, found by SIMD search.
        let bytes = s.as_bytes();
        self.buf.clear();
        self.buf.resize(bytes.len(), 0);
        let mut high = 0u8;
        for (o, &b) in self.buf.iter_mut().zip(bytes) {
            high |= b;
            *o = if b.is_ascii_uppercase() {
                b + 32
            } else if matches!(b, b'\t'..=b'\r') {
                b' '
            } else {
                b
            };
        }
        if high >= 0x80 {
            return self.unicode_text(s);
        }
        if self.spaces.find(&self.buf).is_some() {
            let mut j = 0usize;
            for i in 0..self.buf.len() {
                let b = self.buf[i];
                if b == b' ' && j > 0 && self.buf[j - 1] == b' ' {
                    continue;
                }
                self.buf[j] = b;
                j += 1;
            }
            self.buf.truncate(j);
        }
        let t = self.buf.trim_ascii();
        (t.len() >= MIN_TEXT_BYTES).then(|| top(xxhash_rust::xxh3::xxh3_64(t)))
    }

    /// [`Printer::text`] of a text that is not all ASCII: NFKC, then lower case and white
    /// space char by char.
    fn unicode_text(&mut self, s: &str) -> Option<u64> {
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
        for c in s.nfkc() {
            if c.is_uppercase() {
                for l in c.to_lowercase() {
                    push(&mut self.buf, l);
                }
            } else {
                push(&mut self.buf, c);
            }
        }
        (self.buf.len() >= MIN_TEXT_BYTES).then(|| top(xxhash_rust::xxh3::xxh3_64(&self.buf)))
    }

    /// The print of a URL: scheme, a leading `www.`, the fragment and a trailing `/`
    /// dropped, the host lower-cased; `None` for a blank one.
    pub fn url(&mut self, u: &str) -> Option<u64> {
        let u = u.trim().as_bytes();
        let rest = match memchr::memmem::find(u, b"://") {
            Some(i) => &u[i + 3..],
            None => u,
        };
        let rest = match memchr::memchr(b'#', rest) {
            Some(i) => &rest[..i],
            None => rest,
        };
        let (host, path) = rest.split_at(memchr::memchr2(b'/', b'?', rest).unwrap_or(rest.len()));
        let host = if host.len() >= 4 && host[..4].eq_ignore_ascii_case(b"www.") {
            &host[4..]
        } else {
            host
        };
        let path = path.strip_suffix(b"/").unwrap_or(path);
        if host.is_empty() && path.is_empty() {
            return None;
        }
        self.buf.clear();
        self.buf.extend(host.iter().map(u8::to_ascii_lowercase));
        self.buf.extend_from_slice(path);
        Some(top(xxhash_rust::xxh3::xxh3_64(&self.buf)))
    }

    /// The print of raw bytes (a WebDataset member, an image).
    pub fn bytes(b: &[u8]) -> u64 {
        top(xxhash_rust::xxh3::xxh3_64(b))
    }
}

/// Prints a byte stream (a WebDataset member) as it is written through.
#[derive(Default)]
pub struct BytesPrinter(xxhash_rust::xxh3::Xxh3Default);

impl BytesPrinter {
    /// The print of everything written: as [`Printer::bytes`] of the same bytes.
    pub fn finish(&self) -> u64 {
        top(self.0.digest())
    }
}

impl std::io::Write for BytesPrinter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.update(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_ignores_case_space_and_unicode_forms() {
        let mut p = Printer::default();
        let a = p.text("Hello  World of prints\n").unwrap();
        assert_eq!(p.text(" hello world of prints").unwrap(), a);
        assert_eq!(p.text("HELLO\tWORLD OF\r\nPRINTS").unwrap(), a);
        // Fullwidth letters and a non-breaking space read as their plain forms.
        assert_eq!(p.text("Ｈｅｌｌｏ\u{a0}World of prints").unwrap(), a);
        assert_ne!(p.text("Hello World of prints!").unwrap(), a);
        assert_eq!(p.text(" \n\t"), None);
        // Too short to say where it came from.
        assert_eq!(p.text("thanks a lot!"), None);
        assert!(a < 1 << PRINT_BITS);
        // The ASCII path and the Unicode path agree (a fullwidth text becomes ASCII).
        for c in 0u8..128 {
            let ascii = format!("some text {} more text", c as char);
            let wide = format!("ｓｏｍｅ text {} more text", c as char);
            assert_eq!(p.text(&ascii), p.text(&wide), "{c}");
        }
        // Composed and decomposed accents are one text.
        assert_eq!(
            p.text("a café on the corner"),
            p.text("a cafe\u{301} on the corner")
        );
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
