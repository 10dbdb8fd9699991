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

/// Whether an ASCII byte is white space as `char::is_whitespace` says (TAB to CR, space).
fn is_space(b: u8) -> bool {
    b == b' ' || (b'\t'..=b'\r').contains(&b)
}

/// `t` without leading and trailing white space.
fn trim_space(t: &[u8]) -> &[u8] {
    let start = t.iter().position(|&b| !is_space(b)).unwrap_or(t.len());
    let end = t
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(start, |i| i + 1);
    &t[start..end]
}

/// An ASCII byte lower-cased, white space as a space.
fn fold_ascii(b: u8) -> u8 {
    if b.is_ascii_uppercase() {
        b + 32
    } else if (b'\t'..=b'\r').contains(&b) {
        b' '
    } else {
        b
    }
}

/// What one read-only pass over a text found: a byte past ASCII, and (in ASCII text) an
/// upper-case letter, white space other than a space, or two spaces in a row.
fn classify(t: &[u8]) -> (bool, bool) {
    // Lane-wise accumulators over 32 bytes at a time (and the same bytes one further on,
    // for pairs of spaces), reduced once at the end: the compiler keeps them in vector
    // registers. The last (partial) block is copied into a zero-padded one, so no byte is
    // looked at one by one (a zero is neither a letter nor a space).
    const LANES: usize = 32;
    let mut high = [0u8; LANES];
    let mut fold = [0u8; LANES];
    let mut lanes = |ca: &[u8], cb: &[u8]| {
        for i in 0..LANES {
            let b = ca[i];
            let odd = u8::from(b.is_ascii_uppercase()) | u8::from(b.wrapping_sub(b'\t') < 5);
            high[i] |= b;
            fold[i] |= odd | (u8::from(b == b' ') & u8::from(cb[i] == b' '));
        }
    };
    let full = t.len().saturating_sub(1) / LANES * LANES;
    for k in (0..full).step_by(LANES) {
        lanes(&t[k..k + LANES], &t[k + 1..k + 1 + LANES]);
    }
    let mut tail = [0u8; LANES + 1];
    tail[..t.len() - full].copy_from_slice(&t[full..]);
    lanes(&tail[..LANES], &tail[1..]);
    let h = high.iter().fold(0, |x, &y| x | y);
    let f = fold.iter().fold(0, |x, &y| x | y);
    (h >= 0x80, f != 0)
}

/// What the ASCII pass of [`Printer::text`] made of a text.
enum Ascii {
    /// ASCII: its print, if long enough.
    Done(Option<u64>),
    /// Not ASCII: the Unicode pass prints it.
    Not,
}

/// Normalises and hashes text, reusing one buffer (one per reader).
pub struct Printer {
    buf: Vec<u8>,
    spaces: memchr::memmem::Finder<'static>,
    scheme: memchr::memmem::Finder<'static>,
}

impl Default for Printer {
    fn default() -> Printer {
        Printer {
            buf: Vec::new(),
            spaces: memchr::memmem::Finder::new(b"  "),
            scheme: memchr::memmem::Finder::new(b"://"),
        }
    }
}

impl Printer {
    /// The print of a record's text, or `None` when less than [`MIN_TEXT_BYTES`] are left
    /// after normalising.
    pub fn text(&mut self, s: &str) -> Option<u64> {
        match self.ascii_text(s.as_bytes()) {
            Ascii::Done(p) => p,
            Ascii::Not => self.unicode_text(s),
        }
    }

    /// The print of text given as bytes (a Parquet value): as [`Printer::text`] of the
    /// same text, `None` as well when they are not UTF-8. ASCII is UTF-8: only other text
    /// is checked.
    pub fn text_bytes(&mut self, b: &[u8]) -> Option<u64> {
        match self.ascii_text(b) {
            Ascii::Done(p) => p,
            Ascii::Not => self.unicode_text(std::str::from_utf8(b).ok()?),
        }
    }

