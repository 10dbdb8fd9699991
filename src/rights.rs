//! Rights reservations (text-and-data-mining opt-outs) as values, and the one rule that
//! decides what a reservation covers: a dated [`Reservation`] of a host (a robots.txt
//! snapshot, a TDMRep rule, a CSV row), the policy's [`Crawler`]s whose user-agents robots
//! groups are matched for, and [`coverage`] — the whole host, only some path prefixes
//! (which per-host counts cannot measure: undecided, never clear), or nothing.

use std::fmt;

use serde::Serialize;

use crate::types::Date;

/// How a reservation was expressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// A robots.txt snapshot (RFC 9309), judged for the policy's crawlers.
    Robots,
    /// A W3C TDMRep rule (`/.well-known/tdmrep.json`) with `tdm-reservation: 1`.
    Tdmrep,
    /// A row of a CSV of host, path prefix and date.
    Csv,
}

impl Protocol {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Robots => "robots",
            Protocol::Tdmrep => "tdmrep",
            Protocol::Csv => "csv",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Protocol> {
        [Protocol::Robots, Protocol::Tdmrep, Protocol::Csv]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    /// How people call it.
    pub fn title(self) -> &'static str {
        match self {
            Protocol::Robots => "robots.txt",
            Protocol::Tdmrep => "TDMRep",
            Protocol::Csv => "reservation list (CSV)",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One dated piece of reservation evidence about a host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reservation {
    /// The host it is about, lower-case ASCII (`example.com`).
    pub host: String,
    /// The date it was in force from (a robots.txt fetch date, a TDMRep or CSV date).
    pub date: Date,
    /// How it was expressed.
    pub protocol: Protocol,
    /// The path prefix reserved (`/` the whole host); `/` for robots.txt, whose rules are
    /// in `body`.
    pub path: String,
    /// robots.txt: the file; TDMRep: its `tdm-policy` URL or empty; CSV: empty.
    #[serde(skip)]
    pub body: String,
    /// The file it was imported from, as given.
    pub origin: String,
}

/// A crawler the policy names: `[[crawler]] id, user_agents`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Crawler {
    /// Its id.
    pub id: String,
    /// The user-agent product tokens robots.txt groups name it by (`GPTBot`, `CCBot`).
    pub user_agents: Vec<String>,
}

/// What a source is, for the AI Act summary's categories (`kind` on `[[source]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// A publicly available dataset.
    PublicDataset,
    /// A private dataset obtained from a third party (licensed).
    Licensed,
    /// Data crawled and scraped from online sources.
    Crawled,
    /// Data from users of the provider's services.
    User,
    /// Synthetic data.
    Synthetic,
    /// Anything else.
    Other,
}

impl SourceKind {
    /// Every kind, in the template's order.
    pub const ALL: [SourceKind; 6] = [
        SourceKind::PublicDataset,
        SourceKind::Licensed,
        SourceKind::Crawled,
        SourceKind::User,
        SourceKind::Synthetic,
        SourceKind::Other,
    ];

