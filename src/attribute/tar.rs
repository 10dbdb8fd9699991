//! Tar shards, streamed member by member with the `tar` crate. WebDataset's convention
//! groups consecutive members by key (the path up to the first dot of the file name:
//! `000001.jpg`, `000001.json` are sample `000001`); a tar with at least one sample holding
//! a `.json` or `.url` member is read as WebDataset, one record per sample, its URL from the
//! sample's `.json` (the URL fields), `.url` or `.txt` (when that holds a URL) member. Any
//! other tar is opaque content: one unattributed record per member.

use std::io::Read;

use super::{Limits, RecordStats, SourceMatcher, Tally, UrlField};

/// One sample being gathered.
#[derive(Default)]
struct Sample {
    key: Vec<u8>,
    bytes: u64,
    /// URL candidates by priority: from `.json`, `.url`, `.txt`.
    urls: [Option<String>; 3],
    /// Whether the sample has a `.json` or `.url` member (WebDataset's mark).
    marked: bool,
    /// A `.json` member was seen but held no URL field.
    json_without_url: bool,
    /// The print of its first content member's bytes (an image, audio): what recognises
    /// the sample once re-packed.
    print: Option<u64>,
}

/// Reads a (decoded) tar stream. Returns the stats and whether it was read as WebDataset.
pub fn attribute_tar<R: Read>(
    reader: R,
    field: &UrlField,
    matcher: &SourceMatcher,
    limits: &Limits,
) -> (RecordStats, bool) {
    let mut t = Tally::new(matcher.ids().len());
    t.limit = limits.max_record_bytes;
    let mut members = 0u64;
    let mut member_bytes = 0u64;
    let mut marked_samples = 0u64;
    let mut sample: Option<Sample> = None;
    let mut archive = tar::Archive::new(reader);
    // Raw entries: the crate would read a GNU long name or PAX header of any size into
    // memory; here they are read only when small (see `long_name`).
    let entries = match archive.entries().map(|e| e.raw(true)) {
        Ok(e) => e,
        Err(e) => {
            t.fail(format!("tar: {e}"));
            return (t.finish(), false);
        }
    };
    let mut buf = Vec::new();
    let mut next_name: Option<Vec<u8>> = None;
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                t.fail(format!("tar: {e}"));
                break;
            }
        };
        let kind = entry.header().entry_type();
        if kind.is_gnu_longname() || kind.is_pax_local_extensions() {
            match long_name(&mut entry, kind.is_gnu_longname()) {
                Ok(name) => next_name = name,
                Err(e) => {
                    t.fail(format!("tar: {e}"));
                    break;
                }
            }
            continue;
        }
        let long = next_name.take();
        if !kind.is_file() {
            continue;
        }
        let size = entry.size();
        members += 1;
        member_bytes = member_bytes.saturating_add(size);
        let path = long.unwrap_or_else(|| entry.path_bytes().into_owned());
        let (key, ext) = split_key(&path);
        if sample.as_ref().is_none_or(|s| s.key != key) {
            if let Some(s) = sample.take() {
                marked_samples += u64::from(s.marked);
                flush(&mut t, s, matcher);
            }
            sample = Some(Sample {
                key: key.to_vec(),
                ..Sample::default()
            });
        }
        // Just set above.
        let Some(s) = sample.as_mut() else { continue };
        s.bytes = s.bytes.saturating_add(size);
        let slot = match ext.as_slice() {
            b"json" => 0,
            b"url" => 1,
            b"txt" => 2,
            b"cls" | b"id" | b"key" => continue,
            _ => {
                if s.print.is_none() && field.prints() && size > 0 {
                    // Streamed through the hasher: a member of any size costs no memory.
                    let mut h = crate::prints::BytesPrinter::default();
                    if let Err(e) = std::io::copy(&mut (&mut entry).take(size), &mut h) {
                        t.fail(format!("tar: {e}"));
                        break;
                    }
                    s.print = Some(h.finish());
                }
                continue;
            }
        };
        if slot < 2 {
            s.marked = true;
        }
        if size > limits.max_record_bytes {
            t.st.malformed += 1;
            t.too_long += 1;
            continue;
        }
        buf.clear();
        if let Err(e) = (&mut entry).take(size).read_to_end(&mut buf) {
            t.fail(format!("tar: {e}"));
            break;
        }
        let url = match slot {
            0 => match field.find(&buf) {
                Ok(Some(u)) => Some(u.into_owned()),
                Ok(None) => {
                    s.json_without_url = true;
                    if t.first_keys.is_none() {
                        t.first_keys = Some(UrlField::keys_of(&buf));
                    }
                    None
                }
                Err(_) => {
                    t.st.malformed += 1;
                    None
                }
            },
            _ => std::str::from_utf8(&buf)
                .ok()
                .map(str::trim)
                .filter(|u| slot == 1 || u.starts_with("http://") || u.starts_with("https://"))
                .filter(|u| !u.is_empty() && !u.contains('\n'))
                .map(str::to_string),
        };
        s.urls[slot] = url;
    }
    if let Some(s) = sample.take() {
        marked_samples += u64::from(s.marked);
        flush(&mut t, s, matcher);
    }
    if marked_samples > 0 {
        t.no_url_field(field);
        (t.finish(), true)
    } else {
        // Not WebDataset: every member is opaque content of unknown provenance.
        let problem = t.st.problem.take();
        let failed = t.st.failed;
        let st = RecordStats {
            records: members,
            unattributed_records: members,
            unattributed_bytes: member_bytes,
            problem,
            failed,
            ..RecordStats::default()
        };
        (st, false)
    }
}

