//! What the shared workflows ([`super::write`], [`super::read`]) need of a backend: a
//! connection or transaction that runs SQL with [`Param`]s and answers [`Rows`] of
//! [`Value`]s, the few dialect hooks (chain lock, row locks, bulk shard and member paths,
//! bulk copy). [`super::backend::Backend`] hands these out.
//!
//! The shared SQL is written once with `?1`-style placeholders and only those: PostgreSQL
//! reads them as `$1` (see [`dollar`]), SQLite as they are. It uses only what both dialects
//! accept (`ON CONFLICT … DO NOTHING`, `CAST(… AS BIGINT)`, `||`).

use super::error::Result;
use super::{Member, RegistryError, Value};
use crate::types::{DatasetRef, Date};

/// A parameter of a statement, borrowed from the caller.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a> {
    /// NULL (of whatever type the statement wants there).
    Null,
    /// An integer.
    Int(i64),
    /// A boolean (an integer 0/1 in SQLite).
    Bool(bool),
    /// Text.
    Text(&'a str),
    /// Bytes.
    Blob(&'a [u8]),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}

impl From<u64> for Param<'_> {
    fn from(v: u64) -> Self {
        // Counts and sizes beyond i64::MAX (8 EiB) do not occur; saturate rather than wrap.
        Param::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<u32> for Param<'_> {
    fn from(v: u32) -> Self {
        Param::Int(i64::from(v))
    }
}

impl From<bool> for Param<'_> {
    fn from(v: bool) -> Self {
        Param::Bool(v)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a [u8]> for Param<'a> {
    fn from(v: &'a [u8]) -> Self {
        Param::Blob(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Param<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Param::Blob(v)
    }
}

impl<'a> From<&'a blake3::Hash> for Param<'a> {
    fn from(v: &'a blake3::Hash) -> Self {
        Param::Blob(v.as_bytes())
    }
}

impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        v.as_deref().map_or(Param::Null, Param::Text)
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        v.map_or(Param::Null, Param::Text)
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Param::Null, Param::Int)
    }
}

/// `[Param; N]` from expressions that convert into one.
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        &[$($crate::registry::conn::Param::from($p)),*]
    };
}
pub(crate) use params;

/// The answer of a query: its rows, and where they came from for error messages.
pub struct Rows {
    rows: Vec<Vec<Value>>,
    location: String,
    what: String,
}

impl Rows {
    /// Rows read at `location` while doing `what`.
    pub fn new(rows: Vec<Vec<Value>>, location: &str, what: &str) -> Rows {
        Rows {
            rows,
            location: location.to_string(),
            what: what.to_string(),
        }
    }

    /// Each row.
    pub fn iter(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|vals| Row { vals, of: self })
    }

    /// The first row, if any.
    pub fn first(&self) -> Option<Row<'_>> {
        self.iter().next()
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The rows as values.
    pub fn into_values(self) -> Vec<Vec<Value>> {
        self.rows
    }
}

/// One row of [`Rows`], read by column index into the registry's types.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    vals: &'a [Value],
    of: &'a Rows,
}

impl<'a> Row<'a> {
    /// The error for column `k` holding something the registry cannot have written.
    pub fn bad(&self, k: usize, what: &str) -> RegistryError {
        RegistryError::Backend {
            location: self.of.location.clone(),
            context: self.of.what.clone(),
            source: format!("column {k}: {what}").into(),
        }
    }

    fn value(&self, k: usize) -> &'a Value {
        self.vals.get(k).unwrap_or(&Value::Null)
    }

    /// An integer column.
    pub fn int(&self, k: usize) -> Result<i64> {
        match self.value(k) {
            Value::Int(v) => Ok(*v),
            _ => Err(self.bad(k, "not an integer")),
        }
    }

    /// A nullable integer column.
    pub fn opt_int(&self, k: usize) -> Result<Option<i64>> {
        match self.value(k) {
            Value::Null => Ok(None),
            _ => self.int(k).map(Some),
        }
    }

    /// A count or size (negative values read as 0).
    pub fn count(&self, k: usize) -> Result<u64> {
        Ok(self.int(k)?.max(0) as u64)
    }

    /// A boolean column (an integer in SQLite).
    pub fn flag(&self, k: usize) -> Result<bool> {
        Ok(self.int(k)? != 0)
    }

    /// A nullable text column.
    pub fn opt_text(&self, k: usize) -> Result<Option<String>> {
        match self.value(k) {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            _ => Err(self.bad(k, "not text")),
        }
    }

    /// A text column.
    pub fn text(&self, k: usize) -> Result<String> {
        self.opt_text(k)?.ok_or_else(|| self.bad(k, "NULL"))
    }

    /// A blob column.
    pub fn blob(&self, k: usize) -> Result<&'a [u8]> {
        match self.value(k) {
            Value::Blob(b) => Ok(b),
            _ => Err(self.bad(k, "not bytes")),
        }
    }

    /// A BLAKE3 hash column.
    pub fn hash(&self, k: usize) -> Result<blake3::Hash> {
        let b = self.blob(k)?;
        let arr: [u8; 32] = b
            .try_into()
            .map_err(|_| self.bad(k, &format!("hash of {} bytes, not 32", b.len())))?;
        Ok(blake3::Hash::from_bytes(arr))
    }

    /// A date column (`YYYY-MM-DD`).
    pub fn date(&self, k: usize) -> Result<Date> {
        self.text(k)?.parse().map_err(|e: String| self.bad(k, &e))
    }

    /// A `NAME@VERSION` column.
    pub fn dataset(&self, k: usize) -> Result<DatasetRef> {
        self.text(k)?.parse().map_err(|e: String| self.bad(k, &e))
    }
}

