//! Parquet pages checked before the `parquet` crate decompresses them: the crate allocates
//! each page at the size its header claims, so a page that decompresses to a huge size (one
//! 40 MB string value in a file of a few kilobytes) would be held whole. Every page header of
//! a column about to be read is walked first with the footer's Thrift reader; a page larger
//! than its values may hold under the record limit, or than [`MAX_PAGE_BYTES`], refuses the
//! shard with a reason instead.

use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::ChunkReader;

use super::footer::{Compact, I32, STRUCT};

/// The most one page may decompress to, whatever its values (or the record limit, when
/// that is larger).
pub const MAX_PAGE_BYTES: u64 = 256 << 20;
/// A page header is read with this many bytes first, then more (statistics of long values
/// make headers long), up to [`MAX_HEADER_BYTES`].
const HEADER_PROBE: u64 = 16 * 1024;
const MAX_HEADER_BYTES: u64 = 4 << 20;

/// What a page header says: its own length, the page's sizes and its values.
#[derive(Debug, PartialEq, Eq)]
struct Header {
    len: u64,
    uncompressed: i64,
    compressed: i64,
    values: i64,
}

/// Checks every page of leaf column `col` in every row group: no page may decompress to
/// more than `max_record` bytes per value it holds, nor more than [`MAX_PAGE_BYTES`]
/// (or `max_record` when larger).
pub fn check_column<R: ChunkReader>(
    file: &R,
    metadata: &ParquetMetaData,
    col: usize,
    max_record: u64,
) -> Result<(), String> {
    let cap = MAX_PAGE_BYTES.max(max_record);
    for rg in metadata.row_groups() {
        let meta = rg.column(col);
        let (start, len) = meta.byte_range();
        let end = start.checked_add(len).ok_or("column chunk out of range")?;
        let mut pos = start;
        while pos < end {
            let h = read_header(file, pos, end)?;
            let values = u64::try_from(h.values.max(1)).unwrap_or(1);
            let (Ok(unc), Ok(comp)) = (u64::try_from(h.uncompressed), u64::try_from(h.compressed))
            else {
                return Err(format!(
                    "a page header of column {} claims a negative size",
                    meta.column_path()
                ));
            };
            if unc > cap || unc > values.saturating_mul(max_record) {
                return Err(format!(
                    "a page of column {} decompresses to {unc} bytes for {values} values, \
                     over the record limit of {max_record} bytes (--max-record-bytes)",
                    meta.column_path()
                ));
            }
            pos = pos
                .checked_add(h.len)
                .and_then(|p| p.checked_add(comp))
                .ok_or("page out of range")?;
        }
    }
    Ok(())
}

/// Reads the page header at `pos` (before `end`), with more bytes when the first read cut
/// it short.
fn read_header<R: ChunkReader>(file: &R, pos: u64, end: u64) -> Result<Header, String> {
    let mut want = HEADER_PROBE;
    loop {
        let n = want.min(end - pos);
        // Bounded by MAX_HEADER_BYTES: fits usize.
        let buf = file
            .get_bytes(pos, n as usize)
            .map_err(|e| format!("reading a page header: {e}"))?;
        match parse_header(&buf) {
            Ok(h) => return Ok(h),
            Err(e) if n == end - pos || want >= MAX_HEADER_BYTES => {
                return Err(format!("unreadable page header: {e}"));
            }
            Err(_) => want *= 16,
        }
    }
}

/// Parses a serialised `PageHeader`.
fn parse_header(buf: &[u8]) -> Result<Header, String> {
    let mut r = Compact { buf, pos: 0 };
    let mut h = Header {
        len: 0,
        uncompressed: -1,
        compressed: -1,
        values: 1,
    };
    let mut last = 0i16;
    while let Some((id, ty)) = r.field_header(&mut last)? {
        match (id, ty) {
            (2, I32) => h.uncompressed = r.varint_i64()?,
            (3, I32) => h.compressed = r.varint_i64()?,
            // Data page, dictionary page, data page v2: num_values is their field 1.
            (5 | 7 | 8, STRUCT) => {
                let mut inner = 0i16;
                while let Some((i, t)) = r.field_header(&mut inner)? {
                    if (i, t) == (1, I32) {
                        h.values = r.varint_i64()?;
                    } else {
                        r.skip(t, 1)?;
                    }
                }
            }
            _ => r.skip(ty, 0)?,
        }
    }
    h.len = r.pos as u64;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_headers_are_parsed() {
        // type 0 (data page), uncompressed 1000, compressed 100, data page header {1: 10}.
        let mut b = vec![0x15, 0x00, 0x15];
        b.extend([0xd0, 0x0f]); // zigzag(1000) = 2000
        b.extend([0x15, 0xc8, 0x01]); // zigzag(100) = 200
        b.extend([0x2c, 0x15, 0x14, 0x00]); // field 5 (delta 2), struct {1: i32 10}
        b.push(0x00);
        let h = parse_header(&b).unwrap();
        assert_eq!(
            h,
            Header {
                len: b.len() as u64,
                uncompressed: 1000,
                compressed: 100,
                values: 10
            }
        );
        assert!(parse_header(&b[..5]).is_err());
    }
}
