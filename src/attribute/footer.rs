//! A Parquet footer checked before the `parquet` crate reads it: the footer is walked in
//! place with a minimal Thrift compact-protocol reader that allocates nothing per element,
//! so a hostile footer (a schema thousands of levels deep, which the crate would follow by
//! recursion until the stack overflows; `num_children = 2^31-1`, which it would allocate
//! for; row counts that do not add up) is refused with a reason instead.

use parquet::file::reader::ChunkReader;

use super::MAX_SHARD_RECORDS;

/// The deepest schema accepted (levels below the root).
pub const MAX_SCHEMA_DEPTH: usize = 64;
/// The largest footer read (bytes): it is held in memory by the crate.
pub const MAX_FOOTER_BYTES: u64 = 64 * 1024 * 1024;
/// How deep any Thrift structure in the footer may nest (column statistics, key-value
/// metadata, and so on sit a few levels down).
const MAX_THRIFT_DEPTH: usize = 32;

/// What a checked footer says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    /// Rows, equal to the sum of the row groups' rows.
    pub num_rows: u64,
}

/// Reads and checks the footer of the Parquet file `file` of `size` bytes (a file, or an
/// object read by range).
pub fn check<R: ChunkReader>(file: &R, size: u64) -> Result<Footer, String> {
    if size < 12 {
        return Err("too short for Parquet".into());
    }
    let tail = file
        .get_bytes(size - 8, 8)
        .map_err(|e| format!("reading the footer: {e}"))?;
    if tail.len() != 8 {
        return Err("reading the footer: short read".into());
    }
    if &tail[4..] != b"PAR1" {
        return Err("no PAR1 at the end (not Parquet, or an encrypted footer)".into());
    }
    let len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if len > size - 12 {
        return Err(format!("footer length {len} exceeds the file"));
    }
    if len > MAX_FOOTER_BYTES {
        return Err(format!(
            "footer of {len} bytes is larger than {MAX_FOOTER_BYTES}"
        ));
    }
    // Bounded just above; usize holds it.
    let buf = file
        .get_bytes(size - 8 - len, len as usize)
        .map_err(|e| format!("reading the footer: {e}"))?;
    if buf.len() as u64 != len {
        return Err("reading the footer: short read".into());
    }
    parse(&buf)
}

/// Checks a serialised `FileMetaData`.
pub fn parse(buf: &[u8]) -> Result<Footer, String> {
    let mut r = Compact { buf, pos: 0 };
    let mut num_rows: Option<i64> = None;
    let mut group_rows: Option<u64> = None;
    let mut schema_seen = false;
    let mut last = 0i16;
    while let Some((id, ty)) = r.field_header(&mut last)? {
        match (id, ty) {
            (2, LIST) => {
                check_schema(&mut r)?;
                schema_seen = true;
            }
            (3, I64) => num_rows = Some(r.varint_i64()?),
            (4, LIST) => group_rows = Some(row_groups(&mut r)?),
            _ => r.skip(ty, 0)?,
        }
    }
    if !schema_seen {
        return Err("footer has no schema".into());
    }
    let num_rows = num_rows.ok_or("footer has no num_rows")?;
    let num_rows = u64::try_from(num_rows).map_err(|_| format!("negative num_rows {num_rows}"))?;
    let groups = group_rows.unwrap_or(0);
    if groups != num_rows {
        return Err(format!(
            "num_rows {num_rows} differs from the row groups' sum {groups}"
        ));
    }
    if num_rows > MAX_SHARD_RECORDS {
        return Err(format!(
            "num_rows {num_rows} is more than one shard may hold ({MAX_SHARD_RECORDS})"
        ));
    }
    Ok(Footer { num_rows })
}

/// Walks the flattened schema (depth-first, each element with its `num_children`) and
/// checks it forms one tree no deeper than [`MAX_SCHEMA_DEPTH`].
fn check_schema(r: &mut Compact) -> Result<(), String> {
    let (n, elem) = r.list_header()?;
    if elem != STRUCT {
        return Err("schema is not a list of elements".into());
    }
    // Children still expected at each open level.
    let mut open: Vec<u64> = Vec::new();
    for i in 0..n {
        let children = schema_element(r)?;
        if i > 0 {
            match open.last_mut() {
                Some(left) => *left -= 1,
                None => return Err("schema has elements outside its root".into()),
            }
        }
        if children > 0 {
            if open.len() >= MAX_SCHEMA_DEPTH {
                return Err(format!(
                    "schema nested deeper than {MAX_SCHEMA_DEPTH} levels"
                ));
            }
            open.push(children);
        }
        while open.last() == Some(&0) {
            open.pop();
        }
    }
    if !open.is_empty() {
        return Err("schema declares more children than it has elements".into());
    }
    Ok(())
}

