-- How many deliveries a webhook may have in flight at once: 1 (the
-- default) delivers strictly in log order; more relaxes the order.
ALTER TABLE webhooks ADD COLUMN concurrency BIGINT NOT NULL DEFAULT 1;
