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

/// The one line a section heading takes in CSV: `# name`.
pub fn heading(w: &mut dyn Write, name: &str) -> io::Result<()> {
    write!(w, "# {}\r\n", escape::csv_cell(name))
}

fn into_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}
