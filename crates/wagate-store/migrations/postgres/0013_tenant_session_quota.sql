-- A tenant's own session quota; NULL follows the server's
-- MAX_SESSIONS_PER_TENANT (default: unlimited).
ALTER TABLE tenants ADD COLUMN max_sessions BIGINT;
