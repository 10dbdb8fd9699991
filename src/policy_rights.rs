//! The policy's rights keys, parsed like the rest of the file (positions kept, unknown
//! keys rejected): `[[crawler]] id, user_agents = [...]` and `kind` on `[[source]]`. Each
//! problem is answered with the span to cite, which `policy` turns into `FILE:LINE`.

use std::collections::HashSet;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::rights::{Crawler, SourceKind};
use crate::suggest;
use crate::types::check_ident;

/// A crawler as written: `[[crawler]] id = "openai", user_agents = ["GPTBot"]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCrawler {
    id: Spanned<String>,
    #[allow(dead_code)] // documentation for the reader of the file; not stored
    name: Option<String>,
    user_agents: Vec<Spanned<String>>,
}

/// A problem and where it is.
pub(crate) type Problem = (Range<usize>, String);

/// Validates a source's `kind`, naming the nearest kind for a typo.
pub(crate) fn source_kind(source: &str, k: &Spanned<String>) -> Result<SourceKind, Problem> {
    let name = k.get_ref();
    SourceKind::parse(name).ok_or_else(|| {
        let all = SourceKind::ALL.map(SourceKind::as_str);
        let msg = match suggest::nearest(name, all) {
            Some(n) => format!("source '{source}': unknown kind '{name}'; did you mean '{n}'?"),
            None => format!(
                "source '{source}': unknown kind '{name}' (expected one of {})",
                all.join(", ")
            ),
        };
        (k.span(), msg)
    })
}

/// Validates the crawlers: ids unique, at least one user-agent each, each a robots.txt
/// product token (letters, `_` and `-`, RFC 9309 2.2.1).
pub(crate) fn crawlers(raw: &[Spanned<RawCrawler>]) -> Result<Vec<Crawler>, Problem> {
    let mut out = Vec::with_capacity(raw.len());
    let mut seen = HashSet::new();
    for c in raw {
        let span = c.span();
        let c = c.get_ref();
        let id = c.id.get_ref().clone();
        check_ident("crawler id", &id).map_err(|m| (c.id.span(), m))?;
        if !seen.insert(id.clone()) {
            return Err((span, format!("crawler '{id}' is declared twice")));
        }
        if c.user_agents.is_empty() {
            return Err((span, format!("crawler '{id}': user_agents is empty")));
        }
        let mut agents: Vec<String> = Vec::new();
        for a in &c.user_agents {
            let token = a.get_ref();
            let ok = !token.is_empty()
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-');
            if !ok {
                return Err((
                    a.span(),
                    format!(
                        "crawler '{id}': invalid user agent '{token}' (a robots.txt product token: letters, '_' and '-')"
                    ),
                ));
            }
            if !agents.iter().any(|x| x.eq_ignore_ascii_case(token)) {
                agents.push(token.clone());
            }
        }
        out.push(Crawler {
            id,
            user_agents: agents,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}