/// The largest GNU long name or PAX header read (bigger ones are skipped unread).
const MAX_NAME_HEADER: u64 = 64 * 1024;

/// The path a GNU long-name entry or a PAX header gives the next member, when it is small
/// enough to read.
fn long_name<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    gnu: bool,
) -> std::io::Result<Option<Vec<u8>>> {
    if entry.size() > MAX_NAME_HEADER {
        return Ok(None);
    }
    let mut data = Vec::new();
    entry.read_to_end(&mut data)?;
    if gnu {
        while data.last() == Some(&0) {
            data.pop();
        }
        return Ok(Some(data));
    }
    // PAX records: "LEN key=value\n".
    let mut rest = data.as_slice();
    while let Some(sp) = rest.iter().position(|&c| c == b' ') {
        let Some(len) = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
        else {
            break;
        };
        if len <= sp || len > rest.len() {
            break;
        }
        let record = &rest[sp + 1..len];
        if let Some(path) = record.strip_prefix(b"path=") {
            return Ok(Some(path.strip_suffix(b"\n").unwrap_or(path).to_vec()));
        }
        rest = &rest[len..];
    }
    Ok(None)
}

/// Counts a finished sample as one record, printed by its content member.
fn flush(t: &mut Tally, s: Sample, matcher: &SourceMatcher) {
    let url = s.urls.iter().flatten().next();
    t.printed_as(url.map(String::as_str), s.print, s.bytes, matcher);
}

/// WebDataset's (key, extension) of a member path: the extension starts at the first dot
/// of the file name, lower-cased (`a/000001.seg.png` → (`a/000001`, `seg.png`)).
fn split_key(path: &[u8]) -> (&[u8], Vec<u8>) {
    let name_start = path.iter().rposition(|&c| c == b'/').map_or(0, |i| i + 1);
    match path[name_start..].iter().position(|&c| c == b'.') {
        Some(dot) => (
            &path[..name_start + dot],
            path[name_start + dot + 1..].to_ascii_lowercase(),
        ),
        None => (path, Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_at_the_first_dot_of_the_name() {
        assert_eq!(
            split_key(b"a.b/0001.JSON"),
            (b"a.b/0001".as_slice(), b"json".to_vec())
        );
        assert_eq!(
            split_key(b"0001.seg.png"),
            (b"0001".as_slice(), b"seg.png".to_vec())
        );
        assert_eq!(split_key(b"README"), (b"README".as_slice(), Vec::new()));
    }
}
