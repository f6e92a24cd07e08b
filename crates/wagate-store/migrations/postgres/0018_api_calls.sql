-- API calls per tenant and day (epoch day number), for tenant statistics.
-- The API counts in memory and adds its counts here every few seconds.
CREATE TABLE IF NOT EXISTS api_calls (
    tenant_id TEXT NOT NULL,
    day       BIGINT NOT NULL,
    calls     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
