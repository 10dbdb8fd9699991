//! Parquet shards: the footer is checked first ([`super::footer`]), then only the URL
//! columns are read. Column names match the URL fields ignoring case; string and binary
//! columns holding UTF-8 are both read; a column holding JSON text is looked into for the
//! rest of a dotted path; per row the first non-empty URL in priority order wins.

use std::sync::Arc;

use parquet::file::reader::{ChunkReader, FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use parquet::schema::types::Type;

use super::{
    MAX_SHARD_PRINTS, RecordStats, SourceMatcher, UrlField, find_in_json_str, footer, no_url_field,
    pages,
};

/// A URL field resolved against a schema: the real column names down to a leaf, and the
/// rest of the path inside that leaf's JSON text (empty when the leaf is the URL).
#[derive(Clone, Debug)]
struct Resolved {
    columns: Vec<String>,
    inside: Vec<String>,
}

/// Reads a Parquet file's record count from its footer and attributes records by the URL
/// columns, reading only those (from a file, or by ranged requests from an object).
/// `size` spreads the file's bytes over its records. No page of a column read may
/// decompress to more than `max_record` bytes per value ([`pages::check_column`]).
pub fn attribute_parquet<R: ChunkReader + 'static>(
    file: R,
    size: u64,
    field: &UrlField,
    matcher: &SourceMatcher,
    max_record: u64,
) -> RecordStats {
    let mut st = RecordStats::default();
    let opaque = |mut st: RecordStats, why: String| {
        st.problem = Some(why);
        st.failed = true;
        st.records = 1;
        st.unattributed_records = 1;
        st.unattributed_bytes = size;
        st
    };
    let total = match footer::check(&file, size) {
        Ok(f) => f.num_rows,
        Err(e) => return opaque(st, format!("Parquet footer refused: {e}")),
    };
    let file = Shared(Arc::new(file));
    let pages = Pages {
        file: Arc::clone(&file.0),
        max_record,
    };
    let reader = match SerializedFileReader::new(file) {
        Ok(r) => r,
        Err(e) => return opaque(st, format!("not a readable Parquet file: {e}")),
    };
    let schema = reader.metadata().file_metadata().schema();
    let resolved: Vec<Resolved> = field
        .paths()
        .iter()
        .filter_map(|p| resolve(schema, p))
        .collect();
    if resolved.is_empty() {
        st.records = total;
        st.unattributed_records = total;
        st.unattributed_bytes = size;
        // No URL column: every row's text print is a candidate for derived attribution.
        let mut texts = Vec::new();
        if field.prints() {
            print_text_column(&reader, &pages, field, total, &[], &mut texts, &mut st);
        }
        st = finish_printed(st, texts, total, size);
        if total > 0 && st.problem.is_none() {
            let seen: Vec<String> = schema
                .get_fields()
                .iter()
                .take(20)
                .map(|f| f.name().to_string())
                .collect();
            st.problem = Some(no_url_field(field, &seen));
        }
        return st;
    }
    if let [only] = resolved.as_slice()
        && let Some((col, max_def)) = flat_column(&reader, only)
    {
        let sources = matcher.ids().len();
        let mut dense = vec![0u64; sources];
        let mut unattributed = 0u64;
        let print = field.prints() && total <= MAX_SHARD_PRINTS as u64;
        let mut row_source: Vec<u32> = Vec::new();
        let mut urls: Vec<Vec<u64>> = vec![Vec::new(); sources + 1];
        let mut printer = crate::prints::Printer::default();
        let read = pages.check(&reader, col).and_then(|()| {
            for_each_value(&reader, col, max_def, total, |url| {
                let url = url
                    .and_then(|u| std::str::from_utf8(u).ok())
                    .map(str::trim)
                    .filter(|u| !u.is_empty());
                let source = url.and_then(|u| matcher.source_of_url(u));
                match source {
                    Some(s) => dense[s] += 1,
                    None => unattributed += 1,
                }
                if print {
                    row_source.push(match (source, url) {
                        (Some(s), _) => s as u32,
                        (None, Some(_)) => UNSOURCED,
                        (None, None) => u32::MAX,
                    });
                    if let Some(p) = url.and_then(|u| printer.url(u)) {
                        urls[source.unwrap_or(sources)].push(p);
                    }
                }
            })
        });
        let seen = match read {
            Ok(n) => n,
            Err((n, e)) => {
                st.problem = Some(e.to_string());
                st.failed = true;
                n
            }
        };
        st.records = seen.min(total);
        st.unattributed_records = unattributed;
        let mut texts = vec![Vec::new(); sources];
        if !st.failed && field.prints() {
            print_text_column(
                &reader,
                &pages,
                field,
                total,
                &row_source,
                &mut texts,
                &mut st,
            );
            st.prints.set_url(urls);
        }
        return finish_printed(finish(st, dense, total, size), texts, total, size);
    }
    let projection = project(schema, &resolved);
    let descr = reader.metadata().file_metadata().schema_descr();
    let leaves = (0..descr.num_columns()).filter(|&i| {
        let c = descr.column(i);
        resolved
            .iter()
            .any(|r| c.path().parts().starts_with(&r.columns))
    });
    // A shard whose records cannot be read at all: every record counted, none attributed.
    let unread = |mut st: RecordStats, why: String| {
        st.problem = Some(why);
        st.failed = true;
        st.records = total;
        st.unattributed_records = total;
        st.unattributed_bytes = size;
        st
    };
    if let Err((_, e)) = leaves
        .map(|i| pages.check(&reader, i))
        .collect::<Result<Vec<()>, _>>()
    {
        return unread(st, e.to_string());
    }
    let rows = match projection.map(|p| reader.get_row_iter(Some(p))) {
        Some(Ok(r)) => r,
        Some(Err(e)) => return unread(st, e.to_string()),
        None => {
            st.records = total;
            st.unattributed_records = total;
            st.unattributed_bytes = size;
            return st;
        }
    };
    let mut dense = vec![0u64; matcher.ids().len()];
    let mut seen = 0u64;
    for row in rows {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                st.problem = Some(e.to_string());
                st.failed = true;
                break;
            }
        };
        seen += 1;
        if seen > total {
            // More rows than the checked footer says: the footer wins.
            break;
        }
        let source = resolved
            .iter()
            .find_map(|r| url_in(&row, r))
            .and_then(|u| matcher.source_of_url(&u));
        st.records += 1;
        match source {
            Some(i) => dense[i] += 1,
            None => st.unattributed_records += 1,
        }
    }
    finish(st, dense, total, size)
}

