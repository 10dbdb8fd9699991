//! The output layer: the only code that knows tables, CSV, Markdown and JSON, and the only
//! code that writes to stdout (results) or stderr (progress, warnings).

use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned columns for a person.
    Table,
    /// JSON with stable keys.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// A Markdown table.
    Md,
    /// An indented tree (`lineage` only).
    Tree,
    /// Graphviz DOT (`lineage` only).
    Dot,
    /// A Mermaid flowchart (`lineage` only).
    Mermaid,
    /// SPDX 3.0 JSON-LD with the Dataset profile (`export` only).
    Spdx3,
    /// CycloneDX 1.6 JSON (`export` only).
    Cyclonedx,
}

impl OutputFormat {
    /// Formats that only `lineage` draws.
    pub fn is_graph(self) -> bool {
        matches!(
            self,
            OutputFormat::Tree | OutputFormat::Dot | OutputFormat::Mermaid
        )
    }

    /// Bill-of-materials formats that only `export` writes.
    pub fn is_export(self) -> bool {
        matches!(self, OutputFormat::Spdx3 | OutputFormat::Cyclonedx)
    }
}

/// Rows of strings with a header, rendered as table, CSV or Markdown.
#[derive(Clone, Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
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

    fn write_plain(&self, w: &mut dyn Write, color: bool) -> io::Result<()> {
        let cols = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let line = |w: &mut dyn Write, cells: &[String], header: bool| -> io::Result<()> {
            let mut out = String::new();
            for (i, c) in cells.iter().enumerate().take(cols) {
                let last = i + 1 == cols;
                let pad = if last {
                    0
                } else {
                    widths[i] - c.chars().count()
                };
                let text = if header { c.to_uppercase() } else { c.clone() };
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
        line(w, &self.headers, true)?;
        for r in &self.rows {
            line(w, r, false)?;
        }
        Ok(())
    }

    fn write_csv(&self, w: &mut dyn Write) -> io::Result<()> {
        let esc = |s: &str| {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        for r in std::iter::once(&self.headers).chain(&self.rows) {
            let cells: Vec<String> = r.iter().map(|c| esc(c)).collect();
            write!(w, "{}\r\n", cells.join(","))?;
        }
        Ok(())
    }

    fn write_md(&self, w: &mut dyn Write) -> io::Result<()> {
        let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let row = |cells: &[String]| {
            let cells: Vec<String> = cells.iter().map(|c| esc(c)).collect();
            format!("| {} |", cells.join(" | "))
        };
        writeln!(w, "{}", row(&self.headers))?;
        writeln!(w, "|{}", "---|".repeat(self.headers.len()))?;
        for r in &self.rows {
            writeln!(w, "{}", row(r))?;
        }
        Ok(())
    }
}

/// Writes a result: `json` for `--format json`, `table` for the others.
pub fn emit<T: Serialize + ?Sized>(
    w: &mut dyn Write,
    format: OutputFormat,
    color: bool,
    json: &T,
    table: &Table,
) -> io::Result<()> {
    match format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, json).map_err(io::Error::other)?;
            writeln!(w)
        }
        OutputFormat::Table
        | OutputFormat::Tree
        | OutputFormat::Dot
        | OutputFormat::Mermaid
        | OutputFormat::Spdx3
        | OutputFormat::Cyclonedx => table.write_plain(w, color),
        OutputFormat::Csv => table.write_csv(w),
        OutputFormat::Md => table.write_md(w),
    }
}

/// Writes a result made of named sections: `json` whole for `--format json`, else each
/// table under its name (a heading line; `## name` in Markdown, `# name` in CSV).
pub fn emit_sections<T: Serialize + ?Sized>(
    w: &mut dyn Write,
    format: OutputFormat,
    color: bool,
    json: &T,
    sections: &[(&str, Table)],
) -> io::Result<()> {
    if format == OutputFormat::Json {
        return emit(w, format, color, json, &Table::default());
    }
    for (i, (name, table)) in sections.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        match format {
            OutputFormat::Md => writeln!(w, "## {name}\n")?,
            OutputFormat::Csv => write!(w, "# {name}\r\n")?,
            _ => writeln!(w, "{}", name.to_uppercase())?,
        }
        emit(w, format, color, json, table)?;
    }
    Ok(())
}

/// Messages for a person on stderr: progress, notes and warnings. Results never go here.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ui {
    /// `-q`: only errors.
    pub quiet: bool,
    /// `-v`: more detail.
    pub verbose: bool,
}

impl Ui {
    /// Progress and notes; silenced by `-q`.
    pub fn info(&self, msg: impl Display) {
        if !self.quiet {
            eprintln!("provtrack: {msg}");
        }
    }

    /// Something the user should look at; silenced by `-q`.
    pub fn warn(&self, msg: impl Display) {
        if !self.quiet {
            eprintln!("provtrack: warning: {msg}");
        }
    }

    /// Detail shown with `-v`.
    pub fn debug(&self, msg: impl Display) {
        if self.verbose && !self.quiet {
            eprintln!("provtrack: {msg}");
        }
    }

    /// A progress bar on stderr when it is a terminal and `-q` is off.
    pub fn progress_bar(&self) -> Option<Bar> {
        if self.quiet || !io::stderr().is_terminal() {
            return None;
        }
        let pb =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} {bytes} read, {binary_bytes_per_sec}, {msg} [{elapsed}]",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        pb.set_style(style);
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(Bar {
            pb,
            files: AtomicU64::new(0),
        })
    }

    /// The one line printed for a failed command.
    pub fn error(&self, msg: impl Display) {
        eprintln!("provtrack: {msg}");
    }
}

/// A scan progress line: bytes read, rate, files read, elapsed time.
pub struct Bar {
    pb: indicatif::ProgressBar,
    files: AtomicU64,
}

impl Bar {
    /// Leaves the bar where it ended.
    pub fn finish(&self) {
        self.pb.finish_and_clear();
    }
}

impl crate::scan::ProgressSink for Bar {
    fn advance(&self, bytes: u64) {
        let done = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        self.pb.inc(bytes);
        self.pb.set_message(format!("{done} files"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&["verdict", "detail"]).verdicts_in(0);
        t.push(vec!["use-denied".into(), "a, \"quoted\" | piped".into()]);
        t
    }

    fn render(f: OutputFormat) -> String {
        let mut out = Vec::new();
        emit(&mut out, f, false, &serde_json::json!({"k": 1}), &sample()).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats() {
        assert_eq!(
            render(OutputFormat::Table),
            "VERDICT     DETAIL\nuse-denied  a, \"quoted\" | piped\n"
        );
        assert_eq!(
            render(OutputFormat::Csv),
            "verdict,detail\r\nuse-denied,\"a, \"\"quoted\"\" | piped\"\r\n"
        );
        assert_eq!(
            render(OutputFormat::Md),
            "| verdict | detail |\n|---|---|\n| use-denied | a, \"quoted\" \\| piped |\n"
        );
        assert_eq!(render(OutputFormat::Json), "{\n  \"k\": 1\n}\n");
    }
}
