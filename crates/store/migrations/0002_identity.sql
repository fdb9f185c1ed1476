-- Identity: accounts, sessions, roles, invitations, tokens, throttling, the audit journal and the
-- e-mail outbox.

-- Secrets shared by every web node (CSRF key), generated once.
CREATE TABLE platform_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Usagers, agents and operators. kind = 'usager' | 'agent'.
CREATE TABLE users (
    id {{id}},
    kind TEXT NOT NULL,
    email TEXT UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    email_confirmed_at BIGINT,
    totp_secret TEXT,
    totp_enabled_at BIGINT,
    totp_last_step BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);

CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users(id),
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- Server-side sessions; the cookie holds a random value, the table only its SHA-256.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    mfa_done BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Roles of agents within a collectivité.
CREATE TABLE memberships (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    granted_by BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE invitations (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    id {{id}},
    email TEXT NOT NULL,
    roles TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    invited_by BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX invitations_tenant ON invitations (tenant_id, id);

-- Single-use links sent by e-mail: confirm an address, reset a password.
CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    purpose TEXT NOT NULL,
    new_email TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

-- Failed logins, per account and per address, for throttling.
CREATE TABLE login_failures (
    subject TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_subject ON login_failures (subject, at);

-- API tokens of agents, scoped to one collectivité.
CREATE TABLE api_tokens (
    tenant_id BIGINT NOT NULL REFERENCES tenants(id),
    id {{id}},
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, id);

-- The audit journal: append-only, hash-chained (see crates/domain/src/audit.rs).
CREATE TABLE audit_events (
    id BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    tenant_id BIGINT,
    actor_id BIGINT,
    actor TEXT NOT NULL,
    on_behalf_of TEXT,
    action TEXT NOT NULL,
    object_type TEXT,
    object_id TEXT,
    ip TEXT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, id);
CREATE INDEX audit_events_actor ON audit_events (actor_id, id);

-- The head of the chain: the last entry's id and hash, updated in the same transaction as each
-- append. It serializes appends and reveals a removed tail.
CREATE TABLE audit_head (
    singleton BIGINT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (singleton, last_id, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- E-mails to send, drained by a background worker on any node.
CREATE TABLE outbox (
    id {{id}},
    tenant_id BIGINT,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at);
