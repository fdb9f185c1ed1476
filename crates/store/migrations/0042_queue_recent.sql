-- The agents' queue without a state ("tous") or with several ("en retard"), newest first: read
-- in the collectivité's own order. Without it PostgreSQL walks the primary key backwards through
-- every other collectivité's newer dossiers (2.6 s a page for Dijon at ten million dossiers,
-- docs/PERFORMANCE.md). Expand only.
CREATE INDEX dossiers_tenant_recent ON dossiers (tenant_id, id);
