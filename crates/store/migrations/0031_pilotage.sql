-- Figures of public action (crates/domain/src/pilotage): kept up to date in the transaction of
-- each change, so that pages read a few aggregate rows and never count dossiers one by one.

-- The aidant who filed a dossier (at a help structure's counter, or under a mandat).
ALTER TABLE dossiers ADD COLUMN aidant_id BIGINT;
-- "Dites-le-nous une fois" measured at the deposit: answers repeating what the profile held.
ALTER TABLE dossiers ADD COLUMN asked_again BIGINT;

CREATE TABLE dossier_figures (
    tenant_id BIGINT NOT NULL,
    demarche_id BIGINT NOT NULL,
    -- Paris calendar month, "2026-12".
    month TEXT NOT NULL,
    -- en_ligne | aidant | guichet
    channel TEXT NOT NULL,
    deposited BIGINT NOT NULL DEFAULT 0,
    measured BIGINT NOT NULL DEFAULT 0,
    asked_again BIGINT NOT NULL DEFAULT 0,
    corrections BIGINT NOT NULL DEFAULT 0,
    decided BIGINT NOT NULL DEFAULT 0,
    accepted BIGINT NOT NULL DEFAULT 0,
    refused BIGINT NOT NULL DEFAULT 0,
    closed BIGINT NOT NULL DEFAULT 0,
    tacit BIGINT NOT NULL DEFAULT 0,
    with_deadline BIGINT NOT NULL DEFAULT 0,
    within_deadline BIGINT NOT NULL DEFAULT 0,
    ratings BIGINT NOT NULL DEFAULT 0,
    rating_sum BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, demarche_id, month, channel)
);
CREATE INDEX dossier_figures_month ON dossier_figures (month);

-- Processing times of the decisions of a month, by histogram bucket (first day of the bucket).
CREATE TABLE dossier_delays (
    tenant_id BIGINT NOT NULL,
    demarche_id BIGINT NOT NULL,
    month TEXT NOT NULL,
    bucket BIGINT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, demarche_id, month, bucket)
);

CREATE TABLE signalement_figures (
    tenant_id BIGINT NOT NULL,
    category_id BIGINT NOT NULL,
    commune_insee TEXT NOT NULL,
    -- Paris month of the report.
    month TEXT NOT NULL,
    reported BIGINT NOT NULL DEFAULT 0,
    resolved BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    resolution_days BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, category_id, commune_insee, month)
);

-- "Comment s'est passée cette démarche ?": once after the deposit, once after the decision.
CREATE TABLE satisfaction (
    dossier_id BIGINT NOT NULL,
    -- depot | decision
    moment TEXT NOT NULL,
    tenant_id BIGINT NOT NULL,
    demarche_id BIGINT NOT NULL,
    score BIGINT NOT NULL,
    comment TEXT,
    at BIGINT NOT NULL,
    PRIMARY KEY (dossier_id, moment)
);
CREATE INDEX satisfaction_tenant ON satisfaction (tenant_id, at);

-- The platform's own service measures, by Paris day: page requests, failures (5xx), total time.
CREATE TABLE service_days (
    day TEXT PRIMARY KEY,
    requests BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    total_ms BIGINT NOT NULL DEFAULT 0
);

-- The collectivité's declared accessibility audit (RGAA): conformity rate and date.
ALTER TABLE tenants ADD COLUMN accessibility_rate BIGINT;
ALTER TABLE tenants ADD COLUMN accessibility_audited TEXT;
