-- Opinions (avis) asked of experts outside the collectivité: a single-use link sent to the
-- expert's address; the answer is kept with the dossier.
CREATE TABLE avis (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    dossier_id BIGINT NOT NULL,
    expert_email TEXT NOT NULL,
    question TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    answered_at BIGINT,
    answer TEXT
);
CREATE INDEX avis_dossier ON avis (tenant_id, dossier_id);
CREATE UNIQUE INDEX avis_token ON avis (token_hash);
