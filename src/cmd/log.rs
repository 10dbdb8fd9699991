//! `provtrack log` and `log --checkpoint --key PRIV`.

use super::{Context, Exit};
use crate::checkpoint::{self, Checkpoint};
use crate::cli::LogArgs;
use crate::error::{Error, Result};
use crate::output::Table;
use crate::registry::state::State;
use crate::types::utc_now_rfc3339;
use crate::verify;

/// Prints the event log, oldest first, or a signed checkpoint of its head.
pub fn run(ctx: &Context, args: LogArgs) -> Result<Exit> {
    if let (true, Some(key)) = (args.checkpoint, &args.key) {
        return sign(ctx, key);
    }
    let reg = ctx.open()?;
    let events = match &args.dataset {
        None => reg.events(args.limit)?,
        Some(d) => {
            if reg.dataset(d)?.is_none() {
                let all: Vec<String> = reg
                    .datasets()?
                    .iter()
                    .map(|i| i.dataset.to_string())
                    .collect();
                return Err(crate::suggest::unknown(
                    "--dataset",
                    "dataset",
                    &d.to_string(),
                    all.iter().map(String::as_str),
                    "see dataset list",
                ));
            }
            let name = d.to_string();
            let mut about: Vec<_> = reg
                .events(None)?
                .into_iter()
                .filter(|e| crate::events::concerns(&e.payload, &name))
                .collect();
            if let Some(n) = args.limit {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                about.drain(..about.len().saturating_sub(n));
            }
            about
        }
    };
    let mut t = Table::new(&["seq", "time", "actor", "kind", "hash", "payload"]);
    for e in &events {
        t.push(vec![
            e.seq.to_string(),
            e.time.clone(),
            e.actor.clone(),
            e.kind.clone(),
            // A stored hash may have been edited to anything: never slice it blindly.
            verify::short(&e.hash),
            e.payload.clone(),
        ]);
    }
    ctx.emit(&events, &t)?;
    Ok(Exit::Success)
}

/// Signs a checkpoint of the chain head, refusing to vouch for a broken chain.
fn sign(ctx: &Context, key_path: &std::path::Path) -> Result<Exit> {
    // The key first: a bad key file is an input error before the registry is read.
    let text = checkpoint::read_small(key_path)?;
    let key = checkpoint::parse_secret(&text, &key_path.display().to_string())?;
    let reg = ctx.open()?;
    let chain = verify::chain(reg.as_ref())?;
    if let Some(b) = &chain.broken {
        // A verify finding, not an input error: exit 1, and nothing is signed.
        ctx.ui.error(format_args!(
            "event {}: {}; no checkpoint signed (run verify)",
            b.subject, b.detail
        ));
        return Ok(Exit::Blocked);
    }
    let Some(last) = chain.events.last() else {
        return Err(Error::input(
            ctx.registry.clone(),
            "the event log is empty: nothing to checkpoint",
        ));
    };
    // The state root the head event committed to (none for an event an older provtrack
    // wrote).
    let payload: serde_json::Value = serde_json::from_str(&last.payload).unwrap_or_default();
    let root = State::recorded_root(&payload);
    let cp = Checkpoint::sign(last.seq, &last.hash, root, utc_now_rfc3339(), &key);
    ctx.ui.info(format_args!(
        "checkpoint of event {} signed with key {}",
        cp.seq, cp.key_id
    ));
    ctx.emit_text(&cp.to_json())?;
    Ok(Exit::Success)
}
