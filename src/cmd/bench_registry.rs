//! `provtrack bench-registry`: fills a registry with synthetic content for benchmarks.

use super::{Context, Exit};
use crate::error::Result;
use crate::output::Table;
use crate::synth::{self, Sizes};

/// Builds the synthetic registry and prints what was built (JSON; no table).
pub fn run(ctx: &Context, sizes: Sizes) -> Result<Exit> {
    let datasets = sizes.datasets;
    let mut reg = ctx.create()?;
    let ui = ctx.ui;
    let built = synth::build(reg.as_mut(), sizes, &|n| {
        if n % 200 == 0 {
            ui.info(format_args!("{n}/{datasets} datasets"));
        }
    })?;
    ctx.emit(&built, &Table::new(&[]))?;
    Ok(Exit::Success)
}
