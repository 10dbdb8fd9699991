//! `provtrack summary MODEL --template eu-ai-act`: the AI Act public summary of a model's
//! training content, as Markdown (the default), JSON or HTML.

use super::{Context, Exit};
use crate::cli::SummaryArgs;
use crate::error::{Error, Result};
use crate::export::ai_act;
use crate::output::OutputFormat;
use crate::summary;

/// Builds and prints the summary.
pub fn run(ctx: &Context, args: SummaryArgs) -> Result<Exit> {
    let reg = ctx.open()?;
    let s = summary::build(&*reg, &args.model)?;
    let text = match ctx.format {
        OutputFormat::Json => {
            let mut t = serde_json::to_string_pretty(&s).unwrap_or_default();
            t.push('\n');
            t
        }
        OutputFormat::Html => ai_act::html(&s),
        OutputFormat::Md | OutputFormat::Table => ai_act::markdown(&s),
        _ => {
            return Err(Error::input(
                "--format",
                "summary is written as md (the default), json or html",
            ));
        }
    };
    ctx.emit_text(&text)?;
    Ok(Exit::Success)
}
