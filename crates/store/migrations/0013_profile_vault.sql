-- "Dites-le nous une fois": the usager's profile, one value per key with its source
-- (declare: typed by the usager; franceconnect: certified, read-only).
CREATE TABLE profile_values (
    user_id BIGINT NOT NULL REFERENCES users(id),
    profile_key TEXT NOT NULL,
    value TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, profile_key)
);

-- The usager's documents, kept for them alone: a collectivité receives a copy only when the
-- usager attaches it to one of its dossiers. The bytes live in the file store under `id`.
CREATE TABLE vault_documents (
    id TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    -- ISO date (YYYY-MM-DD) the document stops being valid, if it has one.
    valid_until TEXT,
    -- When the usager was e-mailed that it expires soon (once).
    expiry_warned_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX vault_documents_user ON vault_documents (user_id, created_at);

-- "Who saw my data" reads the journal by object.
CREATE INDEX audit_events_object ON audit_events (object_type, object_id);
