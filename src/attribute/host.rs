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
    let url = url.trim();
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
    let (rest, start) = match url.find("://") {
        Some(i)
            if i > 0
                && url[..i]
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c)) =>
        {
            (&url[i + 3..], i + 3)
        }
        Some(_) => return FastHost::NoHost,
        None => match url.strip_prefix("//") {
            Some(r) => (r, 2),
            None => (url, 0),
        },
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if url[..start + end]
        .bytes()
        .any(|c| c == b'\\' || c == b'%' || !c.is_ascii())
    {
        return FastHost::Unusual;
    }
    let authority = &rest[..end];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, _)) => h,
            None => return FastHost::NoHost,
        }
    } else {
        host_port.split_once(':').map_or(host_port, |(h, _)| h)
    };
    let host = host.trim_end_matches('.');
    if host.is_empty() || host.contains(char::is_whitespace) {
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
    by_domain: HashMap<String, usize>,
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
            match h.find('.') {
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
