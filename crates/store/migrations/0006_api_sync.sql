-- Partner software syncs dossiers by modification time: (updated_at, id) is its cursor.
CREATE INDEX dossiers_sync ON dossiers (tenant_id, demarche_id, updated_at, id);