/// Reads one `SchemaElement`; returns its `num_children` (0 for a leaf).
fn schema_element(r: &mut Compact) -> Result<u64, String> {
    let mut last = 0i16;
    let mut children = 0u64;
    while let Some((id, ty)) = r.field_header(&mut last)? {
        if (id, ty) == (5, I32) {
            let n = r.varint_i64()?;
            children = u64::try_from(n).map_err(|_| format!("negative num_children {n}"))?;
        } else {
            r.skip(ty, 1)?;
        }
    }
    Ok(children)
}

/// Sums the rows of every `RowGroup`, checked.
fn row_groups(r: &mut Compact) -> Result<u64, String> {
    let (n, elem) = r.list_header()?;
    if elem != STRUCT {
        return Err("row_groups is not a list of row groups".into());
    }
    let mut total = 0u64;
    for _ in 0..n {
        let mut last = 0i16;
        let mut rows = None;
        while let Some((id, ty)) = r.field_header(&mut last)? {
            if (id, ty) == (3, I64) {
                rows = Some(r.varint_i64()?);
            } else {
                r.skip(ty, 1)?;
            }
        }
        let rows = rows.ok_or("a row group has no num_rows")?;
        let rows = u64::try_from(rows).map_err(|_| format!("a row group has {rows} rows"))?;
        total = total
            .checked_add(rows)
            .ok_or("the row groups' rows overflow")?;
    }
    Ok(total)
}

const BOOL_TRUE: u8 = 1;
const BOOL_FALSE: u8 = 2;
const BYTE: u8 = 3;
const I16: u8 = 4;
pub(super) const I32: u8 = 5;
pub(super) const I64: u8 = 6;
const DOUBLE: u8 = 7;
const BINARY: u8 = 8;
const LIST: u8 = 9;
const SET: u8 = 10;
const MAP: u8 = 11;
pub(super) const STRUCT: u8 = 12;
const UUID: u8 = 13;

