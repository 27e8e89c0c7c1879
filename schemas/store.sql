-- schemas/store.sql: the yuanzhu decision store, schema version 1 (PRAGMA user_version = 1).
--
-- Applied by the engine as migration 1 when it creates a store; later versions add migration
-- files applied in order after it, to new stores and to older ones (store-sign.sql: version 2).  Everything is append-only: the
-- triggers at the end refuse UPDATE and DELETE on every table.
--
-- Compression: file contents, inputs and outputs are zstd frames.  Inputs and outputs use the
-- dictionary of their ruleset: the canonical input and output of the first decision made with
-- it, with zstd entropy tables computed from them (stores written before had the raw content
-- alone; both are read), which makes a determination of ~12 KB take a few hundred bytes.
--
-- The audit chain: audit.hash = H(hex hash of the previous event, or 64 zeros, || the event's
-- canonical JSON), H being meta.hash ('sha256' or 'sm3').  Events are rebuilt from the rows
-- they describe, so changing a row, deleting one or inserting one breaks the chain at that
-- sequence number (see docs/audit.md).

CREATE TABLE meta (                      -- store-wide settings, written once
    key   TEXT PRIMARY KEY,              -- 'hash' (sha256 | sm3), 'created_at', 'created_by'
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE dicts (                     -- zstd dictionaries (zip_dict_build), content-addressed
    id   INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,           -- SHA-256 of data
    data BLOB NOT NULL
);

CREATE TABLE blobs (                     -- contents of ruleset files, content-addressed
    hash TEXT PRIMARY KEY,               -- SHA-256 of the canonical file bytes
    data BLOB NOT NULL                   -- zstd frame of them
) WITHOUT ROWID;

CREATE TABLE rulesets (                  -- every ruleset a decision was made with, registered once
    id       INTEGER PRIMARY KEY,
    ruleset  TEXT NOT NULL UNIQUE,       -- the ruleset id (SHA-256 over its files)
    province TEXT NOT NULL,              -- 'guangdong/guangzhou'
    dict     INTEGER NOT NULL REFERENCES dicts(id),
    seq      INTEGER NOT NULL UNIQUE,    -- its 'ruleset' event in the audit chain
    recorded_at TEXT NOT NULL            -- UTC, when it was registered
);

CREATE TABLE ruleset_files (
    ruleset INTEGER NOT NULL REFERENCES rulesets(id),
    path    TEXT NOT NULL,               -- logical path: rules/lib/date.lua, provinces/guangdong/policy.yaml
    blob    TEXT NOT NULL REFERENCES blobs(hash),
    PRIMARY KEY (ruleset, path)
) WITHOUT ROWID;

CREATE TABLE inputs (                    -- applicant records, stored once per canonical form
    id   INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,           -- SHA-256 of the canonical record JSON
    dict INTEGER NOT NULL REFERENCES dicts(id),
    data BLOB NOT NULL                   -- zstd frame (with dict) of the canonical JSON
);

CREATE TABLE decisions (
    seq         INTEGER PRIMARY KEY,     -- its 'decision' event in the audit chain
    id          TEXT NOT NULL UNIQUE,    -- decision id: the first 16 hex digits of its event hash
    ruleset     INTEGER NOT NULL REFERENCES rulesets(id),
    input       INTEGER NOT NULL REFERENCES inputs(id),
    id_number   TEXT NOT NULL,           -- the person (resident ID number)
    as_of       TEXT NOT NULL,           -- YYYY-MM-DD
    operator    TEXT NOT NULL,           -- caseworker id
    recorded_at TEXT NOT NULL,           -- UTC, YYYY-MM-DDTHH:MM:SSZ; metadata only, never seen by rules
    engine      TEXT NOT NULL,           -- 'yuanzhu 0.1.0'
    target      TEXT NOT NULL,           -- met | not_met | undetermined (for listings)
    output      BLOB NOT NULL            -- zstd frame (with the ruleset's dict) of the canonical determination JSON
);
CREATE INDEX decisions_person ON decisions (id_number, seq);
CREATE INDEX decisions_case ON decisions (input, ruleset, as_of);

CREATE TABLE audit (
    seq  INTEGER PRIMARY KEY,            -- 1, 2, 3, ... without gaps
    kind TEXT NOT NULL CHECK (kind IN ('ruleset', 'decision')),
    hash TEXT NOT NULL                   -- hex H(previous hash || canonical event)
);

CREATE TRIGGER meta_no_update BEFORE UPDATE ON meta BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER dicts_no_update BEFORE UPDATE ON dicts BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER dicts_no_delete BEFORE DELETE ON dicts BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER blobs_no_update BEFORE UPDATE ON blobs BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER blobs_no_delete BEFORE DELETE ON blobs BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER rulesets_no_update BEFORE UPDATE ON rulesets BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER rulesets_no_delete BEFORE DELETE ON rulesets BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER ruleset_files_no_update BEFORE UPDATE ON ruleset_files BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER ruleset_files_no_delete BEFORE DELETE ON ruleset_files BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER inputs_no_update BEFORE UPDATE ON inputs BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER inputs_no_delete BEFORE DELETE ON inputs BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
