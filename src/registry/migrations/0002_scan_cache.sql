-- provtrack registry schema, version 2: the scanner's incremental state cache.
-- A file whose (size, mtime, inode) and attribution configuration match its row is not
-- re-read by the next scan of the same directory. Derived state: never part of provenance.
CREATE TABLE scan_cache (
    dir      BLOB NOT NULL,     -- canonical absolute path of the scanned directory
    path     BLOB NOT NULL,     -- path relative to it
    size     INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode    INTEGER NOT NULL,
    config   BLOB NOT NULL,     -- BLAKE3 of the source domains and URL fields in force
    hash     BLOB NOT NULL,
    format   TEXT NOT NULL,
    stats    TEXT NOT NULL,     -- JSON record stats keyed by source id
    PRIMARY KEY (dir, path)
) STRICT, WITHOUT ROWID;
