//! Drawings of a lineage graph ([`Lineage`], computed by `lineage`): an indented tree for
//! the terminal, Graphviz DOT and a Mermaid flowchart, plus its edges as table rows.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Write};

use super::{Table, escape};
use crate::lineage::{Lineage, Node};

/// What a person reads for a node: its kind and label, and whether it is undisclosed.
fn label(n: &Node) -> String {
    let mut s = format!("{} {}", n.kind, n.label);
    if n.disclosed == Some(false) {
        s.push_str(" (undisclosed)");
    }
    s
}

/// The edges as rows, for JSON, CSV and Markdown output.
pub fn edges_table(g: &Lineage) -> Table {
    let mut t = Table::new(&["from", "to", "kind", "blocked"]);
    for e in &g.edges {
        t.push(vec![
            e.from.clone(),
            e.to.clone(),
            e.kind.into(),
            e.blocked.to_string(),
        ]);
    }
    t
}

/// An indented tree: the root, then its upstream nodes (`↑`), then its downstream ones
/// (`↓`), depth first; a node reached twice is printed again but not expanded again. Names
/// are made terminal-safe.
pub fn tree(g: &Lineage, w: &mut dyn Write) -> io::Result<()> {
    let by_id: HashMap<&str, &Node> = g.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let show = |id: &str| {
        let text = by_id.get(id).map_or_else(|| id.to_string(), |n| label(n));
        escape::terminal(&text).into_owned()
    };
    writeln!(w, "{}", show(&g.root))?;
    for up in [true, false] {
        let mut seen = BTreeSet::from([g.root.as_str()]);
        branch(g, w, &g.root, 1, up, &mut seen, &show)?;
    }
    Ok(())
}

fn branch<'a>(
    g: &'a Lineage,
    w: &mut dyn Write,
    id: &str,
    depth: usize,
    up: bool,
    seen: &mut BTreeSet<&'a str>,
    show: &dyn Fn(&str) -> String,
) -> io::Result<()> {
    let mut next: Vec<(&'a str, bool)> = g
        .edges
        .iter()
        .filter_map(|e| match (up, e.to == id, e.from == id) {
            (true, true, _) => Some((e.from.as_str(), e.blocked)),
            (false, _, true) => Some((e.to.as_str(), e.blocked)),
            _ => None,
        })
        .collect();
    next.sort();
    for (n, blocked) in next {
        writeln!(
            w,
            "{}{} {}{}",
            "  ".repeat(depth),
            if up { "↑" } else { "↓" },
            show(n),
            if blocked { "  [blocked: findings]" } else { "" }
        )?;
        if seen.insert(n) {
            branch(g, w, n, depth + 1, up, seen, show)?;
        }
    }
    Ok(())
}

/// Graphviz DOT, left to right; blocked edges red, undisclosed applications dashed red.
pub fn dot(g: &Lineage, w: &mut dyn Write) -> io::Result<()> {
    w.write_all(
        b"digraph lineage {\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n",
    )?;
    for n in &g.nodes {
        let shape = match n.kind {
            "source" => "cylinder",
            "model" => "component",
            "application" => "box3d",
            "shard" => "note",
            _ => "folder",
        };
        let style = if n.disclosed == Some(false) {
            ", style=dashed, color=red"
        } else {
            ""
        };
        let bold = if n.id == g.root { ", penwidth=2" } else { "" };
        writeln!(
            w,
            "  {} [label={}, shape={shape}{style}{bold}];",
            escape::dot_string(&n.id),
            escape::dot_string(&label(n))
        )?;
    }
    for e in &g.edges {
        let style = if e.blocked {
            ", color=red, fontcolor=red, label=\"blocked\""
        } else {
            ""
        };
        writeln!(
            w,
            "  {} -> {} [tooltip={}{style}];",
            escape::dot_string(&e.from),
            escape::dot_string(&e.to),
            escape::dot_string(e.kind)
        )?;
    }
    w.write_all(b"}\n")
}

/// A Mermaid flowchart, left to right. Nodes get positional ids (`n0`), so names appear only
/// inside quoted, escaped labels.
pub fn mermaid(g: &Lineage, w: &mut dyn Write) -> io::Result<()> {
    let ids: HashMap<&str, String> = g
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), format!("n{i}")))
        .collect();
    writeln!(w, "graph LR")?;
    for n in &g.nodes {
        let (open, close) = match n.kind {
            "source" => ("[(", ")]"),
            "model" => ("[[", "]]"),
            "application" => ("([", "])"),
            _ => ("[", "]"),
        };
        writeln!(
            w,
            "  {}{open}\"{}\"{close}",
            ids[n.id.as_str()],
            escape::mermaid_label(&label(n))
        )?;
    }
    for e in &g.edges {
        let arrow = if e.blocked { "-. blocked .->" } else { "-->" };
        writeln!(
            w,
            "  {} {arrow} {}",
            ids[e.from.as_str()],
            ids[e.to.as_str()]
        )?;
    }
    for n in g.nodes.iter().filter(|n| n.disclosed == Some(false)) {
        writeln!(
            w,
            "  style {} stroke:#c00,stroke-dasharray: 5 5",
            ids[n.id.as_str()]
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lineage::Edge;

    /// A source whose label holds a quote, a line break that would start a Mermaid
    /// statement, markup and ESC, feeding an undisclosed application.
    fn hostile() -> Lineage {
        let node = |id: &str, kind: &'static str, label: &str, disclosed| Node {
            id: id.into(),
            kind,
            label: label.into(),
            disclosed,
        };
        Lineage {
            root: "source:s".into(),
            nodes: vec![
                node("app:a", "application", "a", Some(false)),
                node("source:s", "source", "x\"]\nclick n0 href <b>\x1b[2J", None),
            ],
            edges: vec![Edge {
                from: "source:s".into(),
                to: "app:a".into(),
                kind: "content",
                blocked: true,
            }],
        }
    }

    fn draw(f: fn(&Lineage, &mut dyn Write) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&hostile(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tree_lines_are_terminal_safe() {
        assert_eq!(
            draw(tree),
            "source x\"]\\u{a}click n0 href <b>\\u{1b}[2J\n  ↓ application a (undisclosed)  [blocked: findings]\n"
        );
    }

    #[test]
    fn dot_quotes_every_name() {
        let dot = draw(dot);
        assert!(
            dot.contains(
                "  \"source:s\" [label=\"source x\\\"]\\u{a}click n0 href <b>\\u{1b}[2J\", shape=cylinder, penwidth=2];\n"
            ),
            "{dot}"
        );
        assert_eq!(dot.lines().count(), 7, "{dot}");
    }

    #[test]
    fn mermaid_labels_cannot_add_statements() {
        assert_eq!(
            draw(mermaid),
            "graph LR\n  n0([\"application a (undisclosed)\"])\n  \
             n1[(\"source x']\\u{a}click n0 href #60;b#62;\\u{1b}[2J\")]\n  \
             n1 -. blocked .-> n0\n  style n0 stroke:#c00,stroke-dasharray: 5 5\n"
        );
    }
}
