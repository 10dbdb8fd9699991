//! Every escaping rule of the program's output, in one place: names come from hostile files
//! and policies, and are shown, never executed.
//!
//! The rules, per destination:
//! - **terminal** (tables, trees, `log`, messages on stderr): control characters — C0
//!   (ESC, CR, LF, TAB, BEL, …), DEL, C1 (including the 8-bit CSI and OSC introducers), the
//!   Unicode line and paragraph separators and the bidirectional overrides and isolates —
//!   are shown as a Rust-style escape, `\u{1b}`. Escape sequences therefore never reach the
//!   terminal, and a name cannot start a new line or repaint one. A backslash is left as
//!   it is: the escape is made to be seen, not to be reversed.
//! - **CSV**: a cell that a spreadsheet would take for a formula — starting with `=`, `+`,
//!   `-`, `@`, TAB or CR (OWASP's CSV-injection list) — gets a leading `'`. Two kinds of cell
//!   starting with `-` are left alone because no spreadsheet evaluates them: the lone `-`
//!   that tables print for "none", and a plain negative decimal number (`-12`, `-0.5`).
//!   Quoting itself is the `csv` crate's. Other bytes are kept: a CSV file is data.
//! - **Markdown** cells: `\`, `|` and backticks are backslash-escaped, `&`, `<` and `>`
//!   become HTML entities, CR and LF become a space, and other controls take the
//!   terminal escape.
//! - **XML** (JUnit): characters XML 1.0 forbids (C0 other than TAB, LF and CR; U+FFFE and
//!   U+FFFF) and the discouraged DEL and C1 take the terminal escape, so the document is
//!   always well formed and two names differing only there stay distinct; quick-xml
//!   escapes `&`, `<`, `>`, `'` and `"`.
//! - **HTML** (the HTML report): `&`, `<`, `>`, `"` and `'` become entities.
//! - **Graphs**: DOT strings are quoted with `"` and `\` backslashed and controls escaped;
//!   Mermaid labels have `"` turned into `'`, `#`, `&`, `<` and `>` into Mermaid's `#NN;`
//!   entity codes, and controls escaped, so a label can neither end its line nor carry
//!   markup.
//! - **JSON** is escaped by serde_json.

use std::borrow::Cow;
use std::fmt::Write as _;

/// A character a terminal would act on rather than show.
fn is_control(c: char) -> bool {
    c.is_control() // C0, DEL and C1
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Pushes the visible form of a control character: `\u{1b}`.
fn push_visible(out: &mut String, c: char) {
    // Writing to a String cannot fail.
    let _ = write!(out, "\\u{{{:x}}}", c as u32);
}

/// Rewrites the characters for which `special` is true with `each`, borrowing when there is
/// none (the common case).
fn rewrite(
    s: &str,
    special: impl Fn(char) -> bool,
    each: impl Fn(&mut String, char),
) -> Cow<'_, str> {
    if !s.chars().any(&special) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if special(c) {
            each(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text for a terminal: control characters shown as `\u{..}`.
pub fn terminal(s: &str) -> Cow<'_, str> {
    rewrite(s, is_control, push_visible)
}

/// A plain decimal number, optionally negative: `-12`, `-0.5`, `3`.
fn is_number(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// A CSV cell neutralised against formula injection (see the module doc).
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && s != "-" && !is_number(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// A Markdown table cell.
pub fn markdown_cell(s: &str) -> Cow<'_, str> {
    let special = |c: char| matches!(c, '\\' | '|' | '`' | '&' | '<' | '>') || is_control(c);
    rewrite(s, special, |out, c| match c {
        '\\' | '|' | '`' => {
            out.push('\\');
            out.push(c);
        }
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '\r' | '\n' => out.push(' '),
        _ => push_visible(out, c),
    })
}

/// Text that XML 1.0 may hold: forbidden and discouraged characters shown as `\u{..}`.
/// Markup characters are left to the XML writer.
pub fn xml_chars(s: &str) -> Cow<'_, str> {
    let special = |c: char| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
    };
    rewrite(s, special, push_visible)
}

/// Text for HTML element content and attribute values.
pub fn html(s: &str) -> Cow<'_, str> {
    rewrite(
        s,
        |c| matches!(c, '&' | '<' | '>' | '"' | '\''),
        |out, c| {
            out.push_str(match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                _ => "&#39;",
            })
        },
    )
}