/// A cursor over Thrift compact-protocol bytes.
pub(super) struct Compact<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl Compact<'_> {
    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.buf.get(self.pos).ok_or("footer ends early")?;
        self.pos += 1;
        Ok(b)
    }

    fn advance(&mut self, n: u64) -> Result<(), String> {
        let end = u64::try_from(self.pos)
            .ok()
            .and_then(|p| p.checked_add(n))
            .filter(|&e| e <= self.buf.len() as u64)
            .ok_or("footer ends early")?;
        // Within the buffer's length: fits usize.
        self.pos = end as usize;
        Ok(())
    }

    pub(super) fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err("varint overflows".into());
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }

    pub(super) fn varint_i64(&mut self) -> Result<i64, String> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// The next field's (id, type), or `None` at the struct's end.
    pub(super) fn field_header(&mut self, last: &mut i16) -> Result<Option<(i16, u8)>, String> {
        let b = self.byte()?;
        if b == 0 {
            return Ok(None);
        }
        let ty = b & 0x0f;
        let delta = i16::from(b >> 4);
        let id = if delta == 0 {
            i16::try_from(self.varint_i64()?).map_err(|_| "field id out of range")?
        } else {
            last.checked_add(delta).ok_or("field id out of range")?
        };
        *last = id;
        Ok(Some((id, ty)))
    }

    /// A list or set header: (element count, element type).
    fn list_header(&mut self) -> Result<(u64, u8), String> {
        let b = self.byte()?;
        let n = match b >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        // Every element takes at least one byte: a count beyond the footer is a lie.
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(format!(
                "a list claims {n} elements, more than the footer holds"
            ));
        }
        Ok((n, b & 0x0f))
    }

    /// Skips one value of type `ty`, `depth` structures down.
    pub(super) fn skip(&mut self, ty: u8, depth: usize) -> Result<(), String> {
        if depth > MAX_THRIFT_DEPTH {
            return Err(format!(
                "footer nested deeper than {MAX_THRIFT_DEPTH} levels"
            ));
        }
        match ty {
            BOOL_TRUE | BOOL_FALSE => Ok(()),
            BYTE => self.advance(1),
            I16 | I32 | I64 => self.varint().map(|_| ()),
            DOUBLE => self.advance(8),
            UUID => self.advance(16),
            BINARY => {
                let n = self.varint()?;
                self.advance(n)
            }
            LIST | SET => {
                let (n, elem) = self.list_header()?;
                for _ in 0..n {
                    if matches!(elem, BOOL_TRUE | BOOL_FALSE) {
                        // In a list a boolean is a whole byte.
                        self.advance(1)?;
                    } else {
                        self.skip(elem, depth + 1)?;
                    }
                }
                Ok(())
            }
            MAP => {
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                if n > (self.buf.len() - self.pos) as u64 {
                    return Err("a map claims more entries than the footer holds".into());
                }
                let kv = self.byte()?;
                for _ in 0..n {
                    for t in [kv >> 4, kv & 0x0f] {
                        if matches!(t, BOOL_TRUE | BOOL_FALSE) {
                            self.advance(1)?;
                        } else {
                            self.skip(t, depth + 1)?;
                        }
                    }
                }
                Ok(())
            }
            STRUCT => {
                let mut last = 0i16;
                while let Some((_, t)) = self.field_header(&mut last)? {
                    self.skip(t, depth + 1)?;
                }
                Ok(())
            }
            t => Err(format!("unknown Thrift type {t} in the footer")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny compact-protocol writer for footers.
    #[derive(Default)]
    struct W(Vec<u8>, Vec<i16>);

    impl W {
        fn varint(&mut self, mut v: u64) {
            while v >= 0x80 {
                self.0.push((v as u8) | 0x80);
                v >>= 7;
            }
            self.0.push(v as u8);
        }
        fn zigzag(&mut self, v: i64) {
            self.varint(((v << 1) ^ (v >> 63)) as u64);
        }
        fn field(&mut self, id: i16, ty: u8) {
            let last = *self.1.last().unwrap();
            let delta = id - last;
            if (1..=15).contains(&delta) {
                self.0.push(((delta as u8) << 4) | ty);
            } else {
                self.0.push(ty);
                self.zigzag(i64::from(id));
            }
            *self.1.last_mut().unwrap() = id;
        }
        fn begin(&mut self) {
            self.1.push(0);
        }
        fn end(&mut self) {
            self.0.push(0);
            self.1.pop();
        }
        fn list(&mut self, n: u64, ty: u8) {
            if n < 15 {
                self.0.push(((n as u8) << 4) | ty);
            } else {
                self.0.push(0xf0 | ty);
                self.varint(n);
            }
        }
        fn element(&mut self, name: &str, children: i32) {
            self.begin();
            self.field(4, BINARY);
            self.varint(name.len() as u64);
            self.0.extend_from_slice(name.as_bytes());
            if children > 0 {
                self.field(5, I32);
                self.zigzag(i64::from(children));
            }
            self.end();
        }
    }

    /// A footer with a chain of `depth` groups and the given row counts.
    fn footer(depth: usize, num_rows: i64, groups: &[i64]) -> Vec<u8> {
        let mut w = W::default();
        w.begin();
        w.field(1, I32);
        w.zigzag(1);
        w.field(2, LIST);
        w.list(depth as u64 + 1, STRUCT);
        for d in 0..depth {
            w.element(&format!("g{d}"), 1);
        }
        w.element("url", 0);
        w.field(3, I64);
        w.zigzag(num_rows);
        w.field(4, LIST);
        w.list(groups.len() as u64, STRUCT);
        for g in groups {
            w.begin();
            w.field(1, LIST);
            w.list(0, STRUCT);
            w.field(2, I64);
            w.zigzag(0);
            w.field(3, I64);
            w.zigzag(*g);
            w.end();
        }
        w.end();
        w.0
    }

    #[test]
    fn sound_footers_pass_and_hostile_ones_are_refused() {
        assert_eq!(parse(&footer(2, 10, &[4, 6])), Ok(Footer { num_rows: 10 }));
        assert!(
            parse(&footer(5000, 1, &[1]))
                .unwrap_err()
                .contains("deeper")
        );
        assert!(
            parse(&footer(1, 10, &[4, 5]))
                .unwrap_err()
                .contains("differs")
        );
        assert!(
            parse(&footer(1, i64::MAX, &[i64::MAX]))
                .unwrap_err()
                .contains("more than")
        );
        assert!(parse(&footer(1, -1, &[-1])).is_err());
        let overflow = parse(&footer(1, 1, &[i64::MAX, i64::MAX, i64::MAX])).unwrap_err();
        assert!(overflow.contains("overflow"), "{overflow}");
        // num_children far beyond the elements present.
        let mut w = W::default();
        w.begin();
        w.field(2, LIST);
        w.list(2, STRUCT);
        w.element("root", i32::MAX);
        w.element("a", 0);
        w.field(3, I64);
        w.zigzag(0);
        w.end();
        assert!(parse(&w.0).unwrap_err().contains("more children"));
        // A truncated footer.
        let f = footer(2, 10, &[10]);
        assert!(parse(&f[..f.len() - 3]).is_err());
    }
}
