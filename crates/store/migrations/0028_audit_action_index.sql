-- Counting recent events of one kind (starts without an account from one network) stays fast
-- however long the journal.
CREATE INDEX audit_events_action_at ON audit_events (action, at);
