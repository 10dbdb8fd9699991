//! URL fields as users name them (`url`, `meta.url`, `#2`) and the serde visitor that
//! finds one in a JSON record: it walks each record once, follows only the wanted paths
//! and never builds a JSON tree; unrelated values are skipped, strings are borrowed when
//! unescaped.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Where a record's URL may be, in priority order (at most 64 dotted paths, matched
/// case-insensitively), or which columns of a headerless table (`#2`: the second).
#[derive(Clone, Debug)]
pub struct UrlField {
    paths: Vec<Vec<String>>,
    columns: Vec<usize>,
    /// Where a record's text is (for its print), in priority order, after the URL paths
    /// in the finder's bit set.
    text: Vec<Vec<String>>,
    /// Whether records are printed at all (`scan --no-prints`).
    prints: bool,
    /// The URL paths then the text paths: the finder's paths, made once.
    all: Vec<Vec<String>>,
}

/// The URL fields looked for when `--url-field` is not given.
pub const DEFAULT_URL_FIELDS: &[&str] = &["url", "meta.url", "metadata.url", "source_url", "link"];

impl Default for UrlField {
    fn default() -> Self {
        UrlField::new(DEFAULT_URL_FIELDS).unwrap_or(UrlField {
            paths: Vec::new(),
            columns: Vec::new(),
            text: Vec::new(),
            prints: true,
            all: Vec::new(),
        })
    }
}

impl UrlField {
    /// Builds a finder from dotted paths (`meta.url`) or column positions (`#2`, 1-based,
    /// for delimited files without a header row; positions and names do not mix).
    pub fn new<S: AsRef<str>>(paths: &[S]) -> Result<UrlField, String> {
        if paths.is_empty() || paths.len() > MAX_URL_FIELDS {
            return Err(format!(
                "between 1 and {MAX_URL_FIELDS} URL fields are needed"
            ));
        }
        let mut out = Vec::new();
        let mut columns = Vec::new();
        for p in paths {
            let p = p.as_ref();
            if let Some(n) = p.strip_prefix('#') {
                match n.parse::<usize>() {
                    Ok(n) if n >= 1 => columns.push(n - 1),
                    _ => {
                        return Err(format!(
                            "invalid URL column '{p}' (expected #N, N from 1, e.g. #2)"
                        ));
                    }
                }
                continue;
            }
            let segs: Vec<String> = p.split('.').map(str::to_string).collect();
            if segs.iter().any(|s| s.is_empty()) {
                return Err(format!(
                    "invalid URL field '{p}' (expected a dotted path such as meta.url, or #N)"
                ));
            }
            out.push(segs);
        }
        if !out.is_empty() && !columns.is_empty() {
            return Err("URL fields by name and by position (#N) cannot be mixed".into());
        }
        Ok(UrlField {
            paths: out,
            columns,
            text: split_paths(crate::prints::DEFAULT_TEXT_FIELDS),
            prints: true,
            all: Vec::new(),
        }
        .joined())
    }

    /// The same URL fields, with the record text looked for at `paths` (dotted) instead
    /// of the default text fields.
    pub fn with_text<S: AsRef<str>>(mut self, paths: &[S]) -> Result<UrlField, String> {
        if paths.is_empty() || paths.len() > MAX_TEXT_FIELDS {
            return Err(format!(
                "between 1 and {MAX_TEXT_FIELDS} text fields are needed"
            ));
        }
        let text = split_paths(paths);
        if let Some(p) = paths
            .iter()
            .zip(&text)
            .find(|(_, t)| t.iter().any(String::is_empty))
        {
            return Err(format!(
                "invalid text field '{}' (expected a dotted path such as meta.text)",
                p.0.as_ref()
            ));
        }
        self.text = text;
        Ok(self.joined())
    }

    /// The same URL fields with no record printed: no text is looked for, no print kept.
    pub fn without_prints(mut self) -> UrlField {
        self.text.clear();
        self.prints = false;
        self.joined()
    }

    /// The finder's paths made again after a change.
    fn joined(mut self) -> UrlField {
        self.all = self.paths.iter().chain(&self.text).cloned().collect();
        self
    }

    /// Whether records are printed.
    pub fn prints(&self) -> bool {
        self.prints
    }

