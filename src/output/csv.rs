//! CSV (RFC 4180, CRLF line ends, a header row) written by the `csv` crate, each cell
//! neutralised against formula injection first ([`escape::csv_cell`]).

use std::io::{self, Write};

use super::Table;
use super::escape;

/// Writes the table as CSV.
pub fn write(table: &Table, w: &mut dyn Write) -> io::Result<()> {
    if table.headers.is_empty() {
        // A result with no columns (JSON only) is one empty line, where the csv crate
        // would write a record of one empty quoted field.
        return w.write_all(b"\r\n");
    }
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        // Rows are as long as the header; a short one is written short rather than refused.
        .flexible(true)
        .from_writer(w);
    for row in std::iter::once(&table.headers).chain(&table.rows) {
        out.write_record(row.iter().map(|c| escape::csv_cell(c).into_owned()))
            .map_err(into_io)?;
    }
    out.flush()
}

/// Writes several sections as one RFC 4180 table, so that a spreadsheet or a CSV reader
/// loads the whole result: a `section` column first, then every section's columns in the
/// order they first appear (a column two sections share is one column); each row fills its
/// own section's columns and leaves the others empty.
pub fn write_sections(sections: &[(&str, Table)], w: &mut dyn Write) -> io::Result<()> {
    let mut columns: Vec<&str> = vec!["section"];
    for (_, t) in sections {
        for h in &t.headers {
            if !columns.contains(&h.as_str()) {
                columns.push(h);
            }
        }
    }
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(w);
    out.write_record(columns.iter().map(|c| escape::csv_cell(c).into_owned()))
        .map_err(into_io)?;
    for (name, t) in sections {
        let at: Vec<usize> = t
            .headers
            .iter()
            .map(|h| columns.iter().position(|c| c == h).unwrap_or(0))
            .collect();
        for row in &t.rows {
            let mut record = vec![String::new(); columns.len()];
            record[0] = escape::csv_cell(name).into_owned();
            for (cell, &k) in row.iter().zip(&at) {
                record[k] = escape::csv_cell(cell).into_owned();
            }
            out.write_record(&record).map_err(into_io)?;
        }
    }
    out.flush()
}

fn into_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_one_rectangular_table() {
        let mut a = Table::new(&["source", "records"]);
        a.push(vec!["tw".into(), "5".into()]);
        let mut b = Table::new(&["dataset", "records"]);
        b.push(vec!["d@1".into(), "=1+1".into()]);
        let mut out = Vec::new();
        write_sections(&[("totals", a), ("datasets", b)], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "section,source,records,dataset\r\ntotals,tw,5,\r\ndatasets,,'=1+1,d@1\r\n"
        );
    }
}
