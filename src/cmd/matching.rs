//! `provtrack match FILE...`.

use super::{Context, Exit};
use crate::attribute::UrlField;
use crate::cli::MatchArgs;
use crate::error::{Error, Result};
use crate::membership;
use crate::output::Table;

/// Prints which registered versions hold the items of the files.
pub fn run(ctx: &Context, args: MatchArgs) -> Result<Exit> {
    let mut field = if args.url_field.is_empty() {
        UrlField::default()
    } else {
        UrlField::new(&args.url_field).map_err(|m| Error::input("--url-field", m))?
    };
    if !args.text_field.is_empty() {
        field = field
            .with_text(&args.text_field)
            .map_err(|m| Error::input("--text-field", m))?;
    }
    let reg = ctx.open()?;
    let r = membership::run(reg.as_ref(), &args.files, args.by, &field)?;
    if r.registered == 0 {
        // Not an all-clear: nothing was there to compare with.
        return Err(Error::input(
            "match",
            format!(
                "no registered shard has {} prints: nothing can be matched (scan the datasets with this provtrack first)",
                r.by
            ),
        ));
    }
    ctx.ui.info(format_args!(
        "{} of {} items found (by {}) in {} dataset versions, {} not found; {} input records had no {}; {} registered records compared",
        r.found,
        r.items,
        r.by,
        r.versions.len(),
        r.not_found,
        r.unprintable,
        r.by,
        r.registered
    ));
    let table = if args.items {
        let mut t = Table::new(&["item", "datasets"]);
        for i in &r.found_items {
            let ds: Vec<String> = i.datasets.iter().map(ToString::to_string).collect();
            t.push(vec![i.item.clone(), ds.join(" ")]);
        }
        t
    } else {
        let mut t = Table::new(&["dataset", "items", "sources", "models", "applications"]);
        for v in &r.versions {
            t.push(vec![
                v.dataset.to_string(),
                v.items.to_string(),
                v.sources.join(" "),
                v.models.join(" "),
                v.applications.join(" "),
            ]);
        }
        t
    };
    ctx.emit(&r, &table)?;
    Ok(Exit::Success)
}
