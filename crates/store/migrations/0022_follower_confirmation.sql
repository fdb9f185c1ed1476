-- Following a signalement by e-mail is confirmed by the address's owner before any mail goes out
-- ("moi aussi" without an account, Open311's `email`). Followers recorded before this migration
-- are kept as they were, confirmed.
ALTER TABLE signalement_followers ADD COLUMN confirmed_at BIGINT;
ALTER TABLE signalement_followers ADD COLUMN confirm_token_hash TEXT;
ALTER TABLE signalement_followers ADD COLUMN network_hash TEXT;
UPDATE signalement_followers SET confirmed_at = created_at;
CREATE INDEX signalement_followers_email ON signalement_followers (email, created_at);
CREATE INDEX signalement_followers_network ON signalement_followers (network_hash, created_at);
CREATE INDEX signalement_followers_token ON signalement_followers (confirm_token_hash);
