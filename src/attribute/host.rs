//! URL host → source: the host of a URL as a browser reads it (a fast path for plain
//! ASCII, WHATWG host parsing otherwise) and [`SourceMatcher`], which maps a host to the
//! source owning the longest matching domain.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::values::Source;

/// The host of a URL as a browser reads it (`https://user@Mobile.Twitter.com:443/x` →
/// `Mobile.Twitter.com`); a scheme-less `twitter.com/x` is read as a host too. Plain ASCII
/// URLs take a fast path; anything else (IDNA, fullwidth or ideographic dots, a
/// percent-encoded host, `\` as `/`) goes through WHATWG host parsing, which gives the
/// ASCII (punycode) form. `None` when there is no host.
pub fn url_host(url: &str) -> Option<Cow<'_, str>> {
    // Most URLs start and end with a visible ASCII byte: nothing to trim.
    let url = match (url.as_bytes().first(), url.as_bytes().last()) {
        (Some(a), Some(z)) if a.is_ascii_graphic() && z.is_ascii_graphic() => url,
        _ => url.trim(),
    };
    match plain_host(url) {
        FastHost::Host(h) => Some(Cow::Borrowed(h)),
        FastHost::NoHost => None,
        FastHost::Unusual => whatwg_host(url).map(Cow::Owned),
    }
}

/// What the fast path made of a URL.
enum FastHost<'a> {
    Host(&'a str),
    NoHost,
    /// Non-ASCII, `%` or `\\` before the host's end: a job for the WHATWG parser.
    Unusual,
}

fn plain_host(url: &str) -> FastHost<'_> {
    // Byte by byte (every delimiter is ASCII, so every cut is on a char boundary): the
    // scheme is the leading run of scheme characters when `://` follows it; a `://`
    // anywhere else means no host.
    let b = url.as_bytes();
    let scheme = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || b"+-.".contains(&c)))
        .unwrap_or(b.len());
    let start = if scheme > 0 && b[scheme..].starts_with(b"://") {
        scheme + 3
    } else if memchr::memmem::find(b, b"://").is_some() {
        return FastHost::NoHost;
    } else if b.starts_with(b"//") {
        2
    } else {
        0
    };
    let rest = &b[start..];
    let end = memchr::memchr3(b'/', b'?', b'#', rest).unwrap_or(rest.len());
    if b[..start + end]
        .iter()
        .any(|&c| c == b'\\' || c == b'%' || !c.is_ascii())
    {
        return FastHost::Unusual;
    }
    let authority = &url[start..start + end];
    let host_port = match memchr::memrchr(b'@', authority.as_bytes()) {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        match memchr::memchr(b']', v6.as_bytes()) {
            Some(close) => &v6[..close],
            None => return FastHost::NoHost,
        }
    } else {
        match memchr::memchr(b':', host_port.as_bytes()) {
            Some(colon) => &host_port[..colon],
            None => host_port,
        }
    };
    let host = host.trim_end_matches('.');
    // ASCII here: white space as `char::is_whitespace` says, TAB to CR and space.
    if host.is_empty()
        || host
            .bytes()
            .any(|c| c == b' ' || (b'\t'..=b'\r').contains(&c))
    {
        FastHost::NoHost
    } else {
        FastHost::Host(host)
    }
}

/// WHATWG host parsing (the `url` crate), for URLs the fast path does not take.
fn whatwg_host(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| u.has_host())
        .or_else(|| url::Url::parse(&format!("http://{url}")).ok())?;
    let host = match parsed.host()? {
        url::Host::Domain(d) => d.trim_end_matches('.').to_string(),
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a.to_string(),
    };
    (!host.is_empty()).then_some(host)
}

/// Maps hosts to sources by their domains: the longest domain that equals the host or is
/// a suffix of it on a label boundary wins (`mobile.twitter.com` → `twitter.com`;
/// `notx.com` is not `x.com`).
#[derive(Clone, Debug, Default)]
pub struct SourceMatcher {
    by_domain: HashMap<String, usize, foldhash::fast::RandomState>,
    ids: Vec<String>,
}

