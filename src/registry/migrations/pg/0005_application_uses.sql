-- provtrack registry schema, version 5: the purposes an application puts its models to
-- (`uses` of an `[[application]]`: advertising, search, ...), asked per application when a
-- platform audits what its content ended up doing.
CREATE TABLE application_uses (
    application_id TEXT COLLATE "C" NOT NULL REFERENCES applications(id),
    use_name       TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (application_id, use_name)
);
