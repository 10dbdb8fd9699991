//! `provtrack lineage ID`.

use super::{Context, Exit};
use crate::error::Result;
use crate::lineage::{self, Direction};
use crate::output::{OutputFormat, Table};

/// Prints the lineage graph around `id`.
pub fn run(ctx: &Context, id: &str, direction: Direction) -> Result<Exit> {
    let reg = ctx.open()?;
    let g = lineage::build(reg.as_ref(), id, direction)?;
    ctx.ui.info(format_args!(
        "{} nodes, {} edges around {}",
        g.nodes.len(),
        g.edges.len(),
        g.root
    ));
    match ctx.format {
        // Export formats were refused before the command ran.
        OutputFormat::Table
        | OutputFormat::Tree
        | OutputFormat::Spdx3
        | OutputFormat::Cyclonedx => ctx.emit_text(&g.tree())?,
        OutputFormat::Dot => ctx.emit_text(&g.dot())?,
        OutputFormat::Mermaid => ctx.emit_text(&g.mermaid())?,
        OutputFormat::Json | OutputFormat::Csv | OutputFormat::Md => {
            let mut t = Table::new(&["from", "to", "kind", "blocked"]);
            for e in &g.edges {
                t.push(vec![
                    e.from.clone(),
                    e.to.clone(),
                    e.kind.into(),
                    e.blocked.to_string(),
                ]);
            }
            ctx.emit(&g, &t)?;
        }
    }
    Ok(Exit::Success)
}