/// Completes the counts: records the reader could not reach (a corrupt page) stay counted,
/// unattributed; the file's bytes are spread over the records.
fn finish(mut st: RecordStats, dense: Vec<u64>, total: u64, size: u64) -> RecordStats {
    let share = |n: u64| {
        if total == 0 {
            0
        } else {
            ((u128::from(size) * u128::from(n)) / u128::from(total)) as u64
        }
    };
    if st.records < total {
        let missing = total - st.records;
        st.records = total;
        st.unattributed_records += missing;
    }
    st.per_source = dense
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (i, *n, share(*n)))
        .collect();
    st.unattributed_bytes = share(st.unattributed_records);
    st
}

/// Sets the text prints by source and each pending record's share of the file's bytes.
fn finish_printed(mut st: RecordStats, texts: Vec<Vec<u64>>, total: u64, size: u64) -> RecordStats {
    st.prints
        .spread_pending(size.checked_div(total).unwrap_or(0));
    st.prints.set_text(texts);
    st
}

/// The file under the `parquet` crate's reader, shared with the page checks.
struct Shared<R>(Arc<R>);

impl<R: ChunkReader> parquet::file::reader::Length for Shared<R> {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl<R: ChunkReader> ChunkReader for Shared<R> {
    type T = R::T;
    fn get_read(&self, start: u64) -> parquet::errors::Result<R::T> {
        self.0.get_read(start)
    }
    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        self.0.get_bytes(start, length)
    }
}

/// Checks the pages of a column before it is read ([`pages::check_column`]).
struct Pages<R> {
    file: Arc<R>,
    max_record: u64,
}

