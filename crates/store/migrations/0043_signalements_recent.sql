-- A collectivité's signalements, every state, newest first: read in the collectivité's own
-- order. Without it both databases walk the primary key backwards through every other
-- collectivité's newer reports (PostgreSQL: 76 ms a page for Dijon among 1,000,000 reports,
-- docs/PERFORMANCE.md). Expand only.
CREATE INDEX signalements_tenant_recent ON signalements (tenant_id, id);
