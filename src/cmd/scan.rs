//! `provtrack scan DIR --dataset NAME@VER`.

use super::{Context, Exit};
use crate::attribute::UrlField;
use crate::cli::{ReadArgs, ScanArgs};
use crate::error::{Error, Result};
use crate::output::Table;
use std::sync::Arc;

use crate::scan::{
    self, Problem, ProgressSink, ReadOptions, ScanOptions, ScanSummary, Skipped, WalkOptions,
};
use crate::types::check_ident;

/// Scans and registers a dataset version and prints its summary.
pub fn run(ctx: &Context, args: ScanArgs) -> Result<Exit> {
    check_ident("org", &args.org).map_err(|m| Error::input("--org", m))?;
    let opts = ScanOptions {
        dir: args.dir,
        dataset: args.dataset,
        org: Some(args.org),
        collected: args.collected,
        declared: args.sources,
        derived_from: args.derived_from,
        actor: ctx.actor.clone(),
        read: read_options(args.read)?,
        partition: args.partition,
    };
    let mut reg = ctx.create()?;
    let bar = ctx.ui.progress_bar().map(Arc::new);
    let mut opts = opts;
    opts.read.progress = bar.clone().map(|b| b as Arc<dyn ProgressSink>);
    let result = scan::scan(reg.as_mut(), &opts);
    if let Some(b) = bar {
        b.finish();
    }
    let summary = result?;
    report_problems(ctx, &summary.skipped, &summary.problems);
    let per_source: Vec<String> = summary
        .sources
        .iter()
        .map(|(s, c)| format!("{s} {}", c.records))
        .chain(std::iter::once(format!(
            "unattributed {}",
            summary.unattributed_records
        )))
        .collect();
    let mut per_source = per_source.join(", ");
    if summary.fingerprinted > 0 {
        per_source.push_str(&format!(
            "; {} records without a URL attributed by their text print",
            summary.fingerprinted
        ));
    }
    if summary.ambiguous_prints > 0 {
        per_source.push_str(&format!(
            "; {} records left unattributed: their text print is registered under several sources",
            summary.ambiguous_prints
        ));
    }
    ctx.ui.info(format_args!(
        "{} {}: {} files ({} read, {} unchanged), {} bytes, {} records in {:.2}s ({:.2} GB/s); {}",
        summary.status,
        summary.dataset,
        summary.files,
        summary.rehashed,
        summary.reused,
        summary.bytes,
        summary.records,
        summary.seconds,
        summary.bytes as f64 / summary.seconds.max(1e-9) / 1e9,
        per_source
    ));
    if summary.no_url_field > 0 {
        ctx.ui.warn(format_args!(
            "{} shard(s) of records with no URL field: their content is unattributed; name the field with --url-field (or declare it with --source)",
            summary.no_url_field
        ));
    }
    if let Some(r) = &summary.remote {
        ctx.ui.info(format_args!("{}: {}", r.url, remote_line(r)));
    }
    ctx.ui.debug(format_args!("phases: {:?}", summary.phases));
    ctx.emit(&summary, &table(&summary))?;
    Ok(Exit::Success)
}

/// The reading flags of `scan` and `gate DIR`, checked.
pub(super) fn read_options(a: ReadArgs) -> Result<ReadOptions> {
    let url_field = if a.url_field.is_empty() {
        UrlField::default()
    } else {
        UrlField::new(&a.url_field).map_err(|m| Error::input("--url-field", m))?
    };
    let url_field = if a.no_prints {
        url_field.without_prints()
    } else if a.text_field.is_empty() {
        url_field
    } else {
        url_field
            .with_text(&a.text_field)
            .map_err(|m| Error::input("--text-field", m))?
    };
    Ok(ReadOptions {
        url_field,
        limits: crate::attribute::Limits {
            max_record_bytes: a.max_record_bytes,
            max_expansion: a.max_expansion,
        },
        jobs: a.jobs.map(usize::from),
        walk: WalkOptions {
            excludes: a.exclude,
            follow_links: a.follow_links,
            skip_unreadable: a.skip_unreadable,
            threads: 0,
            partition: None,
        },
        rehash: a.rehash,
        // scan trusts size, mtime and inode; gate DIR sets it unless --trust-cache.
        check_bytes: false,
        skip_unreadable: a.skip_unreadable,
        progress: None,
        // Loaded by the scan and gate from the registry they read.
        prints: None,
    })
}

/// Warns of skipped files and unreadable records.
pub(super) fn report_problems(ctx: &Context, skipped: &[Skipped], problems: &[Problem]) {
    for k in skipped {
        ctx.ui
            .warn(format_args!("{}: skipped: {}", k.path, k.reason));
    }
    for p in problems {
        let malformed = match p.malformed {
            0 => String::new(),
            n => format!(" ({n} malformed records)"),
        };
        match &p.error {
            Some(e) => ctx.ui.warn(format_args!("{}: {e}{malformed}", p.path)),
            None => ctx.ui.warn(format_args!(
                "{}: {} malformed records",
                p.path, p.malformed
            )),
        }
    }
}

fn table(s: &ScanSummary) -> Table {
    let mut t = Table::new(&["field", "value"]);
    let mut kv = |k: &str, v: String| t.push(vec![k.to_string(), v]);
    kv("dataset", s.dataset.to_string());
    kv("status", s.status.to_string());
    kv("root", s.root.to_hex().to_string());
    kv("files", s.files.to_string());
    kv("bytes", s.bytes.to_string());
    kv("records", s.records.to_string());
    for (src, c) in &s.sources {
        kv(
            &format!("source {src}"),
            format!("{} records, {} bytes", c.records, c.bytes),
        );
    }
    kv("unattributed_records", s.unattributed_records.to_string());
    if s.fingerprinted > 0 {
        kv("fingerprinted", s.fingerprinted.to_string());
    }
    if s.ambiguous_prints > 0 {
        kv("ambiguous_prints", s.ambiguous_prints.to_string());
    }
    if !s.problems.is_empty() {
        kv("problems", s.problems.len().to_string());
    }
    if s.no_url_field > 0 {
        kv(
            "no_url_field",
            format!("{} shards (see --url-field)", s.no_url_field),
        );
    }
    if !s.skipped.is_empty() {
        kv("skipped", s.skipped.len().to_string());
    }
    if let Some(r) = &s.remote {
        kv("objects", remote_line(r));
    }
    t
}

/// What reading an object-storage prefix did, on one line.
pub(super) fn remote_line(r: &scan::RemoteFacts) -> String {
    let mut line = format!(
        "{} listed, {} fetched ({} bytes streamed), {} unchanged by key, size, last-modified and ETag",
        r.listed,
        r.fetched,
        r.streamed_bytes,
        r.listed.saturating_sub(r.fetched)
    );
    if r.ranged_objects > 0 {
        line.push_str(&format!(
            "; Parquet attributed by range: {} bytes in {} requests for {} objects of {} bytes",
            r.ranged_bytes, r.ranged_requests, r.ranged_objects, r.ranged_object_bytes
        ));
    }
    line
}
