-- provtrack registry schema, version 3: partitioned scans.
-- `scan --partition K/N` stages part K of N of a dataset version here; its shards and
-- attributions are stored as any scan's, but the version stays invisible to every query
-- until `dataset seal` checks that all N parts are present and consistent, publishes the
-- version (datasets, dataset_shards) with the root hash over all parts, and removes the
-- staged rows, in one transaction.
CREATE TABLE dataset_parts (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL,
    version   TEXT NOT NULL,
    part      INTEGER NOT NULL CHECK (part >= 1),
    parts     INTEGER NOT NULL CHECK (parts >= part),
    org       TEXT,
    collected TEXT NOT NULL,
    root_hash BLOB NOT NULL,       -- over this part's members only
    files     INTEGER NOT NULL,
    created   TEXT NOT NULL,
    UNIQUE (name, version, part)
) STRICT;

CREATE TABLE dataset_part_parents (
    part_id   INTEGER NOT NULL REFERENCES dataset_parts(id) ON DELETE CASCADE,
    parent_id INTEGER NOT NULL REFERENCES datasets(id),
    PRIMARY KEY (part_id, parent_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE dataset_part_shards (
    part_id  INTEGER NOT NULL REFERENCES dataset_parts(id) ON DELETE CASCADE,
    path     BLOB NOT NULL,
    shard_id INTEGER NOT NULL REFERENCES shards(id),
    PRIMARY KEY (part_id, path)
) STRICT, WITHOUT ROWID;
