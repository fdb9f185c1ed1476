-- Retention: a decided dossier is anonymised once its démarche's retention period has passed;
-- the usager is warned two weeks before.
ALTER TABLE dossiers ADD COLUMN retention_warned_at BIGINT;
ALTER TABLE dossiers ADD COLUMN anonymised_at BIGINT;
CREATE INDEX dossiers_decided ON dossiers (decided_at);
