-- A mandat is given by the usager, not written by the aidant: the aidant asks (a request), the
-- usager confirms with a code sent to the address their account verified, or by signing in with
-- FranceConnect at the counter. The mandat then carries a link to revoke it at once.
CREATE TABLE mandat_requests (
    id {{id}},
    structure_id BIGINT NOT NULL REFERENCES help_structures(id),
    aidant_user_id BIGINT NOT NULL REFERENCES users(id),
    usager_user_id BIGINT NOT NULL REFERENCES users(id),
    -- JSON list of domain codes.
    domains TEXT NOT NULL,
    length TEXT NOT NULL,
    identity_check TEXT NOT NULL,
    identity_detail TEXT NOT NULL DEFAULT '',
    -- Hash of the code sent to the usager (code requests).
    code_hash TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    mandat_id BIGINT
);
CREATE INDEX mandat_requests_aidant ON mandat_requests (aidant_user_id, created_at);
ALTER TABLE mandats ADD COLUMN consent_method TEXT;
ALTER TABLE mandats ADD COLUMN revocation_token_hash TEXT;
CREATE INDEX mandats_revocation ON mandats (revocation_token_hash);
