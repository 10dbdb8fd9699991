//! `provtrack lineage ID`.

use super::{Context, Exit};
use crate::error::{Error, Result};
use crate::lineage::{self, Direction};
use crate::output;

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
    // Export formats were refused before the command ran; table draws the tree.
    output::to_stdout(|w| output::emit_graph(w, ctx.format, ctx.color, &g))
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(Exit::Success)
}
