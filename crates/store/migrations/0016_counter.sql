-- The counter (accueil physique): an agent or an aidant files a dossier for a walk-in person
-- who has no account. The person follows it with its tracking code and their last name, and may
-- claim it into an account later.
ALTER TABLE dossiers ADD COLUMN channel TEXT NOT NULL DEFAULT 'en_ligne';
-- Who filed it at the counter (an agent's or an aidant's account), while it has no usager.
ALTER TABLE dossiers ADD COLUMN counter_by BIGINT;
-- Printed on the accusé de réception, with the last name.
ALTER TABLE dossiers ADD COLUMN tracking_code TEXT;
ALTER TABLE dossiers ADD COLUMN applicant_last_name TEXT;
-- How to reach the person (typed at the counter).
ALTER TABLE dossiers ADD COLUMN counter_contact TEXT;
CREATE INDEX dossiers_tracking ON dossiers (tracking_code);
