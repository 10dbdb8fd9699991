-- provtrack registry schema: rights reservations (TDM opt-outs) and what they are judged
-- on. (Numbered 0008 after the record fingerprints of 0007.)
-- Records per URL host of a shard, as the scanner counted them: the top hosts by records
-- and one row with host '' for the rest. A shard with no rows had its hosts not measured.
CREATE TABLE shard_hosts (
    shard_id INTEGER NOT NULL REFERENCES shards(id),
    host     TEXT NOT NULL,
    records  INTEGER NOT NULL CHECK (records >= 0),
    bytes    INTEGER NOT NULL CHECK (bytes >= 0),
    PRIMARY KEY (shard_id, host)
) STRICT;
-- The policy's crawlers: the user-agent tokens robots.txt groups are matched against,
-- one per line.
CREATE TABLE crawlers (
    id          TEXT PRIMARY KEY,
    user_agents TEXT NOT NULL
) STRICT;
-- What a source is, for the AI Act summary's categories.
CREATE TABLE source_kinds (
    source_id TEXT PRIMARY KEY REFERENCES sources(id),
    kind      TEXT NOT NULL CHECK (kind IN
        ('public-dataset', 'licensed', 'crawled', 'user', 'synthetic', 'other'))
) STRICT;
-- Dated reservation evidence: a robots.txt snapshot (body = the file, path '/'), a TDMRep
-- rule (path = its location prefix, body = its tdm-policy or ''), a CSV row (path prefix).
CREATE TABLE optouts (
    id       INTEGER PRIMARY KEY,
    host     TEXT NOT NULL,
    date     TEXT NOT NULL,
    protocol TEXT NOT NULL CHECK (protocol IN ('robots', 'tdmrep', 'csv')),
    path     TEXT NOT NULL,
    body     TEXT NOT NULL,
    origin   TEXT NOT NULL,
    UNIQUE (host, date, protocol, path)
) STRICT;
CREATE INDEX optouts_by_host ON optouts(host);
