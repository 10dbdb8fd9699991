//! `optout import`: reservation evidence files read into dated [`Reservation`]s — a
//! robots.txt snapshot (host and fetch date from `# host:` / `# fetched:` header comment
//! lines or the flags), a W3C TDMRep `tdmrep.json` (host and date from the flags), and a
//! CSV of `host,path,date` rows. Every file is bounded in size and checked whole before
//! anything is stored; a problem names the file (and line).

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::rights::{Protocol, Reservation};
use crate::types::{Date, normalise_domain};

/// The largest file read: RFC 9309 asks crawlers to parse at least 500 KiB of robots.txt.
pub const MAX_FILE_BYTES: u64 = 512 * 1024;

/// Rules kept from one TDMRep file or rows from one CSV.
pub const MAX_RULES: usize = 10_000;

/// What the command line says about the files.
#[derive(Clone, Debug, Default)]
pub struct Given {
    /// `--host`.
    pub host: Option<String>,
    /// `--fetched`.
    pub fetched: Option<Date>,
}

/// What one file held.
#[derive(Clone, Debug, Serialize)]
pub struct FileRead {
    /// The file as named.
    pub file: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// BLAKE3 of its bytes.
    pub blake3: String,
    /// The reservations it holds.
    pub reservations: Vec<Reservation>,
    /// Rules read that reserve nothing (TDMRep `tdm-reservation: 0`).
    pub unreserved: u64,
}

/// Reads one evidence file; its kind comes from its name (`*.json` TDMRep, `*.csv` a
/// reservation list, anything else robots.txt).
pub fn read(path: &Path, given: &Given) -> Result<FileRead> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::input(&name, "not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Error::input(
            &name,
            format!("larger than {MAX_FILE_BYTES} bytes; not read"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let blake3 = blake3::hash(&bytes).to_hex().to_string();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let (protocol, reservations, unreserved) = match ext.as_deref() {
        Some("json") => {
            let (r, u) = tdmrep(&name, &bytes, given)?;
            (Protocol::Tdmrep, r, u)
        }
        Some("csv") => (Protocol::Csv, csv_rows(&name, &bytes, given)?, 0),
        _ => (Protocol::Robots, vec![robots(&name, &bytes, given)?], 0),
    };
    Ok(FileRead {
        file: name,
        protocol,
        blake3,
        reservations,
        unreserved,
    })
}

fn host_of(name: &str, place: &str, h: &str) -> Result<String> {
    normalise_domain(h).map_err(|m| Error::input(name, format!("{place}: {m}")))
}

/// The value of a `# key: value` header comment line, if the file has one.
fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix('#')?.trim();
        let (k, v) = rest.split_once(':')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim())
    })
}

/// One value from a flag or a header line: either, or both when they agree.
fn pick<T: PartialEq + std::fmt::Display>(
    name: &str,
    what: &str,
    flag: Option<T>,
    header: Option<T>,
) -> Result<T> {
    match (flag, header) {
        (Some(f), Some(h)) if f != h => Err(Error::input(
            name,
            format!("--{what} {f} contradicts the file's '# {what}: {h}' line"),
        )),
        (Some(v), _) | (None, Some(v)) => Ok(v),
        (None, None) => Err(Error::input(
            name,
            format!("no {what}: give --{what} or a '# {what}: …' header line"),
        )),
    }
}

fn robots(name: &str, bytes: &[u8], given: &Given) -> Result<Reservation> {
    // robots.txt is UTF-8 (RFC 9309 2.3); stray bytes cannot match an ASCII path rule.
    let text = String::from_utf8_lossy(bytes).into_owned();
    let h = header(&text, "host")
        .map(|h| host_of(name, "# host", h))
        .transpose()?;
    let flag = given
        .host
        .as_deref()
        .map(|h| host_of(name, "--host", h))
        .transpose()?;
    let host = pick(name, "host", flag, h)?;
    let d = header(&text, "fetched")
        .map(|d| {
            d.parse::<Date>()
                .map_err(|m| Error::input(name, format!("# fetched: {m}")))
        })
        .transpose()?;
    let date = pick(name, "fetched", given.fetched, d)?;
    Ok(Reservation {
        host,
        date,
        protocol: Protocol::Robots,
        path: "/".into(),
        body: text,
        origin: name.to_string(),
    })
}

