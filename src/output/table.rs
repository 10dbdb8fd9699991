//! The rows every command hands to the output layer ([`Table`]), and their aligned
//! terminal rendering with optional colour.

use std::borrow::Cow;
use std::io::{self, Write};

use super::escape;

/// Rows of strings with a header, rendered as table, CSV or Markdown.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub(super) headers: Vec<String>,
    pub(super) rows: Vec<Vec<String>>,
    /// Column whose cells are verdict codes, coloured in terminal tables.
    verdict_column: Option<usize>,
}

impl Table {
    /// An empty table with these column names.
    pub fn new(headers: &[&str]) -> Table {
        Table {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            ..Table::default()
        }
    }

    /// Marks the column holding verdict codes.
    pub fn verdicts_in(mut self, col: usize) -> Table {
        self.verdict_column = Some(col);
        self
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The first `cols` cells, terminal-safe.
    fn shown(cells: &[String], cols: usize) -> Vec<Cow<'_, str>> {
        cells
            .iter()
            .take(cols)
            .map(|c| escape::terminal(c))
            .collect()
    }

    /// Aligned columns for a terminal: upper-case headers, two spaces between columns,
    /// control characters in cells made visible (so that a hostile name can neither drive
    /// the terminal nor break a row), then — with `color` — the verdict column green or red
    /// and the header bold.
    pub fn write_terminal(&self, w: &mut dyn Write, color: bool) -> io::Result<()> {
        let cols = self.headers.len();
        let headers = Table::shown(&self.headers, cols);
        let rows: Vec<Vec<Cow<'_, str>>> =
            self.rows.iter().map(|r| Table::shown(r, cols)).collect();
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for r in &rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let line = |w: &mut dyn Write, cells: &[Cow<'_, str>], header: bool| -> io::Result<()> {
            let mut out = String::new();
            for (i, c) in cells.iter().enumerate() {
                let last = i + 1 == cols;
                let pad = if last {
                    0
                } else {
                    widths[i] - c.chars().count()
                };
                let text = if header {
                    c.to_uppercase()
                } else {
                    c.to_string()
                };
                let styled = match (color, header, self.verdict_column == Some(i)) {
                    (true, false, true) if c == "permitted" => format!("\x1b[32m{text}\x1b[0m"),
                    (true, false, true) => format!("\x1b[31m{text}\x1b[0m"),
                    (true, true, _) => format!("\x1b[1m{text}\x1b[0m"),
                    _ => text,
                };
                out.push_str(&styled);
                if !last {
                    out.push_str(&" ".repeat(pad + 2));
                }
            }
            writeln!(w, "{}", out.trim_end())
        };
        line(w, &headers, true)?;
        for r in &rows {
            line(w, r, false)?;
        }
        Ok(())
    }
}
