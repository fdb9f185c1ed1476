-- Dossiers filed online without an account: the hash of the link's token that opens the dossier
-- in the browser that followed it (sent to the address the person gave, which the click confirms).
ALTER TABLE dossiers ADD COLUMN guest_token_hash TEXT;
CREATE INDEX dossiers_guest_token ON dossiers (guest_token_hash);
