//! Parquet shards: the footer is checked first ([`super::footer`]), then only the URL
//! columns are read. Column names match the URL fields ignoring case; string and binary
//! columns holding UTF-8 are both read; a column holding JSON text is looked into for the
//! rest of a dotted path; per row the first non-empty URL in priority order wins.

use std::sync::Arc;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::{Field, Row};
use parquet::schema::types::Type;

use super::{RecordStats, SourceMatcher, UrlField, find_in_json_str, footer, no_url_field};

/// A URL field resolved against a schema: the real column names down to a leaf, and the
/// rest of the path inside that leaf's JSON text (empty when the leaf is the URL).
#[derive(Clone, Debug)]
struct Resolved {
    columns: Vec<String>,
    inside: Vec<String>,
}

/// Reads a Parquet file's record count from its footer and attributes records by the URL
/// columns, reading only those. `size` spreads the file's bytes over its records.
pub fn attribute_parquet(
    file: std::fs::File,
    size: u64,
    field: &UrlField,
    matcher: &SourceMatcher,
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
    let share = |n: u64| {
        if total == 0 {
            0
        } else {
            ((u128::from(size) * u128::from(n)) / u128::from(total)) as u64
        }
    };
    if resolved.is_empty() {
        st.records = total;
        st.unattributed_records = total;
        st.unattributed_bytes = size;
        if total > 0 {
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
    let projection = project(schema, &resolved);
    let rows = match projection.map(|p| reader.get_row_iter(Some(p))) {
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            st.problem = Some(e.to_string());
            st.failed = true;
            st.records = total;
            st.unattributed_records = total;
            st.unattributed_bytes = size;
            return st;
        }
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
    // Records the iterator could not reach (a corrupt page) stay counted, unattributed.
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