    /// The text fields, dotted, in priority order.
    pub fn text_dotted(&self) -> impl Iterator<Item = String> + '_ {
        self.text.iter().map(|p| p.join("."))
    }

    /// The text paths as segments, in priority order.
    pub fn text_paths(&self) -> &[Vec<String>] {
        &self.text
    }

    /// The fields as given (`meta.url`, `#2`), in priority order.
    pub fn dotted(&self) -> impl Iterator<Item = String> + '_ {
        self.paths
            .iter()
            .map(|p| p.join("."))
            .chain(self.columns.iter().map(|c| format!("#{}", c + 1)))
    }

    /// The paths as segments, in priority order.
    pub fn paths(&self) -> &[Vec<String>] {
        &self.paths
    }

    /// The 0-based columns of a headerless table (empty when fields are named).
    pub fn columns(&self) -> &[usize] {
        &self.columns
    }

    /// Finds the highest-priority non-empty URL string in one JSON record, looking into
    /// string fields that hold JSON (`"meta": "{\"url\": …}"`). `Ok(None)` when the record
    /// has no URL field (or it is null, empty or not a string); `Err` when it is not JSON.
    pub fn find<'a>(&self, line: &'a [u8]) -> Result<Option<Cow<'a, str>>, serde_json::Error> {
        Ok(self.find_url_and_text(line)?.0)
    }

    /// Finds a record's URL (as [`UrlField::find`]) and its text (the first non-blank
    /// string at a text path), in one walk over the record.
    pub fn find_url_and_text<'a>(
        &self,
        line: &'a [u8],
    ) -> Result<UrlAndText<'a>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(line);
        let found = Finder {
            paths: &self.all,
            urls: self.paths.len(),
            live: live_bits(self.all.len()),
            depth: 0,
        }
        .deserialize(&mut de)?;
        de.end()?;
        Ok((found.url.map(|(_, u)| u), found.text.map(|(_, t)| t)))
    }

    /// The top-level keys of a JSON object record (at most 20, in name order), to say what
    /// a shard without any URL field holds.
    pub fn keys_of(record: &[u8]) -> Vec<String> {
        // Values are skipped, not built: the record may be as large as the record limit.
        let Ok(map) =
            serde_json::from_slice::<std::collections::BTreeMap<String, IgnoredAny>>(record)
        else {
            return Vec::new();
        };
        map.into_keys().take(20).collect()
    }
}

/// A record's URL and text, either absent.
pub type UrlAndText<'a> = (Option<Cow<'a, str>>, Option<Cow<'a, str>>);

/// The most URL fields one may name: with the text fields, they share a 64-bit set.
pub const MAX_URL_FIELDS: usize = 48;
/// The most text fields one may name.
pub const MAX_TEXT_FIELDS: usize = 16;

fn split_paths<S: AsRef<str>>(paths: &[S]) -> Vec<Vec<String>> {
    paths
        .iter()
        .map(|p| p.as_ref().split('.').map(str::to_string).collect())
        .collect()
}

fn live_bits(n: usize) -> u64 {
    if n >= 64 { u64::MAX } else { (1u64 << n) - 1 }
}

/// Finds the URL at `rest` (a path below a column holding a JSON string) in `json`.
pub(crate) fn find_in_json_str(json: &str, rest: &[String]) -> Option<String> {
    let paths = [rest.to_vec()];
    let mut de = serde_json::Deserializer::from_str(json);
    let found = Finder {
        paths: &paths,
        urls: 1,
        live: 1,
        depth: 0,
    }
    .deserialize(&mut de)
    .ok()?;
    Some(found.url?.1.into_owned())
}

/// The problem recorded for a shard of records none of which has a URL field.
pub fn no_url_field(field: &UrlField, seen: &[String]) -> String {
    let wanted: Vec<String> = field.dotted().collect();
    format!(
        "no-url-field: no record has {} (fields seen: {}); name the URL field with --url-field",
        wanted.join(", "),
        if seen.is_empty() {
            "none".to_string()
        } else {
            seen.join(", ")
        }
    )
}

/// The best URL and the best text found below a value: (path index, string).
#[derive(Default)]
struct Found<'de> {
    url: Option<(usize, Cow<'de, str>)>,
    text: Option<(usize, Cow<'de, str>)>,
}

/// A visitor that follows only the live paths (a bit per path: the first `urls` are URL
/// paths, the rest text paths) and skips everything else.
struct Finder<'p> {
    paths: &'p [Vec<String>],
    urls: usize,
    live: u64,
    depth: usize,
}

