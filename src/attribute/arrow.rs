//! Arrow IPC shards, file (`ARROW1`) or stream (Hugging Face `save_to_disk` and the
//! `datasets` cache write streams): the schema is read first, then only the top-level
//! columns holding URL fields are decoded, batch by batch. Matching follows Parquet's:
//! names ignore case, string and binary (UTF-8) columns are read, struct children are
//! followed, a column of JSON text is looked into, the first non-empty URL wins per row.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::FileExt;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_ipc::reader::{FileReader, StreamReader};

use super::{
    MAX_SHARD_PRINTS, RecordStats, SourceMatcher, UrlField, find_in_json_str, no_url_field,
};

/// Reads an Arrow IPC file or stream, attributing each row by its URL columns. `size`
/// spreads the file's bytes over its rows.
pub fn attribute_arrow(
    file: File,
    size: u64,
    field: &UrlField,
    matcher: &SourceMatcher,
) -> RecordStats {
    let mut st = RecordStats::default();
    match read(file, size, field, matcher, &mut st) {
        Ok(()) => st,
        Err(e) => {
            // Whatever was counted stays; the rest of the file is one unattributed record.
            st.problem = Some(format!("Arrow IPC: {e}"));
            st.failed = true;
            st.records += 1;
            st.unattributed_records += 1;
            if st.records == 1 {
                st.unattributed_bytes = size;
            }
            st
        }
    }
}

