//! `provtrack key new --out FILE`.

use std::path::Path;

use serde::Serialize;

use super::{Context, Exit};
use crate::checkpoint;
use crate::error::Result;
use crate::output::Table;

/// What `key new` wrote.
#[derive(Serialize)]
struct NewKey {
    key_id: String,
    private_key: String,
    public_key: String,
}

/// Writes a new key pair: FILE (private, 0600) and FILE.pub. Opens no registry.
pub fn new(ctx: &Context, out: &Path) -> Result<Exit> {
    let key = checkpoint::generate()?;
    let public = checkpoint::write_new_pair(out, &key)?;
    let r = NewKey {
        key_id: checkpoint::key_id(&public),
        private_key: out.display().to_string(),
        public_key: checkpoint::public_path(out).display().to_string(),
    };
    ctx.ui.info(format_args!(
        "keep {} secret and outside the registry; give auditors {}",
        r.private_key, r.public_key
    ));
    let mut t = Table::new(&["key id", "private key", "public key"]);
    t.push(vec![
        r.key_id.clone(),
        r.private_key.clone(),
        r.public_key.clone(),
    ]);
    ctx.emit(&r, &t)?;
    Ok(Exit::Success)
}
