-- Aidants and mandats: help structures (France Services, CCAS, associations) registered by the
-- operator or a collectivité, their aidants, and the mandats usagers give them.
CREATE TABLE help_structures (
    id {{id}},
    name TEXT NOT NULL,
    -- france_services | ccas | association | autre
    kind TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    -- The collectivité that registered it; NULL: the operator.
    tenant_id BIGINT REFERENCES tenants(id),
    created_at BIGINT NOT NULL
);

CREATE TABLE aidants (
    structure_id BIGINT NOT NULL REFERENCES help_structures(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    -- 1: manages the structure's mandats (may revoke them).
    responsable BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (structure_id, user_id)
);
CREATE INDEX aidants_user ON aidants (user_id);

CREATE TABLE mandats (
    id {{id}},
    structure_id BIGINT NOT NULL REFERENCES help_structures(id),
    aidant_user_id BIGINT NOT NULL REFERENCES users(id),
    usager_user_id BIGINT NOT NULL REFERENCES users(id),
    -- JSON list of domain codes.
    domains TEXT NOT NULL,
    -- franceconnect | document
    identity_check TEXT NOT NULL,
    -- For a document checked in person: its kind and the last characters of its number.
    identity_detail TEXT NOT NULL DEFAULT '',
    consent_at BIGINT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    revoked_at BIGINT,
    revoked_by TEXT,
    verification_code TEXT NOT NULL UNIQUE,
    expiry_warned_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX mandats_usager ON mandats (usager_user_id);
CREATE INDEX mandats_aidant ON mandats (aidant_user_id);

-- A session in which an aidant acts for a usager under a mandat.
ALTER TABLE sessions ADD COLUMN acting_mandat_id BIGINT;
