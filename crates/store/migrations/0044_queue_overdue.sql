-- The overdue queue ("en retard") of a collectivité, in deadline order: its open dossiers by
-- deadline. Without it a page walks every dossier of the collectivité deposited since the
-- oldest deadline still open (15.5 ms p99 on SQLite at 10,000,000 dossiers,
-- docs/PERFORMANCE.md). The condition is the queue's own, so both databases may use it.
-- Expand only.
CREATE INDEX dossiers_overdue ON dossiers (tenant_id, deadline_at)
    WHERE state IN ('depose', 'en_instruction') AND deadline_at IS NOT NULL;
