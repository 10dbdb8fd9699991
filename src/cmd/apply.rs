//! `provtrack apply FILE.toml`.

use std::path::Path;

use super::{Context, Exit};
use crate::error::Result;
use crate::output::Table;
use crate::policy;

/// Applies a policy file and prints what it upserted.
pub fn run(ctx: &Context, file: &Path) -> Result<Exit> {
    let mut reg = ctx.create()?;
    let stats = policy::apply_file(reg.as_mut(), file, &ctx.actor)?;
    let mut t = Table::new(&["kind", "upserted"]);
    for (k, n) in [
        ("sources", stats.sources),
        ("licences", stats.licences),
        ("grants", stats.grants),
        ("training", stats.training),
        ("applications", stats.applications),
        ("disclosures", stats.disclosures),
    ] {
        t.push(vec![k.into(), n.to_string()]);
    }
    ctx.ui.info(format_args!("applied {}", stats.file));
    ctx.emit(&stats, &t)?;
    Ok(Exit::Success)
}