impl<R: ChunkReader> Pages<R> {
    fn check<S: ChunkReader + 'static>(
        &self,
        reader: &SerializedFileReader<S>,
        col: usize,
    ) -> Result<(), (u64, parquet::errors::ParquetError)> {
        pages::check_column(&*self.file, reader.metadata(), col, self.max_record)
            .map_err(|e| (0, parquet::errors::ParquetError::General(e)))
    }
}

/// A row whose URL named no registered source (in `row_source`; `u32::MAX`: no URL).
const UNSOURCED: u32 = u32::MAX - 1;

/// Rows decoded per call of the column reader.
const BATCH: usize = 8192;

/// The leaf column index and maximum definition level of a resolved field that is a flat
/// byte-array column (no repetition on its path, the URL itself, not JSON inside it): such
/// a column is read with the typed column reader, much cheaper than assembling rows.
fn flat_column<R: ChunkReader + 'static>(
    reader: &SerializedFileReader<R>,
    r: &Resolved,
) -> Option<(usize, i16)> {
    if !r.inside.is_empty() {
        return None;
    }
    let descr = reader.metadata().file_metadata().schema_descr();
    (0..descr.num_columns()).find_map(|i| {
        let c = descr.column(i);
        let same = c.path().parts() == r.columns.as_slice();
        (same && c.max_rep_level() == 0 && c.physical_type() == parquet::basic::Type::BYTE_ARRAY)
            .then(|| (i, c.max_def_level()))
    })
}

/// Reads one flat byte-array column, row group by row group, handing each row's value
/// (`None` when null) to `f`, for at most `total` rows. Answers the rows read;
/// on error, the rows read so far come with it.
fn for_each_value<R: ChunkReader + 'static>(
    reader: &SerializedFileReader<R>,
    col: usize,
    max_def: i16,
    total: u64,
    mut f: impl FnMut(Option<&[u8]>),
) -> Result<u64, (u64, parquet::errors::ParquetError)> {
    use parquet::column::reader::ColumnReader;
    let mut rows = 0u64;
    let mut defs: Vec<i16> = Vec::with_capacity(BATCH);
    let mut values: Vec<parquet::data_type::ByteArray> = Vec::with_capacity(BATCH);
    for g in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(g).map_err(|e| (rows, e))?;
        let ColumnReader::ByteArrayColumnReader(mut cr) =
            rg.get_column_reader(col).map_err(|e| (rows, e))?
        else {
            return Err((
                rows,
                parquet::errors::ParquetError::General("not a byte array column".into()),
            ));
        };
        loop {
            defs.clear();
            values.clear();
            let (records, _, _) = cr
                .read_records(BATCH, Some(&mut defs), None, &mut values)
                .map_err(|e| (rows, e))?;
            if records == 0 {
                break;
            }
            let mut next = values.iter();
            for i in 0..records {
                let present = max_def == 0 || defs.get(i) == Some(&max_def);
                let v = if present {
                    next.next().map(|v| v.data())
                } else {
                    None
                };
                if rows < total {
                    f(v);
                }
                rows += 1;
            }
        }
    }
    Ok(rows)
}

