-- provtrack registry schema, version 2: the scanner's incremental state.
-- One row per scanned directory: the files' (size, mtime, inode) and the facts read from
-- them, encoded by src/scan.rs. A file whose metadata and the attribution configuration are
-- unchanged is not re-read. Derived state: never part of provenance or the event chain.
CREATE TABLE scan_state (
    id    INTEGER PRIMARY KEY,
    dir   BLOB NOT NULL UNIQUE,   -- canonical absolute path of the scanned directory
    state BLOB NOT NULL
) STRICT;
