-- The annexes of an agenda item (plans, budgets, conventions): PDF files sent with the
-- convocation, read by the members, and transmitted with the délibération to the contrôle de
-- légalité. The bytes are in the file store.
CREATE TABLE annexes (
    id {{id}},
    tenant_id BIGINT NOT NULL,
    point_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    file_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX annexes_point ON annexes (tenant_id, point_id, id);
