-- Outbox worker configurations (`wagate worker`): which applications of the
-- outbox table a worker serves, through which circle of sessions, at what
-- pace, and where it reports each row's outcome. Workers read them through
-- the API and reload them every 30 seconds.
CREATE TABLE IF NOT EXISTS outbox_workers (
    id                   BIGSERIAL PRIMARY KEY,
    tenant_id            TEXT NOT NULL,
    name                 TEXT NOT NULL,
    -- NULL: any connected session the worker's key can see.
    circle               TEXT,
    -- "App1", "App1, App2" or "*".
    application          TEXT NOT NULL,
    interval_seconds     BIGINT NOT NULL,
    -- NULL: no jitter; else a random pause between the two bounds.
    interval_max_seconds BIGINT,
    enabled              BIGINT NOT NULL,
    webhook_url          TEXT,
    webhook_secret       TEXT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
);
