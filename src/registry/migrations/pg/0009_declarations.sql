-- provtrack registry schema for PostgreSQL, version 9 (see ../0009_declarations.sql):
-- declarations belong to the version that made them. Like the other bulk tables (see
-- 0004), the references to shards, datasets and sources are guaranteed by the writers.
CREATE TABLE declarations (
    dataset_id BIGINT NOT NULL,
    shard_id   BIGINT NOT NULL,
    source_id  TEXT COLLATE "C" NOT NULL,
    method     TEXT COLLATE "C" NOT NULL CHECK (method IN ('declared', 'inherited')),
    PRIMARY KEY (dataset_id, shard_id, source_id)
);
CREATE INDEX declarations_by_source ON declarations(source_id);

CREATE TABLE dataset_part_declarations (
    part_id   BIGINT NOT NULL REFERENCES dataset_parts(id) ON DELETE CASCADE,
    shard_id  BIGINT NOT NULL,
    source_id TEXT COLLATE "C" NOT NULL,
    method    TEXT COLLATE "C" NOT NULL CHECK (method IN ('declared', 'inherited')),
    PRIMARY KEY (part_id, shard_id, source_id)
);

CREATE VIEW version_content (dataset_id, shard_id, source_id, records, bytes) AS
    SELECT m.dataset_id, m.shard_id, a.source_id, a.records, a.bytes
    FROM dataset_shards m JOIN attributions a ON a.shard_id = m.shard_id
    WHERE NOT m.dup
    UNION ALL
    SELECT d.dataset_id, d.shard_id, d.source_id, s.unattributed_records, s.unattributed_bytes
    FROM declarations d JOIN shards s ON s.id = d.shard_id
    WHERE s.unattributed_records > 0;
CREATE VIEW version_unattributed (dataset_id, shard_id, records, bytes) AS
    SELECT m.dataset_id, m.shard_id, s.unattributed_records, s.unattributed_bytes
    FROM dataset_shards m JOIN shards s ON s.id = m.shard_id
    WHERE NOT m.dup AND s.unattributed_records > 0 AND NOT EXISTS
        (SELECT 1 FROM declarations d
         WHERE d.dataset_id = m.dataset_id AND d.shard_id = m.shard_id);

INSERT INTO declarations (dataset_id, shard_id, source_id, method)
    SELECT DISTINCT m.dataset_id, a.shard_id, a.source_id, a.method
    FROM attributions a JOIN dataset_shards m ON m.shard_id = a.shard_id
    WHERE a.method IN ('declared', 'inherited');
INSERT INTO dataset_part_declarations (part_id, shard_id, source_id, method)
    SELECT DISTINCT p.part_id, a.shard_id, a.source_id, a.method
    FROM attributions a JOIN dataset_part_shards p ON p.shard_id = a.shard_id
    WHERE a.method IN ('declared', 'inherited');
UPDATE shards s SET
    unattributed_records = s.unattributed_records + x.records,
    unattributed_bytes = s.unattributed_bytes + x.bytes
    FROM (SELECT shard_id, MAX(records) AS records, MAX(bytes) AS bytes FROM attributions
          WHERE method IN ('declared', 'inherited') GROUP BY shard_id) x
    WHERE s.id = x.shard_id;
DELETE FROM attributions WHERE method IN ('declared', 'inherited');
