//! `provtrack source list`.

use super::{Context, Exit};
use crate::error::Result;
use crate::output::Table;

/// Lists sources.
pub fn list(ctx: &Context) -> Result<Exit> {
    let reg = ctx.open()?;
    let sources = reg.sources()?;
    let mut t = Table::new(&["id", "name", "domains"]);
    for s in &sources {
        t.push(vec![s.id.clone(), s.name.clone(), s.domains.join(" ")]);
    }
    ctx.emit(&sources, &t)?;
    Ok(Exit::Success)
}
