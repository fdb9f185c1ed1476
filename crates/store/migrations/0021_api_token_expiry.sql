-- API tokens expire: at most a year after their creation (tokens created before this column get
-- that year from their creation date, computed at use).
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
