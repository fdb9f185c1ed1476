-- Démarches (versioned definitions) and dossiers (submissions), with their history.

CREATE TABLE demarches (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    id {{id}},
    slug TEXT NOT NULL,
    -- brouillon: never published; publiee: open to usagers; fermee: closed to new dossiers.
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    -- The version usagers file with (the last published one).
    published_version BIGINT,
    -- The version being edited, if any (higher than the published one).
    draft_version BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (tenant_id, slug)
);
CREATE INDEX demarches_tenant ON demarches (tenant_id, id);

-- A published version is frozen: dossiers refer to the version they were filled with.
CREATE TABLE demarche_versions (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    demarche_id BIGINT NOT NULL REFERENCES demarches(id),
    version BIGINT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    published_at BIGINT,
    PRIMARY KEY (tenant_id, demarche_id, version)
);

CREATE TABLE dossiers (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    id {{id}},
    number TEXT NOT NULL UNIQUE,
    demarche_id BIGINT NOT NULL REFERENCES demarches(id),
    version BIGINT NOT NULL,
    usager_id BIGINT REFERENCES users(id),
    state TEXT NOT NULL,
    answers TEXT NOT NULL,
    applicant_name TEXT,
    applicant_folded TEXT,
    assigned_to BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    submitted_at BIGINT,
    -- Start of the instruction clock: the last complete deposit.
    complete_since BIGINT,
    deadline_at BIGINT,
    decided_at BIGINT,
    tacit BIGINT NOT NULL DEFAULT 0,
    decision_reason TEXT
);
CREATE INDEX dossiers_queue ON dossiers (tenant_id, state, id);
CREATE INDEX dossiers_demarche ON dossiers (tenant_id, demarche_id, state, id);
CREATE INDEX dossiers_usager ON dossiers (usager_id, id);
CREATE INDEX dossiers_deadline ON dossiers (state, deadline_at);
CREATE INDEX dossiers_applicant ON dossiers (tenant_id, applicant_folded);

-- Everything that happened to a dossier: state changes, messages, notes.
CREATE TABLE dossier_events (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    id {{id}},
    dossier_id BIGINT NOT NULL REFERENCES dossiers(id),
    at BIGINT NOT NULL,
    actor_id BIGINT,
    actor TEXT NOT NULL,
    -- etat | message | note
    kind TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT,
    body TEXT
);
CREATE INDEX dossier_events_dossier ON dossier_events (tenant_id, dossier_id, id);
