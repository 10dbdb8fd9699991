-- provtrack registry schema, version 1.
-- Dates are TEXT 'YYYY-MM-DD'; hashes are 32-byte BLAKE3 BLOBs except in the event chain.

CREATE TABLE sources (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
) STRICT;

CREATE TABLE source_domains (
    domain    TEXT PRIMARY KEY,
    source_id TEXT NOT NULL REFERENCES sources(id)
) STRICT, WITHOUT ROWID;
CREATE INDEX source_domains_by_source ON source_domains(source_id);

-- Policy-file licences; the built-in catalogue lives in the binary and is overridden by id.
CREATE TABLE licences (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
) STRICT;

CREATE TABLE licence_terms (
    licence_id TEXT NOT NULL REFERENCES licences(id),
    kind       TEXT NOT NULL CHECK (kind IN ('allow', 'deny', 'condition')),
    term       TEXT NOT NULL,
    PRIMARY KEY (licence_id, kind, term)
) STRICT, WITHOUT ROWID;

CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    source_id   TEXT NOT NULL REFERENCES sources(id),
    licence_id  TEXT NOT NULL,
    grantee     TEXT NOT NULL,
    valid_from  TEXT NOT NULL,
    valid_until TEXT,
    cap_records INTEGER CHECK (cap_records >= 0),
    cap_per     TEXT CHECK (cap_per IN ('month', 'year', 'total')),
    CHECK ((cap_records IS NULL) = (cap_per IS NULL))
) STRICT;
CREATE INDEX grants_by_source ON grants(source_id);

CREATE TABLE datasets (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL,
    version   TEXT NOT NULL,
    org       TEXT,
    collected TEXT NOT NULL,
    root_hash BLOB NOT NULL,
    files     INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    records   INTEGER NOT NULL,
    created   TEXT NOT NULL,
    UNIQUE (name, version)
) STRICT;
CREATE INDEX datasets_by_org ON datasets(org, collected);

CREATE TABLE dataset_parents (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    parent_id  INTEGER NOT NULL REFERENCES datasets(id),
    PRIMARY KEY (dataset_id, parent_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE shards (
    id                   INTEGER PRIMARY KEY,
    hash                 BLOB NOT NULL UNIQUE,
    size                 INTEGER NOT NULL,
    format               TEXT NOT NULL,
    records              INTEGER NOT NULL,
    unattributed_records INTEGER NOT NULL,
    unattributed_bytes   INTEGER NOT NULL,
    malformed            INTEGER NOT NULL,
    problem              TEXT
) STRICT;

-- path is the raw relative path (bytes, '/'-separated): non-UTF-8 names are kept exactly.
CREATE TABLE dataset_shards (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id),
    path       BLOB NOT NULL,
    shard_id   INTEGER NOT NULL REFERENCES shards(id),
    PRIMARY KEY (dataset_id, path)
) STRICT, WITHOUT ROWID;
CREATE INDEX dataset_shards_by_shard ON dataset_shards(shard_id);

CREATE TABLE attributions (
    shard_id  INTEGER NOT NULL REFERENCES shards(id),
    source_id TEXT NOT NULL REFERENCES sources(id),
    records   INTEGER NOT NULL,
    bytes     INTEGER NOT NULL,
    method    TEXT NOT NULL CHECK (method IN ('declared', 'url', 'inherited')),
    PRIMARY KEY (shard_id, source_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX attributions_by_source ON attributions(source_id);

-- Training runs name datasets as 'name@version'; they may be declared before the scan.
CREATE TABLE training_runs (
    model TEXT PRIMARY KEY,
    org   TEXT NOT NULL,
    date  TEXT NOT NULL
) STRICT;

CREATE TABLE training_datasets (
    model   TEXT NOT NULL REFERENCES training_runs(model),
    dataset TEXT NOT NULL,
    PRIMARY KEY (model, dataset)
) STRICT, WITHOUT ROWID;

CREATE TABLE training_uses (
    model    TEXT NOT NULL REFERENCES training_runs(model),
    use_name TEXT NOT NULL,
    PRIMARY KEY (model, use_name)
) STRICT, WITHOUT ROWID;

CREATE TABLE applications (
    id        TEXT PRIMARY KEY,
    org       TEXT NOT NULL,
    disclosed INTEGER NOT NULL CHECK (disclosed IN (0, 1))
) STRICT;

CREATE TABLE application_models (
    application_id TEXT NOT NULL REFERENCES applications(id),
    model          TEXT NOT NULL REFERENCES training_runs(model),
    PRIMARY KEY (application_id, model)
) STRICT, WITHOUT ROWID;

CREATE TABLE disclosures (
    id        TEXT PRIMARY KEY,
    dataset   TEXT,
    source_id TEXT REFERENCES sources(id),
    recipient TEXT NOT NULL,
    kind      TEXT NOT NULL CHECK (kind IN ('government', 'partner', 'public')),
    date      TEXT NOT NULL,
    org       TEXT,
    CHECK ((dataset IS NULL) <> (source_id IS NULL))
) STRICT;

-- The append-only, hash-chained event log (see src/events.rs).
CREATE TABLE events (
    seq     INTEGER PRIMARY KEY,
    time    TEXT NOT NULL,
    actor   TEXT NOT NULL,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev    TEXT NOT NULL,
    hash    TEXT NOT NULL
) STRICT;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
