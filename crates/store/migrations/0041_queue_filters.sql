-- The agents' queue filtered by one démarche (all states) or by a month of deposit, read in the
-- page's order instead of sorted, at ten million dossiers (docs/PERFORMANCE.md). Expand only.
CREATE INDEX dossiers_demarche_recent ON dossiers (tenant_id, demarche_id, id);
CREATE INDEX dossiers_submitted ON dossiers (tenant_id, submitted_at);
