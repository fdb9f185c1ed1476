-- Shared templates (modèles mutualisés): a collectivité (or the operator) publishes a démarche as
-- a template; others adopt it, adjust what it allows, and update when it gets a new version.
CREATE TABLE templates (
    id {{id}},
    -- The collectivité that publishes it, and the démarche it comes from.
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    demarche_id BIGINT NOT NULL REFERENCES demarches(id),
    title TEXT NOT NULL,
    -- What adopters may adjust, comma-separated among: contact, delai, textes.
    adjustable TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (demarche_id)
);

CREATE TABLE template_versions (
    template_id BIGINT NOT NULL REFERENCES templates(id),
    version BIGINT NOT NULL,
    definition TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    PRIMARY KEY (template_id, version)
);

-- An adopted démarche follows its template at the version it was adopted or last updated to.
ALTER TABLE demarches ADD COLUMN template_id BIGINT REFERENCES templates(id);
ALTER TABLE demarches ADD COLUMN template_version BIGINT;
CREATE INDEX demarches_template ON demarches (template_id);
