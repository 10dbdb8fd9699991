//! The bundled sample story: the files under `samples/` (embedded at build time), the scans
//! that register them, and a runner that replays apply → scan → report in a registry of the
//! caller's choosing, through the same library calls as the CLI.

use std::path::Path;

use crate::error::{Error, Result};
use crate::output::Ui;
use crate::policy;
use crate::registry::Registry;
use crate::report::{self, Filter, Report};
use crate::scan::{self, ScanOptions};
use crate::verdict::Rules;

include!(concat!(env!("OUT_DIR"), "/samples.rs"));

/// One scan of the story.
#[derive(Clone, Copy, Debug)]
pub struct DemoScan {
    /// Directory below `samples/datasets/`.
    pub dir: &'static str,
    /// NAME@VERSION.
    pub dataset: &'static str,
    /// Collection date.
    pub collected: &'static str,
    /// Declared sources.
    pub sources: &'static [&'static str],
}

/// The org of the story.
pub const ORG: &str = "acme";

/// The scans, in order.
pub const SCANS: &[DemoScan] = &[
    DemoScan {
        dir: "tw-pull",
        dataset: "tw-pull@2022-03",
        collected: "2022-03-15",
        sources: &[],
    },
    DemoScan {
        dir: "web-mix",
        dataset: "web-mix@2022",
        collected: "2022-10-01",
        sources: &[],
    },
    DemoScan {
        dir: "getty",
        dataset: "getty-images@2021",
        collected: "2021-06-01",
        sources: &["getty-images"],
    },
];

/// Writes the embedded samples below `dir`.
pub fn materialise(dir: &Path) -> Result<()> {
    for (rel, bytes) in SAMPLE_FILES {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// Replays the story into `reg` from samples materialised at `samples`, and returns the
/// report. Each step is announced on stderr as the equivalent command.
pub fn replay(reg: &mut dyn Registry, samples: &Path, ui: Ui, actor: &str) -> Result<Report> {
    let policy_path = samples.join("policy.toml");
    ui.info("$ provtrack apply samples/policy.toml");
    policy::apply_file(reg, &policy_path, actor)?;
    for s in SCANS {
        let mut cmd = format!(
            "$ provtrack scan samples/datasets/{} --dataset {} --org {ORG} --collected {}",
            s.dir, s.dataset, s.collected
        );
        for src in s.sources {
            cmd.push_str(&format!(" --source {src}"));
        }
        ui.info(&cmd);
        let opts = ScanOptions {
            dir: samples.join("datasets").join(s.dir),
            dataset: s
                .dataset
                .parse()
                .map_err(|m: String| Error::input("demo", m))?,
            org: Some(ORG.into()),
            collected: s
                .collected
                .parse()
                .map_err(|m: String| Error::input("demo", m))?,
            declared: s.sources.iter().map(|x| x.to_string()).collect(),
            derived_from: Vec::new(),
            actor: actor.into(),
            read: Default::default(),
            partition: None,
        };
        let summary = scan::scan(reg, &opts)?;
        let per_source: Vec<String> = summary
            .sources
            .iter()
            .map(|(k, v)| format!("{k} {}", v.records))
            .collect();
        ui.info(format_args!(
            "  {} files, {} records: {}; unattributed {}",
            summary.files,
            summary.records,
            per_source.join(", "),
            summary.unattributed_records
        ));
    }
    ui.info("$ provtrack report");
    report::build(&*reg, &Filter::default(), Rules::default())
}
