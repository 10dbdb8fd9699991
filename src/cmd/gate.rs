//! `provtrack gate (DIR | --dataset D@V) --use U... --org O`.

use super::{Context, Exit};
use crate::cli::GateArgs;
use crate::error::{Error, Result};
use crate::gate::{self, GateOptions};
use crate::output::{self, rows};
use crate::scan::{ProgressSink, ReadOptions};
use crate::training;
use crate::types::Date;
use std::sync::Arc;

/// Runs the gate: exit 0 pass, 1 blocked.
pub fn run(ctx: &Context, args: GateArgs) -> Result<Exit> {
    // Checked here, before anything is read, to point at the flags.
    training::check_org(&args.org).map_err(super::invalid_run)?;
    let uses = training::uses(&args.uses).map_err(super::invalid_run)?;
    let opts = GateOptions {
        uses,
        org: args.org,
        date: args.date.unwrap_or_else(Date::today),
        allow_unknown: args.allow_unknown,
        actor: ctx.actor.clone(),
    };
    let read = super::scan::read_options(args.read)?;
    let mut reg = ctx.open()?;
    let r = match (&args.dir, &args.dataset) {
        (Some(dir), _) => {
            let bar = ctx.ui.progress_bar().map(Arc::new);
            let read = ReadOptions {
                progress: bar.clone().map(|b| b as Arc<dyn ProgressSink>),
                // Bytes, not timestamps: a file rewritten in place with its size and mtime
                // kept must not pass as what was registered. Unchanged bytes still skip
                // re-reading their records.
                check_bytes: !args.trust_cache,
                ..read
            };
            let r = gate::gate_dir(reg.as_mut(), dir, &read, &opts);
            if let Some(b) = bar {
                b.finish();
            }
            r?
        }
        (None, Some(d)) => gate::gate_dataset(reg.as_mut(), d, &opts)?,
        (None, None) => {
            return Err(Error::input(
                "gate",
                "a directory or --dataset NAME@VERSION is required",
            ));
        }
    };
    if let Some(d) = &r.dir {
        super::scan::report_problems(ctx, &d.skipped, &d.problems);
        ctx.ui.debug(format_args!(
            "{}: {} files ({} read, {} unchanged by {}) in {:.2}s; {} shards registered, {} new{}",
            d.path,
            d.files,
            d.rehashed,
            d.reused,
            if d.trusted_cache {
                "size, mtime and inode"
            } else {
                "hash"
            },
            d.seconds,
            d.registered_shards,
            d.new_shards,
            d.matches
                .as_ref()
                .map(|m| format!("; exactly {m}"))
                .unwrap_or_default()
        ));
    }
    if let Some(d) = r.dir.as_ref().filter(|d| !d.declared_elsewhere.is_empty()) {
        ctx.ui.warn(format_args!(
            "content here that no URL or print attributes was declared by {}: a declaration \
             holds for its own version only, so it is unknown provenance here; register this \
             directory (`provtrack scan DIR --derived-from VERSION`, or `--source`) and gate \
             the version",
            d.declared_elsewhere.join(", ")
        ));
    }
    if !r.recorded {
        ctx.ui.warn(format_args!(
            "verdict not recorded in the event log: the registry is read-only"
        ));
    }
    if let Some(path) = &args.junit {
        let mut xml = Vec::new();
        output::junit::write(&r, opts.allow_unknown, &mut xml)
            .and_then(|()| std::fs::write(path, xml))
            .map_err(|e| Error::io(path, e))?;
    }
    let blocking: Vec<_> = r
        .findings
        .iter()
        .filter(|f| gate::blocks(f, opts.allow_unknown))
        .collect();
    ctx.ui.info(format_args!(
        "{}: {}{} for {} by {} on {}{}",
        if r.pass { "PASS" } else { "BLOCKED" },
        r.dataset,
        match &r.dir {
            Some(d) => match &d.matches {
                Some(m) => format!(" (exactly {m})"),
                None => format!(
                    " ({} files, {} shards new to the registry)",
                    d.files, d.new_shards
                ),
            },
            None => String::new(),
        },
        r.uses.join(", "),
        opts.org,
        opts.date,
        if r.pass {
            String::new()
        } else {
            format!(" — {} blocking finding(s)", blocking.len())
        }
    ));
    let mut sections = vec![if r.pass {
        ("result", rows::gate_pass_table(&r))
    } else {
        ("blocking", rows::gate_table(&blocking))
    }];
    if !r.obligations.is_empty() {
        sections.push(("obligations", rows::gate_obligations_table(&r)));
    }
    ctx.emit_sections(&r, &sections)?;
    Ok(if r.pass { Exit::Success } else { Exit::Blocked })
}
