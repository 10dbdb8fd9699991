//! `provtrack export D@V --format spdx3|cyclonedx [--out FILE]`.

use std::io::Write;
use std::path::Path;

use super::{Context, Exit};
use crate::error::{Error, Result};
use crate::export::{self, cyclonedx, spdx};
use crate::output::OutputFormat;
use crate::types::{DatasetRef, utc_now_rfc3339};

/// Writes the bill of materials of one dataset version to stdout or `out`.
pub fn run(ctx: &Context, dataset: &DatasetRef, out: Option<&Path>) -> Result<Exit> {
    // Checked before the registry is opened, so a wrong format costs nothing.
    if !ctx.format.is_export() {
        return Err(Error::input(
            "--format",
            "export writes --format spdx3 (SPDX 3.0 JSON-LD) or --format cyclonedx (CycloneDX 1.6 JSON)",
        ));
    }
    let reg = ctx.open()?;
    let bom = export::gather(reg.as_ref(), dataset)?;
    let created = utc_now_rfc3339();
    let (doc, what) = match ctx.format {
        OutputFormat::Spdx3 => (spdx::document(&bom, &created), "SPDX 3.0.1 JSON-LD"),
        _ => (cyclonedx::bom(&bom, &created), "CycloneDX 1.6 JSON"),
    };
    let mut text = serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::input(dataset.to_string(), format!("cannot serialise: {e}")))?;
    text.push('\n');
    match out {
        Some(path) => write_atomically(path, text.as_bytes())?,
        None => ctx.emit_text(&text)?,
    }
    ctx.ui.info(format_args!(
        "{what} of {}: {} files, {} sources, {} models, {} findings{}",
        bom.info.dataset,
        bom.files.len(),
        bom.sources.len(),
        bom.models.len(),
        bom.findings.len(),
        out.map(|p| format!(" written to {}", p.display()))
            .unwrap_or_default()
    ));
    Ok(Exit::Success)
}

/// Writes `bytes` to `path` through a temporary file in the same directory, so a reader
/// never sees half a file and a failure leaves any previous file as it was.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(path, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.flush())
        .map_err(|e| Error::io(path, e))?;
    // A temporary file is private (0600); the result is an ordinary file to share.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io(path, e))?;
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}
