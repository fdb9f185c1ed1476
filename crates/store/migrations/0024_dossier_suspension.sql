-- When a correction request stopped a dossier's instruction clock; a démarche whose clock
-- resumes after a correction gives back the days that were left from then.
ALTER TABLE dossiers ADD COLUMN suspended_at BIGINT;
