-- provtrack registry schema, version 4: `dup` marks every member of a dataset version but
-- one that holds a shard the version already holds under another path (the member with the
-- smallest path is the one not marked). Usage counts each distinct shard of a version once;
-- with the mark, counting all versions' usage at once needs no DISTINCT over every member.
ALTER TABLE dataset_shards ADD COLUMN dup INTEGER NOT NULL DEFAULT 0 CHECK (dup IN (0, 1));
UPDATE dataset_shards SET dup = 1 WHERE (dataset_id, path) IN (
    SELECT dataset_id, path FROM (
        SELECT dataset_id, path,
               row_number() OVER (PARTITION BY dataset_id, shard_id ORDER BY path) AS rn
        FROM dataset_shards
    ) WHERE rn > 1
);
