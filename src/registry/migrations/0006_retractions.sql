-- provtrack registry schema, version 6: dataset versions withdrawn by `dataset retract`.
-- A retracted version stays (rows, members, events) but leaves every count and verdict;
-- a retraction is final: it is never updated nor removed.
CREATE TABLE retractions (
    dataset_id INTEGER PRIMARY KEY REFERENCES datasets(id),
    reason     TEXT NOT NULL,
    time       TEXT NOT NULL
) STRICT;
CREATE TRIGGER retractions_no_update BEFORE UPDATE ON retractions
BEGIN SELECT RAISE(ABORT, 'retractions are final'); END;
CREATE TRIGGER retractions_no_delete BEFORE DELETE ON retractions
BEGIN SELECT RAISE(ABORT, 'retractions are final'); END;