/// Prints the text column of a flat Parquet file: each row's print goes to the source its
/// URL named (`row_source`, `u32::MAX` for no URL, `UNSOURCED` for a URL of no source; empty when the file has no URL column),
/// or is pending. At most [`MAX_SHARD_PRINTS`] rows are printed.
fn print_text_column<R: ChunkReader + 'static>(
    reader: &SerializedFileReader<Shared<R>>,
    pages: &Pages<R>,
    fields: &UrlField,
    total: u64,
    row_source: &[u32],
    texts: &mut [Vec<u64>],
    st: &mut RecordStats,
) {
    let schema = reader.metadata().file_metadata().schema();
    let Some((col, max_def)) = fields
        .text_paths()
        .iter()
        .filter_map(|p| resolve(schema, p))
        .find_map(|r| flat_column(reader, &r))
    else {
        st.prints.textless = total;
        return;
    };
    if total > MAX_SHARD_PRINTS as u64 {
        st.prints.unprinted = total;
        return;
    }
    let mut printer = crate::prints::Printer::default();
    let mut row = 0usize;
    let mut pending = Vec::new();
    let mut unsourced = Vec::new();
    let mut textless = 0u64;
    if let Err((_, e)) = pages.check(reader, col) {
        // The counts stand; the text column is not read.
        st.problem.get_or_insert_with(|| e.to_string());
        st.prints.textless = total;
        return;
    }
    let read = for_each_value(reader, col, max_def, total, |text| {
        let source = row_source.get(row).copied().unwrap_or(u32::MAX);
        row += 1;
        // A value that is not UTF-8 has no print (checked once, by the printer).
        match text.and_then(|t| printer.text_bytes(t)) {
            None => textless += 1,
            Some(p) => match texts.get_mut(source as usize) {
                Some(v) => v.push(p),
                // A URL of no registered source: where it came from is known.
                None if source == UNSOURCED => unsourced.push(p),
                None => pending.push((p, 0)),
            },
        }
    });
    if read.is_err() {
        // The counts stand; the prints of a column that did not read are not kept.
        texts.iter_mut().for_each(Vec::clear);
        st.prints.textless = total;
        return;
    }
    st.prints.textless = textless;
    st.prints.pending = pending;
    st.prints.unsourced = unsourced;
}

/// Resolves a dotted path against the schema, ignoring case; a leaf reached before the
/// path ends is a column of JSON text holding the rest of it.
fn resolve(root: &Type, path: &[String]) -> Option<Resolved> {
    let mut t = root;
    let mut columns = Vec::new();
    for (i, seg) in path.iter().enumerate() {
        let child = t
            .get_fields()
            .iter()
            .find(|f| f.name().eq_ignore_ascii_case(seg))?;
        columns.push(child.name().to_string());
        if !child.is_group() {
            return Some(Resolved {
                columns,
                inside: path[i + 1..].to_vec(),
            });
        }
        t = child;
    }
    // The path ends at a group: not a URL.
    None
}

/// A schema holding only the resolved leaves with their enclosing groups.
fn project(root: &Type, resolved: &[Resolved]) -> Option<Type> {
    fn walk(t: &Type, paths: &[&[String]]) -> Option<Type> {
        let mut fields = Vec::new();
        for child in t.get_fields() {
            let below: Vec<&[String]> = paths
                .iter()
                .filter(|p| p.first().is_some_and(|n| n == child.name()))
                .map(|p| &p[1..])
                .collect();
            if below.is_empty() {
                continue;
            }
            if child.is_group() {
                fields.push(Arc::new(walk(child, &below)?));
            } else {
                fields.push(Arc::clone(child));
            }
        }
        let mut b = Type::group_type_builder(t.name()).with_fields(fields);
        if t.get_basic_info().has_repetition() {
            b = b.with_repetition(t.get_basic_info().repetition());
        }
        b.build().ok()
    }
    let paths: Vec<&[String]> = resolved.iter().map(|r| r.columns.as_slice()).collect();
    walk(root, &paths)
}

/// The non-empty URL a row holds at a resolved field.
fn url_in(row: &Row, r: &Resolved) -> Option<String> {
    let mut cur = row;
    for (depth, name) in r.columns.iter().enumerate() {
        let (_, f) = cur.get_column_iter().find(|(n, _)| *n == name)?;
        let last = depth + 1 == r.columns.len();
        match f {
            Field::Group(g) if !last => cur = g,
            Field::Str(s) if last => return text(s, &r.inside),
            Field::Bytes(b) if last => return text(std::str::from_utf8(b.data()).ok()?, &r.inside),
            _ => return None,
        }
    }
    None
}

/// The URL in a leaf's text: the text itself, or what the path finds in its JSON.
fn text(s: &str, inside: &[String]) -> Option<String> {
    if inside.is_empty() {
        let s = s.trim();
        (!s.is_empty()).then(|| s.to_string())
    } else {
        find_in_json_str(s, inside)
    }
}
