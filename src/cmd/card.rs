//! `provtrack import-card FILE --dataset D@V`.

use super::{Context, Exit};
use crate::cli::ImportCardArgs;
use crate::error::{Error, Result};

/// Imports a dataset card (not built yet).
pub fn run(_ctx: &Context, _args: ImportCardArgs) -> Result<Exit> {
    Err(Error::input("import-card", "not built yet"))
}
