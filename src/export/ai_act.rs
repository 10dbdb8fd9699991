//! The AI Act training-content summary ([`crate::summary`]) written as Markdown or as one
//! self-contained HTML page. Every registry string is escaped for where it lands; a field
//! the registry cannot fill reads "to be completed by the provider".

use std::fmt::Write as _;

use crate::output::escape;
use crate::summary::{Field, Grid, Summary};

/// What an unfilled field says.
pub const TO_COMPLETE: &str = "*To be completed by the provider.*";

/// Markdown text outside tables: table-cell escaping plus the inline markers.
fn md(s: &str) -> String {
    let cell = escape::markdown_cell(s);
    let mut out = String::with_capacity(cell.len());
    for c in cell.chars() {
        if matches!(c, '*' | '_' | '[' | ']' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn md_value(f: &Field) -> String {
    f.value
        .as_deref()
        .map_or_else(|| TO_COMPLETE.to_string(), md)
}

fn md_grid(out: &mut String, g: &Grid) {
    let _ = writeln!(out, "\n**{}**\n", md(&g.title));
    if g.rows.is_empty() {
        out.push_str("None recorded in the registry.\n");
        return;
    }
    let cells = |row: &[String]| {
        row.iter()
            .map(|c| escape::markdown_cell(c).into_owned())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let _ = writeln!(out, "| {} |", cells(&g.columns));
    let _ = writeln!(out, "|{}|", vec![" --- "; g.columns.len()].join("|"));
    for r in &g.rows {
        let _ = writeln!(out, "| {} |", cells(r));
    }
}

/// The summary as Markdown.
pub fn markdown(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Public summary of training content: {}\n\n\
         Following the European Commission's template for the public summary of training content \
         of general-purpose AI models (AI Act, Article 53(1)(d); July 2025). Filled by provtrack \
         from its registry only; fields marked \"to be completed by the provider\" are not known \
         to the registry.",
        md(&s.model)
    );
    for sec in &s.sections {
        let _ = writeln!(out, "\n## {} {}\n", md(&sec.number), md(&sec.title));
        for f in &sec.fields {
            let _ = writeln!(out, "- **{}**: {}", md(&f.label), md_value(f));
        }
        for g in &sec.tables {
            md_grid(&mut out, g);
        }
    }
    out
}

fn html_grid(out: &mut String, g: &Grid) {
    let _ = writeln!(out, "<h3>{}</h3>", escape::html(&g.title));
    if g.rows.is_empty() {
        out.push_str("<p>None recorded in the registry.</p>\n");
        return;
    }
    out.push_str("<table><thead><tr>");
    for c in &g.columns {
        let _ = write!(out, "<th>{}</th>", escape::html(c));
    }
    out.push_str("</tr></thead><tbody>\n");
    for r in &g.rows {
        out.push_str("<tr>");
        for c in r {
            let _ = write!(out, "<td>{}</td>", escape::html(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

/// The summary as one self-contained HTML page (no scripts, no external resources).
pub fn html(s: &Summary) -> String {
    let model = escape::html(&s.model);
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Public summary of training content: {model}</title>\
         <style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.2em .5em}}\
         .todo{{color:#a40}}</style></head><body>\n\
         <h1>Public summary of training content: {model}</h1>\n\
         <p>Following the European Commission's template for the public summary of training \
         content of general-purpose AI models (AI Act, Article 53(1)(d); July 2025). Filled by \
         provtrack from its registry only; fields marked \"to be completed by the provider\" are \
         not known to the registry.</p>\n"
    );
    for sec in &s.sections {
        let _ = writeln!(
            out,
            "<h2>{} {}</h2>\n<dl>",
            escape::html(&sec.number),
            escape::html(&sec.title)
        );
        for f in &sec.fields {
            let value = match &f.value {
                Some(v) => escape::html(v).into_owned(),
                None => "<em class=\"todo\">To be completed by the provider.</em>".into(),
            };
            let _ = writeln!(out, "<dt>{}</dt><dd>{value}</dd>", escape::html(&f.label));
        }
        out.push_str("</dl>\n");
        for g in &sec.tables {
            html_grid(&mut out, g);
        }
    }
    out.push_str("</body></html>\n");
    out
}
