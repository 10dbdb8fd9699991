//! `provtrack licence list`.

use super::{Context, Exit};
use crate::error::Result;
use crate::licence::{CATALOGUE_NOTE, Catalogue};
use crate::output::Table;

/// Lists the licences in force (built-ins overridden by policy files).
pub fn list(ctx: &Context) -> Result<Exit> {
    let reg = ctx.open()?;
    let cat = Catalogue::with_overrides(reg.licences()?);
    let all: Vec<_> = cat.all().collect();
    let mut t = Table::new(&["id", "origin", "allow", "deny", "conditions"]);
    for l in &all {
        t.push(vec![
            l.id.clone(),
            if l.builtin { "built-in" } else { "policy" }.into(),
            l.allow.join(" "),
            l.deny.join(" "),
            l.conditions.join(" "),
        ]);
    }
    ctx.ui.info(CATALOGUE_NOTE);
    ctx.emit(&all, &t)?;
    Ok(Exit::Success)
}
