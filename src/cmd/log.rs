//! `provtrack log`.

use super::{Context, Exit};
use crate::error::Result;
use crate::output::Table;

/// Prints the event log, oldest first.
pub fn run(ctx: &Context, limit: Option<u64>) -> Result<Exit> {
    let reg = ctx.open()?;
    let events = reg.events(limit)?;
    let mut t = Table::new(&["seq", "time", "actor", "kind", "hash", "payload"]);
    for e in &events {
        t.push(vec![
            e.seq.to_string(),
            e.time.clone(),
            e.actor.clone(),
            e.kind.clone(),
            e.hash[..16].to_string(),
            e.payload.clone(),
        ]);
    }
    ctx.emit(&events, &t)?;
    Ok(Exit::Success)
}
