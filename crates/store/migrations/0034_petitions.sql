-- Pétitions addressed to a collectivité, their signatures (one per person, the year kept for the
-- one-demand-of-consultation-a-year rule of L1112-16) and the collectivité's figures.

CREATE TABLE participation_settings (
    tenant_id BIGINT PRIMARY KEY,
    -- Registered electors (for the thresholds of demands of consultation).
    electeurs BIGINT,
    -- Signatures from which the collectivité answers a simple pétition publicly.
    seuil_petition BIGINT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE petitions (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    -- simple | consultation
    demande TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    author_id BIGINT NOT NULL,
    signatures BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    closes_at BIGINT NOT NULL,
    answer TEXT,
    answered_at BIGINT
);
CREATE INDEX petitions_tenant ON petitions (tenant_id, created_at);

CREATE TABLE petition_signatures (
    tenant_id BIGINT NOT NULL,
    petition_id BIGINT NOT NULL,
    voter_hash TEXT NOT NULL,
    demande TEXT NOT NULL,
    -- Paris calendar year of the signature.
    year BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, petition_id, voter_hash)
);
CREATE INDEX petition_signatures_voter ON petition_signatures (tenant_id, voter_hash, demande, year);
