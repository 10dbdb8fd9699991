//! The self-contained HTML report for auditors (not built yet).

use crate::error::{Error, Result};
use crate::registry::Registry;

/// A built page and what it shows.
pub struct Page {
    /// The HTML text.
    pub html: String,
    /// Findings in its table.
    pub findings: usize,
    /// SVG charts in it.
    pub charts: usize,
}

/// Builds the report page (not built yet).
pub fn build(_reg: &dyn Registry, _now: &str) -> Result<Page> {
    Err(Error::input("html-report", "not built yet"))
}
