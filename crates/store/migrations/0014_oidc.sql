-- OpenID Connect logins (FranceConnect for usagers, single sign-on for agents).
-- A login under way: bound to the browser by a cookie holding `state`, used once, short-lived.
CREATE TABLE oidc_pending (
    state_hash TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    nonce TEXT NOT NULL,
    -- The signed-in account to link the identity to, if any.
    user_id BIGINT REFERENCES users(id),
    return_to TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Identities of a provider linked to accounts.
CREATE TABLE oidc_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX oidc_identities_user ON oidc_identities (user_id);

-- A session opened through a provider keeps its ID token, for the logout at the provider.
ALTER TABLE sessions ADD COLUMN oidc_provider TEXT;
ALTER TABLE sessions ADD COLUMN oidc_id_token TEXT;