    /// Stable kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::PublicDataset => "public-dataset",
            SourceKind::Licensed => "licensed",
            SourceKind::Crawled => "crawled",
            SourceKind::User => "user",
            SourceKind::Synthetic => "synthetic",
            SourceKind::Other => "other",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a reservation covers for the crawlers asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// The whole host (every path), for at least one of the agents.
    Host {
        /// The agent whose group reserves it (`*` when none of the crawlers is named).
        agent: String,
    },
    /// Only these path prefixes: per-host counts cannot say how much content is under them.
    Paths {
        /// The agent whose group reserves them.
        agent: String,
        /// The prefixes.
        paths: Vec<String>,
    },
    /// Nothing is reserved for these agents.
    Nothing,
}

/// The user agents a reservation is judged for: every crawler's tokens, or `*` (the group
/// any crawler falls back to) when the policy names no crawler.
pub fn agents(crawlers: &[Crawler]) -> Vec<String> {
    let mut out: Vec<String> = crawlers
        .iter()
        .flat_map(|c| c.user_agents.iter().cloned())
        .collect();
    if out.is_empty() {
        out.push("*".to_string());
    }
    out
}

/// What `r` covers for `agents` (see [`agents`]). robots.txt is read by the `robotstxt`
/// crate: for each agent its group (or `*`) is chosen as RFC 9309 says; the host is
/// reserved when `/` is disallowed; otherwise each path its rules name is tried, and any
/// disallowed one is a path-level reservation. TDMRep and CSV rules reserve their path for
/// every agent.
pub fn coverage(r: &Reservation, agents: &[String]) -> Coverage {
    match r.protocol {
        Protocol::Robots => robots_coverage(&r.body, &r.host, agents),
        Protocol::Tdmrep | Protocol::Csv => {
            let agent = "*".to_string();
            if is_whole(&r.path) {
                Coverage::Host { agent }
            } else {
                Coverage::Paths {
                    agent,
                    paths: vec![r.path.clone()],
                }
            }
        }
    }
}

/// Whether a path prefix names the whole host.
pub fn is_whole(path: &str) -> bool {
    matches!(path, "" | "/" | "*" | "/*")
}

fn robots_coverage(body: &str, host: &str, agents: &[String]) -> Coverage {
    use robotstxt::DefaultMatcher;
    let allowed = |agent: &str, path: &str| {
        let url = format!("https://{host}{path}");
        DefaultMatcher::default().one_agent_allowed_by_robots(body, agent, &url)
    };
    for agent in agents {
        if !allowed(agent, "/") {
            return Coverage::Host {
                agent: agent.clone(),
            };
        }
    }
    let mut probes = RulePaths::default();
    robotstxt::parse_robotstxt(body, &mut probes);
    for agent in agents {
        let paths: Vec<String> = probes
            .paths
            .iter()
            .filter(|p| !allowed(agent, p))
            .cloned()
            .collect();
        if !paths.is_empty() {
            return Coverage::Paths {
                agent: agent.clone(),
                paths,
            };
        }
    }
    Coverage::Nothing
}

/// The path prefixes a robots.txt's `disallow` rules name (cut at the first wildcard),
/// each tried against the matcher: a rule only counts where the matcher says it applies.
#[derive(Default)]
struct RulePaths {
    paths: Vec<String>,
}

/// Paths tried per robots.txt, so that a hostile file costs bounded work.
const MAX_PROBES: usize = 64;

impl robotstxt::RobotsParseHandler for RulePaths {
    fn handle_robots_start(&mut self) {}
    fn handle_robots_end(&mut self) {}
    fn handle_user_agent(&mut self, _line: u32, _agent: &str) {}
    fn handle_allow(&mut self, _line: u32, _value: &str) {}
    fn handle_disallow(&mut self, _line: u32, value: &str) {
        let cut = value.find(['*', '$']).map_or(value, |i| &value[..i]);
        if cut.is_empty() || self.paths.len() >= MAX_PROBES {
            return;
        }
        let path = if cut.starts_with('/') {
            cut.to_string()
        } else {
            format!("/{cut}")
        };
        if !self.paths.contains(&path) {
            self.paths.push(path);
        }
    }
    fn handle_sitemap(&mut self, _line: u32, _value: &str) {}
    fn handle_unknown_action(&mut self, _line: u32, _action: &str, _value: &str) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn robots(body: &str) -> Reservation {
        Reservation {
            host: "news.example".into(),
            date: "2023-01-01".parse().unwrap(),
            protocol: Protocol::Robots,
            path: "/".into(),
            body: body.into(),
            origin: "robots.txt".into(),
        }
    }

    #[test]
    fn robots_groups_match_the_crawlers_and_fall_back_to_star() {
        let r = robots("User-agent: GPTBot\nDisallow: /\n\nUser-agent: *\nAllow: /\n");
        let gpt = vec!["GPTBot".to_string()];
        assert_eq!(
            coverage(&r, &gpt),
            Coverage::Host {
                agent: "GPTBot".into()
            }
        );
        assert_eq!(coverage(&r, &["CCBot".to_string()]), Coverage::Nothing);
        assert_eq!(coverage(&r, &agents(&[])), Coverage::Nothing);
        let star = robots("User-agent: *\nDisallow: /\n");
        assert!(matches!(
            coverage(&star, &["CCBot".to_string()]),
            Coverage::Host { .. }
        ));
        // A group naming the crawler overrides `*` (RFC 9309 2.2.1).
        let own = robots("User-agent: *\nDisallow: /\n\nUser-agent: ccbot\nAllow: /\n");
        assert_eq!(coverage(&own, &["CCBot".to_string()]), Coverage::Nothing);
    }

    #[test]
    fn hostile_robots_files_do_not_panic() {
        let agents = vec!["CCBot".to_string(), "*".to_string()];
        let long = "a".repeat(100_000);
        for body in [
            "Disallow: /ä*$\nUser-agent: CCBot\nDisallow: /%E4%\n",
            "User-agent: \u{0}\u{7f}\nDisallow:\u{feff}/\n",
            "User-agent CCBot\nDisallow /\n:::\n\r\r\n",
            &format!("User-agent: {long}\nDisallow: /{long}*\n"),
            "User-agent: *\nDisallow: *\nDisallow: $\nDisallow: //\n",
        ] {
            let _ = coverage(&robots(body), &agents);
        }
        // Probes are bounded whatever the number of rules.
        let many: String = (0..10_000).map(|i| format!("Disallow: /p{i}\n")).collect();
        let body = format!("User-agent: CCBot\n{many}");
        match coverage(&robots(&body), &agents) {
            Coverage::Paths { paths, .. } => assert_eq!(paths.len(), MAX_PROBES),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn path_rules_are_path_level_never_clear() {
        let r = robots("User-agent: GPTBot\nDisallow: /archive/*\nDisallow: /private\n");
        assert_eq!(
            coverage(&r, &["GPTBot".to_string()]),
            Coverage::Paths {
                agent: "GPTBot".into(),
                paths: vec!["/archive/".into(), "/private".into()]
            }
        );
        let csv = Reservation {
            protocol: Protocol::Csv,
            path: "/photos/".into(),
            ..robots("")
        };
        assert!(matches!(coverage(&csv, &[]), Coverage::Paths { .. }));
        let whole = Reservation {
            protocol: Protocol::Tdmrep,
            path: "/*".into(),
            ..robots("")
        };
        assert!(matches!(coverage(&whole, &[]), Coverage::Host { .. }));
    }
}
