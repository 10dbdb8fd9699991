//! `provtrack init`.

use super::{Context, Exit};
use crate::error::Result;
use crate::registry;

/// Creates (or migrates) the registry and says where it is.
pub fn run(ctx: &Context) -> Result<Exit> {
    ctx.create()?;
    ctx.ui.info(format_args!(
        "registry ready at {}",
        registry::display(&ctx.registry)
    ));
    Ok(Exit::Success)
}
