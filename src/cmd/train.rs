//! `provtrack train MODEL --org O --date D --dataset D@V...`.

use super::{Context, Exit};
use crate::cli::TrainArgs;
use crate::error::{Error, Result};
use crate::licence::AI_TRAINING;
use crate::output::Table;
use crate::registry::{EventDraft, TrainingRun};
use crate::types::{check_ident, check_use};

/// Records a training run.
pub fn run(ctx: &Context, args: TrainArgs) -> Result<Exit> {
    check_ident("model", &args.model).map_err(|m| Error::input("MODEL", m))?;
    check_ident("org", &args.org).map_err(|m| Error::input("--org", m))?;
    let mut uses = vec![AI_TRAINING.to_string()];
    for u in args.uses {
        check_use(&u).map_err(|m| Error::input("--use", m))?;
        if !uses.contains(&u) {
            uses.push(u);
        }
    }
    let mut datasets = Vec::new();
    for d in args.datasets {
        if !datasets.contains(&d) {
            datasets.push(d);
        }
    }
    let run = TrainingRun {
        model: args.model,
        org: args.org,
        date: args.date,
        datasets,
        uses,
    };
    let mut reg = ctx.open()?;
    for d in &run.datasets {
        if reg.dataset(d)?.is_none() {
            ctx.ui.warn(format_args!(
                "dataset {d} is not registered yet; the report will flag it until it is scanned"
            ));
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
