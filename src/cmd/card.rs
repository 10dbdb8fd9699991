//! `provtrack import-card FILE --dataset D@V [--source S] [--from DATE]`.

use super::{Context, Exit};
use crate::card::{self, ImportOptions};
use crate::cli::ImportCardArgs;
use crate::error::Result;
use crate::output::Table;

/// Registers what a dataset card declares and prints it, flags included.
pub fn run(ctx: &Context, args: ImportCardArgs) -> Result<Exit> {
    let mut reg = ctx.open()?;
    let opts = ImportOptions {
        dataset: args.dataset,
        source: args.source,
        from: args.from,
        actor: ctx.actor.clone(),
    };
    let got = card::import(reg.as_mut(), &args.file, &opts)?;
    let mut t = Table::new(&["declared", "licence", "grant", "flag"]);
    for (l, g) in got.licences.iter().zip(&got.grants) {
        let flag = if l.known {
            ""
        } else if l.licence == "unknown" {
            "UNKNOWN TERMS"
        } else {
            "UNKNOWN LICENCE"
        };
        t.push(vec![
            l.declared.clone(),
            l.licence.clone(),
            g.clone(),
            flag.into(),
        ]);
    }
    for f in &got.flags {
        ctx.ui.warn(f);
    }
    ctx.ui.info(format_args!(
        "{}: {} licences granted by source {} for {}; {} records in {} shards declared {}'s",
        got.file,
        got.licences.len(),
        got.source,
        got.dataset,
        got.attributed.records,
        got.attributed.shards,
        got.source
    ));
    ctx.emit(&got, &t)?;
    Ok(Exit::Success)
}
