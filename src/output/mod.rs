//! The output layer: the formats, the printers and the standard streams. It is the only
//! code that knows tables, CSV, Markdown, JSON, XML and graph drawings, and the only code
//! that writes to stdout (results) or stderr (progress, warnings, the error line). Commands
//! hand it rows and values; [`escape`] holds every rule that keeps hostile names inert.

pub mod csv;
pub mod escape;
pub mod graph;
pub mod junit;
pub mod markdown;
pub mod rows;
pub mod table;

pub use table::Table;

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
    /// A self-contained HTML page (`summary` only).
    Html,
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
        | OutputFormat::Html
        | OutputFormat::Cyclonedx => table.write_terminal(w, color),
        OutputFormat::Csv => csv::write(table, w),
        OutputFormat::Md => markdown::write(table, w),
    }
}

/// Writes a lineage graph: drawn as a tree (table format too), DOT or Mermaid, else its
/// edges as rows (JSON: the whole graph).
pub fn emit_graph(
    w: &mut dyn Write,
    format: OutputFormat,
    color: bool,
    g: &crate::lineage::Lineage,
) -> io::Result<()> {
    match format {
        OutputFormat::Table
        | OutputFormat::Tree
        | OutputFormat::Spdx3
        | OutputFormat::Html
        | OutputFormat::Cyclonedx => graph::tree(g, w),
        OutputFormat::Dot => graph::dot(g, w),
        OutputFormat::Mermaid => graph::mermaid(g, w),
        OutputFormat::Json | OutputFormat::Csv | OutputFormat::Md => {
            emit(w, format, color, g, &graph::edges_table(g))
        }
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
    match format {
        OutputFormat::Json => return emit(w, format, color, json, &Table::default()),
        OutputFormat::Csv => return csv::write_sections(sections, w),
        _ => {}
    }
    for (i, (name, table)) in sections.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        match format {
            OutputFormat::Md => markdown::heading(w, name)?,
            _ => writeln!(w, "{}", escape::terminal(name).to_uppercase())?,
        }
        emit(w, format, color, json, table)?;
    }
    Ok(())
}

/// Writes a result to stdout through a buffer, flushed at the end. The caller maps a
/// closed pipe (`provtrack report | head`) to a quiet success.
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let stdout = io::stdout();
    let mut w = io::BufWriter::new(stdout.lock());
    write(&mut w)?;
    w.flush()
}

/// True for the error a write to a closed pipe gets: a quiet success, not a failure.
pub fn is_closed_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// One `provtrack: …` line on stderr, its control characters made visible: messages quote
/// names from files and the command line, and must neither drive the terminal nor span
/// lines.
fn message(kind: &str, msg: impl Display) {
    let text = msg.to_string();
    // Nothing is left to tell if stderr itself is gone.
    let _ = writeln!(
        io::stderr().lock(),
        "provtrack: {kind}{}",
        escape::terminal(&text)
    );
}

/// The one line printed for a command that could not run (also for usage errors).
pub fn error_line(msg: impl Display) {
    message("", msg);
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
            message("", msg);
        }
    }

    /// Something the user should look at; silenced by `-q`.
    pub fn warn(&self, msg: impl Display) {
        if !self.quiet {
            message("warning: ", msg);
        }
    }

    /// Detail shown with `-v`.
    pub fn debug(&self, msg: impl Display) {
        if self.verbose && !self.quiet {
            message("", msg);
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
        error_line(msg);
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
