//! Markdown: GitHub-flavoured pipe tables and `##` section headings, every cell escaped by
//! [`escape::markdown_cell`] so that it stays one cell of one row and carries no markup.

use std::io::{self, Write};

use super::Table;
use super::escape;

/// Writes the table as a Markdown pipe table.
pub fn write(table: &Table, w: &mut dyn Write) -> io::Result<()> {
    let row = |cells: &[String]| {
        let cells: Vec<_> = cells.iter().map(|c| escape::markdown_cell(c)).collect();
        format!("| {} |", cells.join(" | "))
    };
    writeln!(w, "{}", row(&table.headers))?;
    writeln!(w, "|{}", "---|".repeat(table.headers.len()))?;
    for r in &table.rows {
        writeln!(w, "{}", row(r))?;
    }
    Ok(())
}

/// A section heading.
pub fn heading(w: &mut dyn Write, name: &str) -> io::Result<()> {
    writeln!(w, "## {}\n", escape::markdown_cell(name))
}
