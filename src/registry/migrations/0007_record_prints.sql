-- provtrack registry schema, version 7: record prints. Each shard's records are printed
-- (a 48-bit hash of the normalised text, and of the normalised URL) and the prints kept
-- per shard, kind and source ('' for none) as a Rice-coded sorted set; records with no URL
-- are attributed by print (method 'fingerprint').
CREATE TABLE record_prints (
    shard_id  INTEGER NOT NULL REFERENCES shards(id),
    kind      TEXT NOT NULL CHECK (kind IN ('text', 'url')),
    source_id TEXT NOT NULL,
    records   INTEGER NOT NULL,
    prints    BLOB NOT NULL,
    UNIQUE (shard_id, kind, source_id)
) STRICT;
CREATE INDEX record_prints_by_kind ON record_prints(kind, source_id);

-- SQLite cannot alter a CHECK: the table is rebuilt with 'fingerprint' allowed.
CREATE TABLE attributions_v7 (
    shard_id  INTEGER NOT NULL REFERENCES shards(id),
    source_id TEXT NOT NULL REFERENCES sources(id),
    records   INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    method    TEXT NOT NULL CHECK (method IN ('declared', 'url', 'inherited', 'fingerprint')),
    PRIMARY KEY (shard_id, source_id)
) STRICT, WITHOUT ROWID;
INSERT INTO attributions_v7 (shard_id, source_id, records, bytes, method)
    SELECT shard_id, source_id, records, bytes, method FROM attributions;
DROP TABLE attributions;
ALTER TABLE attributions_v7 RENAME TO attributions;
CREATE INDEX attributions_by_source ON attributions(source_id);
