//! `provtrack train MODEL --org O --date D --dataset D@V...`.

use super::{Context, Exit};
use crate::cli::TrainArgs;
use crate::error::Result;
use crate::output::Table;
use crate::registry::EventDraft;
use crate::training;

/// Records a training run.
pub fn run(ctx: &Context, args: TrainArgs) -> Result<Exit> {
    let run = training::run(args.model, args.org, args.date, args.datasets, &args.uses)
        .map_err(super::invalid_run)?;
    let mut reg = ctx.open()?;
    for d in &run.datasets {
        match reg.dataset(d)? {
            None => ctx.ui.warn(format_args!(
                "dataset {d} is not registered yet; the report will flag it until it is scanned"
            )),
            Some(info) if info.retracted.is_some() => ctx.ui.warn(format_args!(
                "dataset {d} is retracted; the report will flag this run's training on it"
            )),
            Some(_) => {}
        }
    }
    let event = EventDraft {
        actor: ctx.actor.clone(),
        kind: "train".into(),
        payload: serde_json::to_value(&run).unwrap_or_default(),
    };
    reg.record_training(&run, &event)?;
    let mut t = Table::new(&["model", "org", "date", "datasets", "uses"]);
    t.push(vec![
        run.model.clone(),
        run.org.clone(),
        run.date.to_string(),
        run.datasets
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        run.uses.join(" "),
    ]);
    ctx.emit(&run, &t)?;
    Ok(Exit::Success)
}