/// A DOT quoted string, quotes included.
pub fn dot_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if is_control(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The text of a quoted Mermaid label (without the quotes).
pub fn mermaid_label(s: &str) -> Cow<'_, str> {
    let special = |c: char| matches!(c, '"' | '#' | '&' | '<' | '>') || is_control(c);
    rewrite(s, special, |out, c| match c {
        '"' => out.push('\''),
        '#' => out.push_str("#35;"),
        '&' => out.push_str("#38;"),
        '<' => out.push_str("#60;"),
        '>' => out.push_str("#62;"),
        _ => push_visible(out, c),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_shows_controls() {
        assert_eq!(terminal("web-mix@2022"), "web-mix@2022");
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
        assert_eq!(
            terminal("a\x1b]0;pwned\x07b\x1b[2J"),
            "a\\u{1b}]0;pwned\\u{7}b\\u{1b}[2J"
        );
        assert_eq!(terminal("a\rb\nc\td\x01"), "a\\u{d}b\\u{a}c\\u{9}d\\u{1}");
        // DEL, the 8-bit CSI, a line separator and a right-to-left override.
        assert_eq!(
            terminal("\x7f\u{9b}\u{2028}\u{202e}"),
            "\\u{7f}\\u{9b}\\u{2028}\\u{202e}"
        );
        assert_eq!(terminal("café ✓ 日本"), "café ✓ 日本");
    }

    #[test]
    fn csv_neutralises_formulas() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("+1+cmd"), "'+1+cmd");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("-2+3"), "'-2+3");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("\rx"), "'\rx");
        assert_eq!(csv_cell("--"), "'--");
        // Left alone: the "none" placeholder, plain numbers, ordinary text.
        assert_eq!(csv_cell("-"), "-");
        assert_eq!(csv_cell("-12"), "-12");
        assert_eq!(csv_cell("-0.5"), "-0.5");
        assert_eq!(csv_cell("12"), "12");
        assert_eq!(csv_cell("a=b"), "a=b");
        assert_eq!(csv_cell("-1e5"), "'-1e5");
        assert_eq!(csv_cell("-."), "'-.");
    }

    #[test]
    fn markdown_cells_stay_cells() {
        assert_eq!(markdown_cell("a | b"), "a \\| b");
        assert_eq!(
            markdown_cell("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(markdown_cell("a & b"), "a &amp; b");
        assert_eq!(markdown_cell("`code`"), "\\`code\\`");
        assert_eq!(markdown_cell("a\\|b"), "a\\\\\\|b");
        assert_eq!(markdown_cell("one\r\ntwo\nthree"), "one  two three");
        assert_eq!(markdown_cell("x\x1by"), "x\\u{1b}y");
        assert_eq!(markdown_cell("web-mix@2022"), "web-mix@2022");
    }

    #[test]
    fn xml_keeps_only_allowed_characters() {
        assert_eq!(xml_chars("a\x1bb\x01c"), "a\\u{1b}b\\u{1}c");
        assert_eq!(xml_chars("tab\tlf\ncr\r"), "tab\tlf\ncr\r");
        assert_eq!(xml_chars("\u{fffe}\u{85}"), "\\u{fffe}\\u{85}");
        // Markup is the writer's job.
        assert_eq!(xml_chars("<a & 'b'>"), "<a & 'b'>");
    }

    #[test]
    fn html_escapes_markup() {
        assert_eq!(
            html("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(html("plain"), "plain");
    }

    #[test]
    fn dot_strings_are_quoted() {
        assert_eq!(dot_string("dataset:web@2022"), "\"dataset:web@2022\"");
        assert_eq!(dot_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(dot_string("a\nb\x1b"), "\"a\\u{a}b\\u{1b}\"");
    }

    #[test]
    fn mermaid_labels_stay_on_their_line() {
        assert_eq!(mermaid_label("source twitter"), "source twitter");
        assert_eq!(mermaid_label("say \"hi\""), "say 'hi'");
        assert_eq!(
            mermaid_label("a\nclick n0 href <x> #1 &"),
            "a\\u{a}click n0 href #60;x#62; #35;1 #38;"
        );
    }
}
