-- provtrack registry schema, version 7: record prints (see the SQLite migration). As for
-- the other bulk tables (migration 4), shard references are checked by the writer.
CREATE TABLE record_prints (
    shard_id  BIGINT NOT NULL,
    kind      TEXT COLLATE "C" NOT NULL CHECK (kind IN ('text', 'url')),
    source_id TEXT COLLATE "C" NOT NULL,
    records   BIGINT NOT NULL,
    prints    BYTEA NOT NULL,
    PRIMARY KEY (shard_id, kind, source_id)
);
CREATE INDEX record_prints_by_kind ON record_prints(kind, source_id);
ALTER TABLE attributions DROP CONSTRAINT attributions_method_check;
ALTER TABLE attributions ADD CONSTRAINT attributions_method_check
    CHECK (method IN ('declared', 'url', 'inherited', 'fingerprint'));
