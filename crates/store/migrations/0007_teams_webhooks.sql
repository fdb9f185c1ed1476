-- Teams of agents (dossiers can be assigned to a team), the commune a dossier is about (queue
-- filter), signed webhooks per démarche with their delivery queue, attachments of messages.
CREATE TABLE teams (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    id {{id}},
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);

CREATE TABLE team_members (
    team_id BIGINT NOT NULL REFERENCES teams(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);

ALTER TABLE dossiers ADD COLUMN assigned_team BIGINT REFERENCES teams(id);
-- INSEE code of the first commune field of the answers.
ALTER TABLE dossiers ADD COLUMN commune_insee TEXT;
CREATE INDEX dossiers_commune ON dossiers (tenant_id, commune_insee, id);

ALTER TABLE demarches ADD COLUMN webhook_url TEXT;
-- Shared secret of the HMAC-SHA256 signature (hex); shown to the admin, never logged.
ALTER TABLE demarches ADD COLUMN webhook_secret TEXT;

-- One row per event to deliver; retried with exponential backoff, claimed with a lease like the
-- e-mail outbox. Written in the same transaction as the state change it reports.
CREATE TABLE webhook_deliveries (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    id {{id}},
    demarche_id BIGINT NOT NULL REFERENCES demarches(id),
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    -- pending | delivered | failed
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    last_error TEXT,
    delivered_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_demarche ON webhook_deliveries (tenant_id, demarche_id, id);

-- A message may carry one attached file (kept in `files`, with the dossier's other files).
ALTER TABLE dossier_events ADD COLUMN file_id TEXT;
