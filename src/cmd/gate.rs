//! `provtrack gate --dataset D@V --use U... --org O`.

use super::{Context, Exit};
use crate::cli::GateArgs;
use crate::error::{Error, Result};
use crate::gate::{self, GateOptions};
use crate::output::Table;
use crate::types::{Date, check_ident, check_use};

/// Runs the gate: exit 0 pass, 1 blocked.
pub fn run(ctx: &Context, args: GateArgs) -> Result<Exit> {
    if args.dir.is_some() {
        return Err(Error::input(
            "gate DIR",
            "checking an unregistered directory is not built yet; scan it and use --dataset",
        ));
    }
    let dataset = args
        .dataset
        .ok_or_else(|| Error::input("gate", "--dataset NAME@VERSION is required"))?;
    check_ident("org", &args.org).map_err(|m| Error::input("--org", m))?;
    for u in &args.uses {
        check_use(u).map_err(|m| Error::input("--use", m))?;
    }
    let opts = GateOptions {
        dataset,
        uses: args.uses,
        org: args.org,
        date: args.date.unwrap_or_else(Date::today),
        allow_unknown: args.allow_unknown,
        actor: ctx.actor.clone(),
    };
    let mut reg = ctx.open()?;
    let r = gate::gate_dataset(reg.as_mut(), &opts)?;
    if let Some(path) = &args.junit {
        std::fs::write(path, gate::junit(&r, opts.allow_unknown))
            .map_err(|e| Error::io(path, e))?;
    }
    let blocking: Vec<_> = r
        .findings
        .iter()
        .filter(|f| gate::blocks(f, opts.allow_unknown))
        .collect();
    ctx.ui.info(format_args!(
        "{}: {} for {} by {} on {}{}",
        if r.pass { "PASS" } else { "BLOCKED" },
        r.dataset,
        r.uses.join(", "),
        opts.org,
        opts.date,
        if r.pass {
            String::new()
        } else {
            format!(" — {} blocking finding(s)", blocking.len())
        }
    ));
    let mut t = Table::new(&[
        "verdict", "use", "source", "licence", "records", "detail", "to pass",
    ])
    .verdicts_in(0);
    for f in &blocking {
        t.push(vec![
            f.verdict.code().into(),
            f.use_.clone(),
            f.source.clone().unwrap_or_else(|| "-".into()),
            f.licence.clone().unwrap_or_else(|| "-".into()),
            f.records.to_string(),
            f.detail.clone(),
            gate::remedy(f.verdict).into(),
        ]);
    }
    ctx.emit(&r, &t)?;
    Ok(if r.pass { Exit::Success } else { Exit::Blocked })
}
