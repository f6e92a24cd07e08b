-- Per-tenant API rate limits, requests per minute by category; NULL keeps
-- the server's default (RATE_LIMIT_*_PER_MIN), 0 turns the category off.
ALTER TABLE tenants ADD COLUMN rate_limit_session BIGINT;
ALTER TABLE tenants ADD COLUMN rate_limit_send BIGINT;
ALTER TABLE tenants ADD COLUMN rate_limit_read BIGINT;
ALTER TABLE tenants ADD COLUMN rate_limit_webhook BIGINT;
