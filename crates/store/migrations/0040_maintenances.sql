-- Maintenances announced by the operator on the public status page (/etat). Cancelled ones stay,
-- marked, so the journal's entries keep pointing at something.
CREATE TABLE maintenances (
    id {{id}},
    services TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    cancelled_at BIGINT
);
CREATE INDEX maintenances_ends ON maintenances (ends_at);
