-- Files attached to dossiers. The content lives in the file store (a directory by default); the
-- database keeps what is needed to check and serve it.
CREATE TABLE files (
    id TEXT PRIMARY KEY,
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    dossier_id BIGINT NOT NULL REFERENCES dossiers(id),
    field_key TEXT NOT NULL,
    owner_user_id BIGINT,
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX files_dossier ON files (tenant_id, dossier_id);
