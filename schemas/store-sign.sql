-- schemas/store-sign.sql: migration 2 of the yuanzhu decision store (PRAGMA user_version = 2):
-- the store's identity, signed checkpoints, signed rulesets and the keys they name.
--
-- Applied after store.sql when a store is made, and to a version 1 store when a newer engine
-- opens it (in the same transaction as the version change; nothing in the chain changes: a
-- decision recorded before has no signer, and its event is the one it always was).
--
-- meta gains 'store_id' (32 random hex digits: a checkpoint's origin line names the store by it)
-- and, for a store made with a chain key, 'chain_key' (the key's name, "hmac:" and 16 hex digits
-- of its fingerprint; the secret itself is never in the store).  See docs/audit.md.

INSERT INTO meta (key, value) VALUES ('store_id', lower(hex(randomblob(16))));

CREATE TABLE keys (                      -- public keys named by checkpoints and ruleset signatures
    name   TEXT PRIMARY KEY,             -- 'sm2:9c1f3b7a2e4d6f80' (algorithm: 16 hex digits of the SHA-256 of its DER)
    alg    TEXT NOT NULL CHECK (alg IN ('sm2', 'ed25519')),
    pubkey TEXT NOT NULL                 -- PEM (SubjectPublicKeyInfo)
) WITHOUT ROWID;

CREATE TABLE trusted_keys (              -- ruleset signers this store requires: once there is one, every
    name     TEXT PRIMARY KEY REFERENCES keys(name),  -- decision's ruleset must be signed by one of them
    added_at TEXT NOT NULL               -- UTC
) WITHOUT ROWID;

CREATE TABLE ruleset_signatures (        -- a ruleset's signature file as it was verified when a decision used it
    id      INTEGER PRIMARY KEY,
    ruleset INTEGER NOT NULL REFERENCES rulesets(id),
    signer  TEXT NOT NULL REFERENCES keys(name),      -- the key whose signature was accepted
    note    TEXT NOT NULL,               -- the signature file: the manifest and its signature lines
    UNIQUE (ruleset, signer)
);

-- the signature its ruleset was accepted with (NULL: unsigned); chained as the event's
-- "ruleset_signer" (the key's name), so changing it breaks the chain
ALTER TABLE decisions ADD COLUMN signed_by INTEGER REFERENCES ruleset_signatures(id);

CREATE TABLE checkpoints (               -- every checkpoint made of this store (audit checkpoint), as written out
    id      INTEGER PRIMARY KEY,
    size    INTEGER NOT NULL,            -- the events it covers: 1..size
    hash    TEXT NOT NULL,               -- the chain hash of event 'size'
    made_at TEXT NOT NULL,               -- UTC
    note    TEXT NOT NULL                -- the signed checkpoint text
);

CREATE TRIGGER keys_no_update BEFORE UPDATE ON keys BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER keys_no_delete BEFORE DELETE ON keys BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER trusted_keys_no_update BEFORE UPDATE ON trusted_keys BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER trusted_keys_no_delete BEFORE DELETE ON trusted_keys BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER ruleset_signatures_no_update BEFORE UPDATE ON ruleset_signatures BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER ruleset_signatures_no_delete BEFORE DELETE ON ruleset_signatures BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints BEGIN SELECT RAISE(ABORT, 'the yuanzhu store is append-only'); END;
