-- Residents' participation (crates/domain/src/participation.rs): consultations and their
-- answers, one per person.

CREATE TABLE consultations (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    -- The questions, as JSON (domain `Question`s).
    questions TEXT NOT NULL,
    -- residents | certifies
    public TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX consultations_tenant ON consultations (tenant_id, ends_at);

CREATE TABLE consultation_answers (
    tenant_id BIGINT NOT NULL,
    consultation_id BIGINT NOT NULL,
    -- Who answered, as a key that says nothing of them: the hash of their FranceConnect
    -- identity (one person) or of their account.
    voter_hash TEXT NOT NULL,
    -- The answers, as JSON (domain `Reponse`s).
    answers TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, consultation_id, voter_hash)
);
