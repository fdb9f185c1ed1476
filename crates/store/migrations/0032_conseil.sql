-- The council online (crates/domain/src/conseil.rs): assemblies and their members, sessions and
-- their agenda, convocations with their proof of reading, presence, proxies, votes and the
-- délibérations they decide, published as PDF/A.

CREATE TABLE assemblees (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    -- conseil_municipal | conseil_communautaire | conseil_departemental | conseil_regional | commission
    organe TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The collectivité's SIRET, as the SCDL délibérations dataset names it (COLL_SIRET).
    siret TEXT NOT NULL,
    -- Where sessions are streamed, when they are.
    stream_url TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX assemblees_tenant ON assemblees (tenant_id);

CREATE TABLE elus (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    assemblee_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    -- presidence | adjoint | conseiller
    fonction TEXT NOT NULL,
    -- When the mandate ended (resignation…); none: in office.
    ended_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX elus_assemblee ON elus (tenant_id, assemblee_id);

CREATE TABLE seances (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    assemblee_id BIGINT NOT NULL,
    starts_at BIGINT NOT NULL,
    place TEXT NOT NULL,
    -- preparation | convoquee | ouverte | carence | close
    state TEXT NOT NULL,
    -- The reason given for a shortened delay.
    urgence TEXT,
    -- The session whose quorum failed, when this one is its second convocation.
    after_seance_id BIGINT,
    convened_at BIGINT,
    opened_at BIGINT,
    closed_at BIGINT,
    -- Members physically present at the opening.
    presents BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX seances_tenant ON seances (tenant_id, starts_at);

CREATE TABLE points (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    seance_id BIGINT NOT NULL,
    rank BIGINT NOT NULL,
    title TEXT NOT NULL,
    -- ACTES matter, e.g. "7.5".
    matiere TEXT NOT NULL,
    -- The report (rapport) and the proposed decision.
    rapport TEXT NOT NULL,
    -- The explanatory note (note explicative de synthèse).
    note TEXT NOT NULL,
    secret BIGINT NOT NULL DEFAULT 0,
    -- Added after the convocation (amendment of the agenda).
    added_late BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX points_seance ON points (tenant_id, seance_id, rank);

CREATE TABLE convocations (
    tenant_id BIGINT NOT NULL,
    seance_id BIGINT NOT NULL,
    elu_id BIGINT NOT NULL,
    token_hash TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    read_at BIGINT,
    PRIMARY KEY (tenant_id, seance_id, elu_id)
);
CREATE UNIQUE INDEX convocations_token ON convocations (token_hash);

CREATE TABLE presences (
    tenant_id BIGINT NOT NULL,
    seance_id BIGINT NOT NULL,
    elu_id BIGINT NOT NULL,
    present BIGINT NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, seance_id, elu_id)
);

CREATE TABLE procurations (
    tenant_id BIGINT NOT NULL,
    seance_id BIGINT NOT NULL,
    mandant_id BIGINT NOT NULL,
    mandataire_id BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, seance_id, mandant_id)
);
CREATE UNIQUE INDEX procurations_mandataire ON procurations (tenant_id, seance_id, mandataire_id);

CREATE TABLE votes (
    tenant_id BIGINT NOT NULL,
    point_id BIGINT NOT NULL,
    elu_id BIGINT NOT NULL,
    -- pour | contre | abstention | nppv
    choix TEXT NOT NULL,
    -- Cast by the holder of the member's proxy.
    by_proxy BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, point_id, elu_id)
);

CREATE TABLE deliberations (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    seance_id BIGINT NOT NULL,
    point_id BIGINT NOT NULL,
    -- "2026-017": the year of the session and the rank in it.
    numero TEXT NOT NULL,
    year BIGINT NOT NULL,
    rank BIGINT NOT NULL,
    objet TEXT NOT NULL,
    matiere TEXT NOT NULL,
    texte TEXT NOT NULL,
    -- adoptee | rejetee
    issue TEXT NOT NULL,
    effectif BIGINT NOT NULL,
    presents BIGINT NOT NULL,
    representes BIGINT NOT NULL,
    pour BIGINT NOT NULL,
    contre BIGINT NOT NULL,
    abstention BIGINT NOT NULL,
    nppv BIGINT NOT NULL,
    decided_at BIGINT NOT NULL,
    -- Signed by the chair (name), then published: the PDF/A in the file store and its digest.
    signed_by TEXT,
    published_at BIGINT,
    file_id TEXT,
    sha256 TEXT
);
CREATE UNIQUE INDEX deliberations_numero ON deliberations (tenant_id, numero);
CREATE UNIQUE INDEX deliberations_point ON deliberations (tenant_id, point_id);
CREATE INDEX deliberations_published ON deliberations (tenant_id, published_at);
