-- provtrack registry schema for PostgreSQL, version 4 (see ../0004_first_member.sql): the
-- `dup` mark on dataset members.
--
-- Also: the bulk tables' foreign keys to shards, datasets and sources go. PostgreSQL checks
-- a foreign key row by row with a trigger that share-locks the referenced row, so every
-- attribution of a scan locked its source's row (the same few rows for every concurrent
-- scan) and the checks cost a third of a registration. The writers guarantee the references
-- instead: a member's or attribution's shard is stored in the same transaction, its source
-- is checked to exist with one set-based query per write, and nothing ever deletes shards,
-- datasets or sources. SQLite keeps its foreign keys (checked in-process, cheaply).
ALTER TABLE dataset_shards ADD COLUMN dup BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE dataset_shards m SET dup = TRUE FROM (
    SELECT dataset_id, path,
           row_number() OVER (PARTITION BY dataset_id, shard_id ORDER BY path) AS rn
    FROM dataset_shards
) x WHERE x.rn > 1 AND x.dataset_id = m.dataset_id AND x.path = m.path;
ALTER TABLE dataset_shards DROP CONSTRAINT IF EXISTS dataset_shards_dataset_id_fkey,
    DROP CONSTRAINT IF EXISTS dataset_shards_shard_id_fkey;
ALTER TABLE attributions DROP CONSTRAINT IF EXISTS attributions_shard_id_fkey,
    DROP CONSTRAINT IF EXISTS attributions_source_id_fkey;
ALTER TABLE dataset_part_shards DROP CONSTRAINT IF EXISTS dataset_part_shards_shard_id_fkey;