fn read(
    file: File,
    size: u64,
    field: &UrlField,
    matcher: &SourceMatcher,
    st: &mut RecordStats,
) -> Result<(), String> {
    // The file was just hashed through the same descriptor: start again at its start.
    (&file)
        .seek(SeekFrom::Start(0))
        .map_err(|e| e.to_string())?;
    let mut magic = [0u8; 6];
    let is_file = file.read_exact_at(&mut magic, 0).is_ok() && &magic == b"ARROW1";
    check(&file, size, is_file)?;
    // The schema alone first, to choose the columns to decode.
    let schema = if is_file {
        FileReader::try_new_buffered(&file, None)
            .map_err(|e| e.to_string())?
            .schema()
    } else {
        StreamReader::try_new_buffered(&file, None)
            .map_err(|e| e.to_string())?
            .schema()
    };
    let mut projection: Vec<usize> = field
        .paths()
        .iter()
        .chain(field.text_paths())
        .filter_map(|p| {
            schema
                .fields()
                .iter()
                .position(|f| f.name().eq_ignore_ascii_case(&p[0]))
        })
        .collect();
    projection.sort_unstable();
    projection.dedup();
    (&file)
        .seek(SeekFrom::Start(0))
        .map_err(|e| e.to_string())?;
    let mut dense = vec![0u64; matcher.ids().len()];
    let mut rows = 0u64;
    let mut unattributed = 0u64;
    let mut with_url = 0u64;
    let sources = matcher.ids().len();
    let mut texts: Vec<Vec<u64>> = vec![Vec::new(); sources];
    let mut urls: Vec<Vec<u64>> = vec![Vec::new(); sources + 1];
    let mut printer = crate::prints::Printer::default();
    let prints = &mut st.prints;
    let mut count = |batch: &RecordBatch| {
        let cands: Vec<(&ArrayRef, &[String])> = field
            .paths()
            .iter()
            .filter_map(|p| column(batch, p))
            .collect();
        let text = field
            .text_paths()
            .iter()
            .find_map(|p| column(batch, p).filter(|(_, inside)| inside.is_empty()));
        for i in 0..batch.num_rows() {
            let url = cands.iter().find_map(|(a, inside)| value(a, i, inside));
            with_url += u64::from(url.is_some());
            let source = url.as_deref().and_then(|u| matcher.source_of_url(u));
            match source {
                Some(s) => dense[s] += 1,
                None => unattributed += 1,
            }
            if !field.prints() {
                continue;
            }
            if rows + i as u64 >= MAX_SHARD_PRINTS as u64 {
                prints.unprinted += 1;
                continue;
            }
            if let Some(p) = url.as_deref().and_then(|u| printer.url(u)) {
                urls[source.unwrap_or(sources)].push(p);
            }
            let print = text
                .and_then(|(a, _)| value(a, i, &[]))
                .and_then(|t| printer.text(&t));
            match (print, source) {
                (None, _) => prints.textless += 1,
                (Some(p), Some(s)) => texts[s].push(p),
                (Some(p), None) if url.is_some() => prints.unsourced.push(p),
                (Some(p), None) => prints.pending.push((p, 0)),
            }
        }
        rows += batch.num_rows() as u64;
    };
    let proj = (!projection.is_empty()).then_some(projection);
    let mut failure = None;
    if is_file {
        let reader = FileReader::try_new_buffered(&file, proj).map_err(|e| e.to_string())?;
        for b in reader {
            match b {
                Ok(b) => count(&b),
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
    } else {
        let reader = StreamReader::try_new_buffered(&file, proj).map_err(|e| e.to_string())?;
        for b in reader {
            match b {
                Ok(b) => count(&b),
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
    }
    let share = |n: u64| {
        if rows == 0 {
            0
        } else {
            ((u128::from(size) * u128::from(n)) / u128::from(rows)) as u64
        }
    };
    st.records = rows;
    st.unattributed_records = unattributed;
    st.per_source = dense
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (i, *n, share(*n)))
        .collect();
    st.unattributed_bytes = share(unattributed);
    st.prints
        .spread_pending(size.checked_div(rows).unwrap_or(0));
    st.prints.set_text(texts);
    st.prints.set_url(urls);
    if rows > 0 && with_url == 0 {
        let seen: Vec<String> = schema
            .fields()
            .iter()
            .take(20)
            .map(|f| f.name().to_string())
            .collect();
        st.problem = Some(no_url_field(field, &seen));
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The largest message metadata accepted (the schema and batch headers are small).
const MAX_METADATA: u64 = 16 * 1024 * 1024;

/// Checks every length the IPC data claims before `arrow-ipc` allocates for it: each
/// message's metadata and body, and the file footer's blocks, must lie within the file, and
/// the metadata must be a valid flatbuffer. A lie is refused instead of becoming an
/// allocation of whatever size it claims.
fn check(file: &File, size: u64, is_file: bool) -> Result<(), String> {
    let read = |at: u64, n: u64| -> Result<Vec<u8>, String> {
        let mut b = vec![0u8; usize::try_from(n).map_err(|_| "length out of range")?];
        file.read_exact_at(&mut b, at)
            .map_err(|e| format!("reading at {at}: {e}"))?;
        Ok(b)
    };
    let i32_at = |b: &[u8]| i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let (mut pos, end) = if is_file {
        if size < 18 {
            return Err("too short for an Arrow file".into());
        }
        let tail = read(size - 10, 10)?;
        if &tail[4..] != b"ARROW1" {
            return Err("no ARROW1 at the end of the file".into());
        }
        let footer_len = u64::try_from(i32_at(&tail)).map_err(|_| "negative footer length")?;
        if footer_len > size - 18 || footer_len > MAX_METADATA {
            return Err(format!("footer length {footer_len} does not fit the file"));
        }
        let footer_start = size - 10 - footer_len;
        let footer = read(footer_start, footer_len)?;
        let f = arrow_ipc::root_as_footer(&footer).map_err(|e| format!("footer: {e}"))?;
        let blocks = f
            .recordBatches()
            .into_iter()
            .flatten()
            .chain(f.dictionaries().into_iter().flatten());
        for b in blocks {
            let fits = u64::try_from(b.offset()).ok().and_then(|o| {
                let m = u64::try_from(b.metaDataLength()).ok()?;
                let body = u64::try_from(b.bodyLength()).ok()?;
                o.checked_add(m)?.checked_add(body)
            });
            if fits.is_none_or(|e| e > footer_start) {
                return Err("a block of the footer lies outside the file".into());
            }
        }
        (8, footer_start)
    } else {
        (0, size)
    };
    while pos + 8 <= end {
        let head = read(pos, 8)?;
        let (len, skip) = if head[..4] == [0xff; 4] {
            (i32_at(&head[4..]), 8)
        } else {
            // The pre-1.0 format: no continuation marker.
            (i32_at(&head), 4)
        };
        if len == 0 {
            break;
        }
        let len = u64::try_from(len).map_err(|_| "negative message length")?;
        if len > MAX_METADATA || pos + skip + len > end {
            return Err(format!("a message claims {len} bytes of metadata"));
        }
        let meta = read(pos + skip, len)?;
        let m = arrow_ipc::root_as_message(&meta).map_err(|e| format!("message: {e}"))?;
        let body = u64::try_from(m.bodyLength()).map_err(|_| "negative body length")?;
        pos = (pos + skip + len)
            .checked_add(body)
            .filter(|&p| p <= end)
            .ok_or_else(|| format!("a message claims a body of {body} bytes"))?;
    }
    Ok(())
}

/// The column at a dotted path (struct children followed, names ignoring case) and the
/// rest of the path inside a JSON text column.
fn column<'b>(batch: &'b RecordBatch, path: &'b [String]) -> Option<(&'b ArrayRef, &'b [String])> {
    let schema = batch.schema_ref();
    let i = schema
        .fields()
        .iter()
        .position(|f| f.name().eq_ignore_ascii_case(&path[0]))?;
    let mut a = batch.column(i);
    for (depth, seg) in path.iter().enumerate().skip(1) {
        match a.as_struct_opt() {
            Some(s) => {
                let j = s
                    .fields()
                    .iter()
                    .position(|f| f.name().eq_ignore_ascii_case(seg))?;
                a = s.column(j);
            }
            None => return Some((a, &path[depth..])),
        }
    }
    a.as_struct_opt()
        .is_none()
        .then_some((a, &path[path.len()..]))
}

/// The non-empty URL in row `i` of a string or binary column.
fn value(a: &ArrayRef, i: usize, inside: &[String]) -> Option<String> {
    if a.is_null(i) {
        return None;
    }
    let s: &str = if let Some(x) = a.as_string_opt::<i32>() {
        x.value(i)
    } else if let Some(x) = a.as_string_opt::<i64>() {
        x.value(i)
    } else if let Some(x) = a.as_string_view_opt() {
        x.value(i)
    } else if let Some(x) = a.as_binary_opt::<i32>() {
        std::str::from_utf8(x.value(i)).ok()?
    } else if let Some(x) = a.as_binary_opt::<i64>() {
        std::str::from_utf8(x.value(i)).ok()?
    } else if let Some(x) = a.as_binary_view_opt() {
        std::str::from_utf8(x.value(i)).ok()?
    } else {
        return None;
    };
    if inside.is_empty() {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    } else {
        find_in_json_str(s, inside)
    }
}
