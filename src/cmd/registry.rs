//! `provtrack registry copy FROM TO`.

use super::{Context, Exit};
use crate::error::{Error, Result};
use crate::output::Table;
use crate::registry;

/// Copies a whole registry into a new one.
pub fn copy(ctx: &Context, from: &str, to: &str) -> Result<Exit> {
    if from == to {
        return Err(Error::input(
            "registry copy",
            "FROM and TO are the same registry",
        ));
    }
    let source = registry::open_existing(from)?;
    let mut target = registry::open(to)?;
    let copied = registry::copy(&*source, target.as_mut())?;
    ctx.ui.info(format_args!(
        "copied {} events and {} rows; chain head {}",
        copied.events,
        copied.rows.iter().map(|(_, n)| n).sum::<u64>(),
        copied.chain_head.as_deref().unwrap_or("(empty chain)")
    ));
    let mut t = Table::new(&["table", "rows"]);
    for (table, n) in &copied.rows {
        t.push(vec![table.clone(), n.to_string()]);
    }
    ctx.emit(&copied, &t)?;
    Ok(Exit::Success)
}
