-- The last audit entry found intact by a check of the whole chain or of what followed the
-- previous checkpoint: the operator's page checks only the entries after it, and the whole chain
-- is checked again every day (and by `guichet audit verify`). full_at: when the whole chain was
-- last found intact. A check that finds the chain broken removes the row.
CREATE TABLE audit_checkpoint (
    singleton BIGINT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    last_hash TEXT NOT NULL,
    full_at BIGINT NOT NULL
);
