//! `provtrack optout import FILE...` and `optout list`: rights reservations as dated
//! evidence, each shown with what it covers for the policy's crawlers.

use std::path::PathBuf;

use serde::Serialize;

use super::{Context, Exit};
use crate::error::Result;
use crate::optout::{self, Given};
use crate::output::Table;
use crate::registry::EventDraft;
use crate::rights::{self, Coverage, Reservation};
use crate::types::Date;

/// One reservation as listed.
#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    reservation: &'a Reservation,
    /// What it covers for the crawlers: `host`, `paths` or `nothing`.
    covers: &'static str,
    /// The agent whose group decides, and the reserved paths when path-level.
    agent: Option<String>,
    paths: Vec<String>,
}

fn row<'a>(r: &'a Reservation, agents: &[String]) -> Row<'a> {
    let (covers, agent, paths) = match rights::coverage(r, agents) {
        Coverage::Host { agent } => ("host", Some(agent), vec!["/".to_string()]),
        Coverage::Paths { agent, paths } => ("paths", Some(agent), paths),
        Coverage::Nothing => ("nothing", None, Vec::new()),
    };
    Row {
        reservation: r,
        covers,
        agent,
        paths,
    }
}

fn table(rows: &[Row<'_>]) -> Table {
    let mut t = Table::new(&[
        "host", "date", "protocol", "covers", "agent", "paths", "file",
    ]);
    for r in rows {
        let res = r.reservation;
        t.push(vec![
            res.host.clone(),
            res.date.to_string(),
            res.protocol.to_string(),
            r.covers.to_string(),
            r.agent.clone().unwrap_or_else(|| "-".into()),
            if r.paths.is_empty() {
                "-".into()
            } else {
                r.paths.join(" ")
            },
            res.origin.clone(),
        ]);
    }
    t
}

/// Reads every file (all or nothing), then stores their reservations with one event.
pub fn import(
    ctx: &Context,
    files: &[PathBuf],
    host: Option<String>,
    fetched: Option<Date>,
) -> Result<Exit> {
    let mut reg = ctx.open()?;
    let given = Given { host, fetched };
    let mut read = Vec::with_capacity(files.len());
    for f in files {
        read.push(optout::read(f, &given)?);
    }
    let all: Vec<Reservation> = read
        .iter()
        .flat_map(|f| f.reservations.iter().cloned())
        .collect();
    let event = EventDraft {
        actor: ctx.actor.clone(),
        kind: "optout-import".into(),
        payload: serde_json::json!({
            "files": read.iter().map(|f| serde_json::json!({
                "file": f.file,
                "protocol": f.protocol,
                "blake3": f.blake3,
                "reservations": f.reservations.len(),
                "unreserved_rules": f.unreserved,
            })).collect::<Vec<_>>(),
            "reservations": all.len(),
        }),
    };
    let new = reg.import_optouts(&all, &event)?;
    let crawlers = reg.crawlers()?;
    if crawlers.is_empty() {
        ctx.ui.warn(format_args!(
            "the policy names no [[crawler]]: robots.txt files are judged for the '*' group only"
        ));
    }
    for f in read.iter().filter(|f| f.unreserved > 0) {
        ctx.ui.info(format_args!(
            "{}: {} rule(s) with tdm-reservation 0 reserve nothing",
            f.file, f.unreserved
        ));
    }
    let agents = rights::agents(&crawlers);
    let rows: Vec<Row<'_>> = all.iter().map(|r| row(r, &agents)).collect();
    ctx.ui.info(format_args!(
        "{} reservation(s) from {} file(s), {new} new",
        all.len(),
        read.len()
    ));
    ctx.emit(
        &serde_json::json!({ "reservations": rows, "new": new }),
        &table(&rows),
    )?;
    Ok(Exit::Success)
}

/// Lists the recorded reservations.
pub fn list(ctx: &Context) -> Result<Exit> {
    let reg = ctx.open()?;
    let all = reg.optouts()?;
    if all.is_empty() {
        ctx.ui.info(format_args!(
            "no reservation recorded (optout import): opt-outs are not judged"
        ));
    }
    let agents = rights::agents(&reg.crawlers()?);
    let rows: Vec<Row<'_>> = all.iter().map(|r| row(r, &agents)).collect();
    ctx.emit(&serde_json::json!({ "reservations": rows }), &table(&rows))?;
    Ok(Exit::Success)
}
