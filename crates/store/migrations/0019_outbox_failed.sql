-- The operator's page counts the mails given up on: an index of those rows only (few), so that
-- the count never reads the sent ones (nearly all).
CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed';