/// What [`Conn::store_shards`] did.
#[derive(Debug)]
pub struct StoredShards {
    /// Each member's shard id, in the members' order.
    pub ids: Vec<i64>,
    /// How many already known shards had attributions this scan did not find (same bytes,
    /// same provenance).
    pub inherited: u64,
    /// The ids of the shards that were stored before this call (sorted, each once): only
    /// these can already have rows of their own (prints, hosts).
    pub known: Vec<i64>,
}

impl StoredShards {
    /// Whether every shard was stored by this call (none was known before): the version's
    /// totals are then exactly what the scan found.
    pub fn all_new(&self) -> bool {
        self.known.is_empty()
    }

    /// Whether shard `id` was stored before this call.
    pub fn was_known(&self, id: i64) -> bool {
        self.known.binary_search(&id).is_ok()
    }
}

/// Whose members [`Conn::write_members`] writes.
#[derive(Clone, Copy, Debug)]
pub enum Owner {
    /// A published version's (`dataset_shards`, with the `dup` mark).
    Dataset(i64),
    /// A staged part's (`dataset_part_shards`).
    Part(i64),
}

/// A connection, or a transaction on one, as the shared workflows use it.
pub trait Conn {
    /// The registry's location, as shown in messages.
    fn location(&self) -> &str;
    /// Runs a statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Param<'_>], what: &str) -> Result<u64>;
    /// Runs a query.
    fn query(&mut self, sql: &str, params: &[Param<'_>], what: &str) -> Result<Rows>;
    /// Runs an `INSERT` (written without `RETURNING`) and answers the new row's `id`.
    fn insert_id(&mut self, sql: &str, params: &[Param<'_>], what: &str) -> Result<i64>;
    /// `clause` (`FOR UPDATE…`) where rows read in a transaction must be locked against
    /// concurrent writers, or nothing where the whole database is (SQLite).
    fn row_lock(&self, clause: &'static str) -> &'static str;
    /// Serialises appends to the event chain until the transaction ends.
    fn lock_chain(&mut self) -> Result<()>;
    /// Stores the members' shards and attributions (the bulk path): the same bytes are one
    /// shard, whose stored attributions are kept and added to, and the smaller unattributed
    /// count wins. Answers each member's shard id and what was already known.
    fn store_shards(&mut self, members: &[Member]) -> Result<StoredShards>;
    /// Writes members (path, shard id) of a version or a staged part.
    fn write_members(&mut self, owner: Owner, members: &[(&[u8], i64)]) -> Result<()>;
    /// Inserts exported rows verbatim into `table` (already checked against the list).
    fn insert_rows(&mut self, table: &str, columns: &[&str], rows: &[Vec<Value>]) -> Result<()>;
    /// After a copy: generated ids continue past the copied ones.
    fn continue_ids(&mut self) -> Result<()>;
}

/// `?N` placeholders as PostgreSQL's `$N` (the shared SQL has no other `?`).
#[cfg(feature = "postgres")]
pub fn dollar(sql: &str) -> String {
    sql.replace('?', "$")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "postgres")]
    #[test]
    fn placeholders_read_as_postgres_numbers() {
        assert_eq!(
            dollar("SELECT id FROM t WHERE a = ?1 AND b = ?12 OR c = ?1"),
            "SELECT id FROM t WHERE a = $1 AND b = $12 OR c = $1"
        );
    }

    #[test]
    fn rows_read_typed_columns_and_name_a_bad_one() {
        let hash = blake3::hash(b"x");
        let rows = Rows::new(
            vec![vec![
                Value::Int(-3),
                Value::Text("2024-02-29".into()),
                Value::Blob(hash.as_bytes().to_vec()),
                Value::Null,
                Value::Text("web@1".into()),
                Value::Blob(vec![1, 2]),
            ]],
            "reg.db",
            "read things",
        );
        let r = rows.first().unwrap();
        assert_eq!(r.int(0).unwrap(), -3);
        assert_eq!(r.count(0).unwrap(), 0);
        assert_eq!(r.date(1).unwrap().to_string(), "2024-02-29");
        assert_eq!(r.hash(2).unwrap(), hash);
        assert_eq!(r.opt_text(3).unwrap(), None);
        assert_eq!(r.opt_int(3).unwrap(), None);
        assert_eq!(r.dataset(4).unwrap().to_string(), "web@1");
        assert_eq!(
            r.hash(5).unwrap_err().to_string(),
            "registry reg.db: read things: column 5: hash of 2 bytes, not 32"
        );
        assert!(r.text(3).is_err());
    }

    #[test]
    fn params_convert_from_the_models_fields() {
        let org = Some("acme".to_string());
        let none: Option<String> = None;
        let p: &[Param<'_>] = params![&org, &none, 7u64, true, "x", b"ab".as_slice()];
        assert!(matches!(
            p,
            [
                Param::Text("acme"),
                Param::Null,
                Param::Int(7),
                Param::Bool(true),
                Param::Text("x"),
                Param::Blob(b"ab"),
            ]
        ));
        assert!(matches!(Param::from(u64::MAX), Param::Int(i64::MAX)));
    }
}