impl SourceMatcher {
    /// Indexes every source's domains.
    pub fn new(sources: &[Source]) -> SourceMatcher {
        let mut m = SourceMatcher::default();
        for (i, s) in sources.iter().enumerate() {
            m.ids.push(s.id.clone());
            for d in &s.domains {
                m.by_domain.insert(d.to_ascii_lowercase(), i);
            }
        }
        m
    }

    /// Source ids, indexed as the matcher's results.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The source a host belongs to.
    pub fn source_of_host(&self, host: &str) -> Option<usize> {
        let lowered;
        let mut h: &str = if host.bytes().any(|c| c.is_ascii_uppercase()) {
            lowered = host.to_ascii_lowercase();
            &lowered
        } else {
            host
        };
        loop {
            if let Some(&i) = self.by_domain.get(h) {
                return Some(i);
            }
            match memchr::memchr(b'.', h.as_bytes()) {
                Some(dot) => h = &h[dot + 1..],
                None => return None,
            }
        }
    }

    /// The source a URL belongs to.
    pub fn source_of_url(&self, url: &str) -> Option<usize> {
        url_host(url).and_then(|h| self.source_of_host(&h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::src;

    #[test]
    fn hosts_match_on_label_boundaries_longest_first() {
        let m = SourceMatcher::new(&[
            src("twitter", &["twitter.com", "x.com", "t.co"]),
            src("wiki", &["wikipedia.org"]),
            src("wiki-de", &["de.wikipedia.org"]),
        ]);
        let id = |u: &str| m.source_of_url(u).map(|i| m.ids()[i].as_str());
        assert_eq!(id("https://twitter.com/a/status/1"), Some("twitter"));
        assert_eq!(id("https://mobile.Twitter.com/a"), Some("twitter"));
        assert_eq!(id("http://x.com"), Some("twitter"));
        assert_eq!(id("https://notx.com/a"), None);
        assert_eq!(id("https://x.com.evil.net/a"), None);
        assert_eq!(id("https://de.wikipedia.org/wiki/A"), Some("wiki-de"));
        assert_eq!(id("https://en.wikipedia.org/wiki/A"), Some("wiki"));
        assert_eq!(id("https://user:pw@t.co:8443/x?y#z"), Some("twitter"));
        assert_eq!(id("twitter.com/a"), Some("twitter"));
        assert_eq!(id("https://twitter.com./a"), Some("twitter"));
        assert_eq!(id("mailto:someone"), None);
        assert_eq!(id(""), None);
    }

    #[test]
    fn url_host_edges() {
        let host = |u: &str| url_host(u).map(Cow::into_owned);
        assert_eq!(host("https://[::1]:8080/x").as_deref(), Some("::1"));
        assert_eq!(
            host("//cdn.example.com/a").as_deref(),
            Some("cdn.example.com")
        );
        assert_eq!(host("https:///nohost"), None);
        assert_eq!(host("not a url"), None);
    }

    #[test]
    fn hosts_are_read_as_browsers_read_them() {
        let host = |u: &str| url_host(u).map(Cow::into_owned);
        assert_eq!(
            host("https://bücher.de/x").as_deref(),
            Some("xn--bcher-kva.de")
        );
        assert_eq!(host("https://x。com/a").as_deref(), Some("x.com"));
        assert_eq!(host("https://ｘ.com/a").as_deref(), Some("x.com"));
        assert_eq!(host("https://%78.com/a").as_deref(), Some("x.com"));
        assert_eq!(host("https:\\\\x.com\\a").as_deref(), Some("x.com"));
        assert_eq!(host("https://X.COM\\@evil.net/").as_deref(), Some("x.com"));
        assert_eq!(host("bücher.de/x").as_deref(), Some("xn--bcher-kva.de"));
        let m = SourceMatcher::new(&[src("books", &["xn--bcher-kva.de"]), src("x", &["x.com"])]);
        let id = |u: &str| m.source_of_url(u).map(|i| m.ids()[i].as_str());
        assert_eq!(id("https://www.BÜCHER.de/a"), Some("books"));
        assert_eq!(id("https://xn--bcher-kva.de/a"), Some("books"));
        assert_eq!(id("https://ｘ。ｃｏｍ/a"), Some("x"));
        assert_eq!(id("https://notx。com/a"), None);
    }
}
