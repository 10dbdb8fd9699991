//! `provtrack verify`.

use super::{Context, Exit};
use crate::checkpoint::{self, Checkpoint};
use crate::cli::VerifyArgs;
use crate::error::{Error, Result};
use crate::output::Table;
use crate::verify::{self, Anchors};

/// Verifies the registry; exit 1 on any mismatch.
pub fn run(ctx: &Context, args: VerifyArgs) -> Result<Exit> {
    // Anchors are read and validated before the registry is opened: a malformed hash, key
    // or checkpoint is an input error (exit 2), never a mismatch.
    let expect_head = match args.expect_head.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(h) => Some(checkpoint::head_prefix(h).ok_or_else(|| {
            Error::input(
                "--expect-head",
                format!("{h:?} is not a chain hash (64 hex digits, or a prefix of at least 8)"),
            )
        })?),
    };
    let anchor = match (&args.checkpoint, &args.key) {
        (Some(cp_path), Some(key_path)) => {
            let key_place = key_path.display().to_string();
            let key = checkpoint::parse_public(&checkpoint::read_small(key_path)?, &key_place)?;
            let label = cp_path.display().to_string();
            let cp = Checkpoint::parse(&checkpoint::read_small(cp_path)?, &label)?;
            Some((cp, key, label))
        }
        _ => None,
    };
    let anchors = Anchors {
        expect_head: expect_head.as_deref(),
        checkpoint: anchor
            .as_ref()
            .map(|(cp, key, label)| (cp, key, label.as_str())),
    };
    let path = args.path.as_deref();
    let reg = ctx.open()?;
    let v = verify::verify(reg.as_ref(), args.dataset.as_ref(), path, &anchors)?;
    // The verdict and the chain head are results an auditor records: on stdout, first.
    let mut summary = Table::new(&[
        "result",
        "events",
        "datasets",
        "files",
        "chain head",
        "state root",
    ]);
    summary.push(vec![
        if v.ok { "intact" } else { "MISMATCH" }.into(),
        v.events.to_string(),
        v.datasets.to_string(),
        if path.is_some() {
            v.files.to_string()
        } else {
            "-".into()
        },
        v.chain_head.clone(),
        // Never a silent pass: a head no state was committed to is said to be unchecked.
        if v.state_checked {
            v.state_root.clone()
        } else {
            "unchecked: the last event predates state digests".into()
        },
    ]);
    let mut sections = vec![("verify", summary)];
    if !v.anchors.is_empty() {
        let mut a = Table::new(&["anchor", "subject", "at event", "holds"]);
        for c in &v.anchors {
            a.push(vec![
                c.check.into(),
                c.subject.clone(),
                c.seq.map_or_else(|| "-".into(), |s| s.to_string()),
                if c.ok { "yes" } else { "NO" }.into(),
            ]);
        }
        sections.push(("anchors", a));
    }
    if !v.mismatches.is_empty() {
        let mut t = Table::new(&["check", "subject", "detail"]);
        for m in &v.mismatches {
            t.push(vec![m.check.into(), m.subject.clone(), m.detail.clone()]);
        }
        sections.push(("mismatches", t));
    }
    ctx.emit_sections(&v, &sections)?;
    Ok(if v.ok { Exit::Success } else { Exit::Blocked })
}