/// TDMRep (`/.well-known/tdmrep.json`): an array of rules `{"location", "tdm-reservation",
/// "tdm-policy"?}`, the first rule whose location matches a path deciding it. A reserving
/// rule after a non-reserving one is kept as path-level (its exceptions are not measured).
fn tdmrep(name: &str, bytes: &[u8], given: &Given) -> Result<(Vec<Reservation>, u64)> {
    let bad = |m: String| Error::input(name, m);
    let host = given
        .host
        .as_deref()
        .ok_or_else(|| bad("a TDMRep file names no host: give --host".into()))
        .and_then(|h| host_of(name, "--host", h))?;
    let date = given
        .fetched
        .ok_or_else(|| bad("a TDMRep file has no date: give --fetched".into()))?;
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not TDMRep JSON: {e}")))?;
    let rules = v
        .as_array()
        .ok_or_else(|| bad("not TDMRep JSON: expected an array of rules".into()))?;
    if rules.len() > MAX_RULES {
        return Err(bad(format!("more than {MAX_RULES} rules")));
    }
    let mut out = Vec::new();
    let mut unreserved = 0u64;
    for (k, rule) in rules.iter().enumerate() {
        let at = |m: &str| bad(format!("rule {}: {m}", k + 1));
        let location = rule
            .get("location")
            .and_then(|l| l.as_str())
            .ok_or_else(|| at("no \"location\" string"))?;
        let reserved = match rule.get("tdm-reservation").and_then(|r| r.as_u64()) {
            Some(1) => true,
            Some(0) => false,
            _ => return Err(at("\"tdm-reservation\" must be 0 or 1")),
        };
        let policy = match rule.get("tdm-policy") {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(p) => p
                .as_str()
                .ok_or_else(|| at("\"tdm-policy\" must be a URL string"))?
                .to_string(),
        };
        if !reserved {
            unreserved += 1;
            continue;
        }
        let mut path = location.trim().to_string();
        if !path.starts_with('/') && path != "*" {
            path.insert(0, '/');
        }
        // Earlier non-reserving rules carve exceptions out of this one: path-level.
        if unreserved > 0 && crate::rights::is_whole(&path) {
            path = format!("{path} (after {unreserved} unreserved rule(s))");
        }
        out.push(Reservation {
            host: host.clone(),
            date,
            protocol: Protocol::Tdmrep,
            path,
            body: policy,
            origin: name.to_string(),
        });
    }
    Ok((out, unreserved))
}

/// A CSV of `host,path,date` rows (a header row naming `host` first is skipped).
fn csv_rows(name: &str, bytes: &[u8], given: &Given) -> Result<Vec<Reservation>> {
    if given.host.is_some() || given.fetched.is_some() {
        return Err(Error::input(
            name,
            "a reservation CSV names its own hosts and dates; --host and --fetched are for robots.txt and TDMRep files",
        ));
    }
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(bytes);
    let mut out = Vec::new();
    for rec in rd.records() {
        let rec = rec.map_err(|e| Error::input(name, format!("not CSV: {e}")))?;
        let line = rec.position().map_or(0, |p| p.line());
        let at = |m: String| Error::input(format!("{name}:{line}"), m);
        if out.is_empty()
            && rec
                .get(0)
                .is_some_and(|h| h.trim().eq_ignore_ascii_case("host"))
        {
            continue;
        }
        if rec.len() != 3 {
            return Err(at(format!(
                "expected host,path,date, found {} field(s)",
                rec.len()
            )));
        }
        let host = normalise_domain(&rec[0]).map_err(at)?;
        let mut path = rec[1].trim().to_string();
        if path.is_empty() {
            path.push('/');
        }
        if !path.starts_with('/') {
            return Err(at(format!("path '{path}' must start with '/'")));
        }
        let date = rec[2].trim().parse::<Date>().map_err(at)?;
        if out.len() >= MAX_RULES {
            return Err(at(format!("more than {MAX_RULES} rows")));
        }
        out.push(Reservation {
            host,
            date,
            protocol: Protocol::Csv,
            path,
            body: String::new(),
            origin: name.to_string(),
        });
    }
    if out.is_empty() {
        return Err(Error::input(name, "no reservation rows"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_flags_agree_or_fail() {
        let text = "# host: News.Example\n# fetched: 2023-05-01\nUser-agent: *\n";
        assert_eq!(header(text, "host"), Some("News.Example"));
        let g = Given::default();
        let r = robots("r.txt", text.as_bytes(), &g).unwrap();
        assert_eq!(r.host, "news.example");
        assert_eq!(r.date.to_string(), "2023-05-01");
        let other = Given {
            host: Some("other.example".into()),
            fetched: None,
        };
        let e = robots("r.txt", text.as_bytes(), &other).unwrap_err();
        assert!(e.to_string().contains("contradicts"), "{e}");
        let e = robots("r.txt", b"User-agent: *\n", &g).unwrap_err();
        assert!(e.to_string().contains("no host"), "{e}");
    }

    #[test]
    fn tdmrep_rules() {
        let g = Given {
            host: Some("pics.example".into()),
            fetched: Some("2024-01-01".parse().unwrap()),
        };
        let json = br#"[{"location":"/free/*","tdm-reservation":0},
                       {"location":"/*","tdm-reservation":1,"tdm-policy":"https://pics.example/p.json"}]"#;
        let (r, u) = tdmrep("t.json", json, &g).unwrap();
        assert_eq!(u, 1);
        assert_eq!(r.len(), 1);
        assert!(!crate::rights::is_whole(&r[0].path));
        let e = tdmrep("t.json", br#"[{"location":"/"}]"#, &g).unwrap_err();
        assert!(e.to_string().contains("rule 1"), "{e}");
    }
}
