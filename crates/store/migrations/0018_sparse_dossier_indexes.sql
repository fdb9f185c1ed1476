-- Most dossiers have no tracking code (filed online), no decision yet, and drafts no deadline:
-- their rows need no entry in these indexes, and every write of a dossier (a draft saved, a
-- deposit) then updates three indexes fewer. Every query using them names a value, which
-- implies NOT NULL.
DROP INDEX dossiers_tracking;
CREATE INDEX dossiers_tracking ON dossiers (tracking_code) WHERE tracking_code IS NOT NULL;
DROP INDEX dossiers_decided;
CREATE INDEX dossiers_decided ON dossiers (decided_at) WHERE decided_at IS NOT NULL;
DROP INDEX dossiers_deadline;
CREATE INDEX dossiers_deadline ON dossiers (state, deadline_at) WHERE deadline_at IS NOT NULL;