impl Finder<'_> {
    /// The best live path that ends at this depth, for a non-blank string (an empty URL
    /// falls back to the next field).
    fn terminal_for(&self, v: &str) -> (Option<usize>, Option<usize>) {
        if v.trim().is_empty() {
            return (None, None);
        }
        let ends = |i: &usize| self.live & (1 << i) != 0 && self.paths[*i].len() == self.depth;
        (
            (0..self.urls).find(ends),
            (self.urls..self.paths.len()).find(ends),
        )
    }

    /// What a string at this depth is: a URL, a text, or JSON to look into.
    fn string<'de>(&self, v: Cow<'de, str>) -> Found<'de> {
        match self.terminal_for(&v) {
            (None, None) => self.inside_string(&v),
            (Some(u), Some(t)) => Found {
                url: Some((u, v.clone())),
                text: Some((t, v)),
            },
            (Some(u), None) => Found {
                url: Some((u, v)),
                text: None,
            },
            (None, Some(t)) => Found {
                url: None,
                text: Some((t, v)),
            },
        }
    }

    /// A string where an object was expected on a live path: JSON encoded in a string
    /// (RedPajama's `meta`) is parsed and followed.
    fn inside_string<'x>(&self, v: &str) -> Found<'x> {
        let deeper = (0..self.paths.len())
            .any(|i| self.live & (1 << i) != 0 && self.paths[i].len() > self.depth);
        if !deeper || !v.trim_start().starts_with('{') {
            return Found::default();
        }
        let mut de = serde_json::Deserializer::from_str(v);
        let Ok(found) = (Finder {
            paths: self.paths,
            urls: self.urls,
            live: self.live,
            depth: self.depth,
        })
        .deserialize(&mut de) else {
            return Found::default();
        };
        let own =
            |f: Option<(usize, Cow<'_, str>)>| f.map(|(i, s)| (i, Cow::Owned(s.into_owned())));
        Found {
            url: own(found.url),
            text: own(found.text),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Finder<'_> {
    type Value = Found<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

type Hit<'de> = Option<(usize, Cow<'de, str>)>;

fn better_hit<'de>(a: Hit<'de>, b: Hit<'de>) -> Hit<'de> {
    match (&a, &b) {
        (Some((pa, _)), Some((pb, _))) if pb < pa => b,
        (None, _) => b,
        _ => a,
    }
}

fn better<'de>(a: Found<'de>, b: Found<'de>) -> Found<'de> {
    Found {
        url: better_hit(a.url, b.url),
        text: better_hit(a.text, b.text),
    }
}

impl<'de> Visitor<'de> for Finder<'_> {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(self.string(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        if self.terminal_for(v) == (None, None) {
            // Not kept: no copy unless it is JSON to look into.
            return Ok(self.inside_string(v));
        }
        Ok(self.string(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(self.string(Cow::Owned(v)))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Found::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Found::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Found::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Found::default())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Found::default())
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Found::default())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Found::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut best: Found<'de> = Found::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let mut child = 0u64;
            for (i, p) in self.paths.iter().enumerate() {
                if self.live & (1 << i) != 0
                    && p.len() > self.depth
                    && p[self.depth].eq_ignore_ascii_case(&key)
                {
                    child |= 1 << i;
                }
            }
            if child == 0 {
                map.next_value::<IgnoredAny>()?;
            } else {
                let found = map.next_value_seed(Finder {
                    paths: self.paths,
                    urls: self.urls,
                    live: child,
                    depth: self.depth + 1,
                })?;
                best = better(best, found);
            }
        }
        Ok(best)
    }
}

/// Deserialises an object key, borrowed when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_field_finder_follows_paths_by_priority() {
        let f = UrlField::default();
        let find = |s: &str| f.find(s.as_bytes()).unwrap().map(|c| c.into_owned());
        assert_eq!(
            find(r#"{"text":"hi","url":"https://a.com"}"#).as_deref(),
            Some("https://a.com")
        );
        assert_eq!(
            find(r#"{"meta":{"lang":"en","url":"https://b.com"}}"#).as_deref(),
            Some("https://b.com")
        );
        assert_eq!(
            find(r#"{"metadata":{"url":"https://c.com"},"url":"https://a.com"}"#).as_deref(),
            Some("https://a.com")
        );
        assert_eq!(
            find(r#"{"source_url":"https://d.com","meta":{"url":"https://b.com"}}"#).as_deref(),
            Some("https://b.com")
        );
        assert_eq!(find(r#"{"url":5,"x":[1,{"url":"no"}]}"#), None);
        assert_eq!(
            find(r#"{"u\u0072l":"https://esc.com"}"#).as_deref(),
            Some("https://esc.com")
        );
        assert_eq!(find(r#"["url","https://a.com"]"#), None);
        assert!(f.find(br#"{"url":"https://a.com""#).is_err());
        assert!(f.find(br#"{"url":"a"} trailing"#).is_err());
        let custom = UrlField::new(&["doc.link.href"]).unwrap();
        assert_eq!(
            custom
                .find(br#"{"url":"x","doc":{"link":{"href":"https://e.com"}}}"#)
                .unwrap()
                .as_deref(),
            Some("https://e.com")
        );
        assert!(UrlField::new(&["a..b"]).is_err());
    }

    #[test]
    fn url_fields_ignore_case_fall_back_and_look_into_json_strings() {
        let f = UrlField::default();
        let find = |s: &str| f.find(s.as_bytes()).unwrap().map(|c| c.into_owned());
        assert_eq!(
            find(r#"{"URL":"https://a.com"}"#).as_deref(),
            Some("https://a.com")
        );
        assert_eq!(
            find(r#"{"url":"","source_url":"https://d.com"}"#).as_deref(),
            Some("https://d.com")
        );
        assert_eq!(
            find(r#"{"url":null,"Link":"https://l.com"}"#).as_deref(),
            Some("https://l.com")
        );
        assert_eq!(
            find(r#"{"meta":"{\"url\": \"https://rp.com/x\"}"}"#).as_deref(),
            Some("https://rp.com/x")
        );
        assert!(UrlField::new(&["#0"]).is_err());
        assert!(UrlField::new(&["#2", "url"]).is_err());
        assert_eq!(UrlField::new(&["#2"]).unwrap().columns(), &[1]);
    }
}