    /// [`Printer::text`] of ASCII text; [`Ascii::Not`] for any other.
    fn ascii_text(&mut self, bytes: &[u8]) -> Ascii {
        // ASCII (NFKC leaves it as it is): trimmed, then one read-only pass the compiler
        // vectorises says whether it is ASCII and whether it holds upper case, white
        // space other than a space or a run of spaces. Without any, it is its own normal
        // form and is hashed in place (most web text). Else lower case and white space →
        // space in one vectorised pass, and runs of spaces (found by SIMD search)
        // collapsed after.
        let t = trim_space(bytes);
        let (high, fold) = classify(t);
        if high {
            return Ascii::Not;
        }
        if t.len() < MIN_TEXT_BYTES {
            // Normalising never lengthens ASCII text.
            return Ascii::Done(None);
        }
        if !fold {
            return Ascii::Done(Some(top(xxhash_rust::xxh3::xxh3_64(t))));
        }
        self.buf.clear();
        self.buf.extend(t.iter().map(|&b| fold_ascii(b)));
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
        Ascii::Done(
            (self.buf.len() >= MIN_TEXT_BYTES).then(|| top(xxhash_rust::xxh3::xxh3_64(&self.buf))),
        )
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
        let rest = match self.scheme.find(u) {
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

    /// The normalisation as first written: NFKC, lower case, white space char by char,
    /// every text through it (the reference the fast paths must equal).
    fn reference(s: &str) -> Option<u64> {
        let mut p = Printer::default();
        p.unicode_text(s)
    }

    #[test]
    fn the_ascii_fast_paths_equal_the_unicode_normalisation() {
        let mut p = Printer::default();
        // Tricky by hand: every ASCII white space, the letters around 'A'-'Z' and
        // 'a'-'z', runs of spaces at both ends and across the 32-byte lanes, NBSP,
        // fullwidth letters, combining marks, other Unicode spaces.
        let mut cases: Vec<String> = vec![
            "plain lower case text, one space each".into(),
            "  Leading and trailing  \t\n".into(),
            "\u{b}\u{c}vertical tab and form feed are white space\r\n".into(),
            "@[`{ around the letters AZaz @[`{ and digits 0123456789".into(),
            "\u{1c}\u{1d}\u{1e}\u{1f} are not white space for char::is_whitespace".into(),
            format!("{}x{}", " ".repeat(31), " y".repeat(40)),
            format!("{}  {}", "a".repeat(31), "b".repeat(33)),
            format!("{}  {}", "a".repeat(32), "b".repeat(32)),
            format!("{}\t{}", "c".repeat(63), "D".repeat(65)),
            "no\u{a0}break space and ｆｕｌｌｗｉｄｔｈ ＬＥＴＴＥＲＳ".into(),
            "combining marks: cafe\u{301} and e\u{301}\u{327} together".into(),
            "ideographic\u{3000}space and em\u{2003}space and line\u{2028}separator".into(),
            "ﬁ ligature and ① circled and Ⅻ roman numerals in NFKC".into(),
            "exactly sixteen!".into(),
            " exactly fifteen".into(),
            "\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t\t".into(),
            String::new(),
        ];
        // And pseudo-random ASCII over an alphabet of the bytes that matter, of lengths
        // crossing the lane boundaries.
        let alphabet = b"aAzZ@[`{ \t\n\x0b\x0c\r\x1c0 ";
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..200usize {
            for _ in 0..4 {
                let s: String = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        alphabet[(x % alphabet.len() as u64) as usize] as char
                    })
                    .collect();
                cases.push(s);
            }
        }
        for s in &cases {
            assert_eq!(p.text(s), reference(s), "{s:?}");
            assert_eq!(p.text_bytes(s.as_bytes()), reference(s), "{s:?}");
        }
        // Bytes that are not UTF-8 have no print.
        assert_eq!(p.text_bytes(b"some text long enough \xff\xfe here"), None);
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
