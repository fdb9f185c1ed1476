-- The minutes (procès-verbal) of each session (L2121-15): drafted by the session's secretary,
-- adopted (arrêté) at the beginning of the next session, signed by the chair and the secretary,
-- then published as PDF/A within the week. The secretary is named at each session's opening.

ALTER TABLE seances ADD COLUMN secretaire_id BIGINT;

CREATE TABLE proces_verbaux (
    tenant_id BIGINT NOT NULL,
    seance_id BIGINT NOT NULL,
    -- The substance of the debates, as the secretary wrote it; the platform adds what it
    -- recorded (presence, proxies, agenda, votes by name).
    texte TEXT NOT NULL,
    drafted_at BIGINT NOT NULL,
    -- The session at whose beginning it was adopted.
    adopted_seance_id BIGINT,
    adopted_at BIGINT,
    signed_by TEXT,
    published_at BIGINT,
    file_id TEXT,
    sha256 TEXT,
    PRIMARY KEY (tenant_id, seance_id)
);
CREATE INDEX proces_verbaux_published ON proces_verbaux (tenant_id, published_at);
