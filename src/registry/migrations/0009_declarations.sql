-- provtrack registry schema, version 9: what a scan or a card *declares* (`--source`,
-- `--derived-from`, `import-card`) belongs to the version that declared it, never to other
-- versions holding the same bytes. A shard keeps only what was *observed* in its bytes
-- (attributions by URL or record print, and the records left unattributed); a declaration
-- names a source for the content its shard leaves unattributed, in one version.
CREATE TABLE declarations (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    shard_id   INTEGER NOT NULL REFERENCES shards(id),
    source_id  TEXT NOT NULL REFERENCES sources(id),
    method     TEXT NOT NULL CHECK (method IN ('declared', 'inherited')),
    PRIMARY KEY (dataset_id, shard_id, source_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX declarations_by_source ON declarations(source_id);

-- A staged part's declarations, published with it when the version is sealed.
CREATE TABLE dataset_part_declarations (
    part_id   INTEGER NOT NULL REFERENCES dataset_parts(id) ON DELETE CASCADE,
    shard_id  INTEGER NOT NULL REFERENCES shards(id),
    source_id TEXT NOT NULL REFERENCES sources(id),
    method    TEXT NOT NULL CHECK (method IN ('declared', 'inherited')),
    PRIMARY KEY (part_id, shard_id, source_id)
) STRICT, WITHOUT ROWID;

-- A version's content, each distinct shard once: what its shards' bytes showed, and what
-- the version declared of the content they left unattributed. Every count of a version is
-- made from these two views.
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

-- Declared and inherited attributions stored before were applied to the shard, so to every
-- version holding it: each such version keeps them as its own declaration, and the content
-- they covered is unattributed as observed again. (A declared source that was also
-- observed in the same shard was merged into one URL row then, and stays observed.)
INSERT INTO declarations (dataset_id, shard_id, source_id, method)
    SELECT DISTINCT m.dataset_id, a.shard_id, a.source_id, a.method
    FROM attributions a JOIN dataset_shards m ON m.shard_id = a.shard_id
    WHERE a.method IN ('declared', 'inherited');
INSERT INTO dataset_part_declarations (part_id, shard_id, source_id, method)
    SELECT DISTINCT p.part_id, a.shard_id, a.source_id, a.method
    FROM attributions a JOIN dataset_part_shards p ON p.shard_id = a.shard_id
    WHERE a.method IN ('declared', 'inherited');
UPDATE shards SET
    unattributed_records = unattributed_records + (SELECT MAX(a.records) FROM attributions a
        WHERE a.shard_id = shards.id AND a.method IN ('declared', 'inherited')),
    unattributed_bytes = unattributed_bytes + (SELECT MAX(a.bytes) FROM attributions a
        WHERE a.shard_id = shards.id AND a.method IN ('declared', 'inherited'))
    WHERE id IN (SELECT shard_id FROM attributions WHERE method IN ('declared', 'inherited'));
DELETE FROM attributions WHERE method IN ('declared', 'inherited');
