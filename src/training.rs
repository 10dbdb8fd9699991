//! The rules of a training run, written once for the run `train` records and the run `gate`
//! plans: the model and org are identifiers, the uses are kebab-case words with
//! `ai-training` always first and each use once, and each dataset is listed once.

use crate::licence::AI_TRAINING;
use crate::types::{DatasetRef, Date, check_ident, check_use};
use crate::values::TrainingRun;

/// The model name of a run that `gate` evaluates but nobody has recorded.
pub const PLANNED_MODEL: &str = "(planned run)";

/// Which part of a run's description is wrong, so the caller can point at its own field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The model name.
    Model,
    /// The training org.
    Org,
    /// One of the uses.
    Use,
}

/// A wrong part of a run's description, and why.
pub type Invalid = (Part, String);

/// The uses of a training run: `ai-training` first, then each use given, once, in order.
pub fn uses(given: &[String]) -> Result<Vec<String>, Invalid> {
    let mut uses = vec![AI_TRAINING.to_string()];
    for u in given {
        check_use(u).map_err(|m| (Part::Use, m))?;
        if !uses.contains(u) {
            uses.push(u.clone());
        }
    }
    Ok(uses)
}

/// Checks the org that trains.
pub fn check_org(org: &str) -> Result<(), Invalid> {
    check_ident("org", org).map_err(|m| (Part::Org, m))
}

/// A recorded run: `model` trained by `org` on `date`, on each of `datasets` once.
pub fn run(
    model: String,
    org: String,
    date: Date,
    datasets: Vec<DatasetRef>,
    given_uses: &[String],
) -> Result<TrainingRun, Invalid> {
    check_ident("model", &model).map_err(|m| (Part::Model, m))?;
    check_org(&org)?;
    let uses = uses(given_uses)?;
    let mut unique = Vec::with_capacity(datasets.len());
    for d in datasets {
        if !unique.contains(&d) {
            unique.push(d);
        }
    }
    Ok(TrainingRun {
        model,
        org,
        date,
        datasets: unique,
        uses,
    })
}

/// The run `gate` evaluates: one dataset, no recorded model.
pub fn planned(
    org: &str,
    date: Date,
    dataset: DatasetRef,
    given_uses: &[String],
) -> Result<TrainingRun, Invalid> {
    check_org(org)?;
    Ok(TrainingRun {
        model: PLANNED_MODEL.into(),
        org: org.to_string(),
        date,
        datasets: vec![dataset],
        uses: uses(given_uses)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date() -> Date {
        "2023-03-01".parse().unwrap()
    }

    fn d(s: &str) -> DatasetRef {
        s.parse().unwrap()
    }

    #[test]
    fn ai_training_comes_first_and_uses_once() {
        let given = ["commercial", "ai-training", "commercial"].map(String::from);
        assert_eq!(uses(&given).unwrap(), ["ai-training", "commercial"]);
        assert_eq!(uses(&[]).unwrap(), ["ai-training"]);
        assert_eq!(uses(&["Bad Use".into()]).unwrap_err().0, Part::Use);
    }

    #[test]
    fn a_recorded_run_lists_each_dataset_once() {
        let r = run(
            "m1".into(),
            "acme".into(),
            date(),
            vec![d("a@1"), d("b@1"), d("a@1")],
            &["research".into()],
        )
        .unwrap();
        assert_eq!(r.datasets, [d("a@1"), d("b@1")]);
        assert_eq!(r.uses, ["ai-training", "research"]);
        let bad = |model: &str, org: &str| {
            run(model.into(), org.into(), date(), vec![], &[])
                .unwrap_err()
                .0
        };
        assert_eq!(bad("m\x1b", "acme"), Part::Model);
        assert_eq!(bad("m", "ac me"), Part::Org);
    }

    #[test]
    fn a_planned_run_has_no_model() {
        let r = planned("acme", date(), d("a@1"), &["commercial".into()]).unwrap();
        assert_eq!(r.model, PLANNED_MODEL);
        assert_eq!(r.datasets, [d("a@1")]);
        assert_eq!(r.uses, ["ai-training", "commercial"]);
        assert_eq!(planned("", date(), d("a@1"), &[]).unwrap_err().0, Part::Org);
    }
}
