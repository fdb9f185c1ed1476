-- Workers claim the oldest e-mails and webhook events waiting (ORDER BY id LIMIT n). An index of
-- the waiting rows only, in id order: a claim reads n entries, however many rows were sent before
-- or wait behind, and whatever the planner's statistics say (an index on the status would lead
-- it to read every waiting row and sort them, or to walk the sent ones first).
DROP INDEX outbox_pending;
CREATE INDEX outbox_waiting ON outbox (id) WHERE status = 'pending';
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_waiting ON webhook_deliveries (id) WHERE status = 'pending';
