-- provtrack registry schema, version 6: dataset versions withdrawn by `dataset retract`.
-- A retracted version stays (rows, members, events) but leaves every count and verdict;
-- a retraction is final: it is never updated nor removed.
CREATE TABLE retractions (
    dataset_id BIGINT PRIMARY KEY REFERENCES datasets(id),
    reason     TEXT COLLATE "C" NOT NULL,
    time       TEXT COLLATE "C" NOT NULL
);
CREATE FUNCTION provtrack_retractions_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'retractions are final'; END $$;
CREATE TRIGGER retractions_no_update BEFORE UPDATE OR DELETE ON retractions
    FOR EACH ROW EXECUTE FUNCTION provtrack_retractions_final();
CREATE TRIGGER retractions_no_truncate BEFORE TRUNCATE ON retractions
    FOR EACH STATEMENT EXECUTE FUNCTION provtrack_retractions_final();
