-- The durable send queue: every outgoing message is a row here before it is
-- sent, with the WhatsApp id it will carry chosen up front, so a send
-- interrupted by a crash is retried under the same id and reaches the
-- recipient once.
CREATE TABLE IF NOT EXISTS send_queue (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    session_id       TEXT NOT NULL,
    wa_id            TEXT NOT NULL,
    chat_id          TEXT NOT NULL,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    lane             TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    not_before       BIGINT NOT NULL DEFAULT 0,
    batch_id         TEXT,
    batch_seq        BIGINT,
    idempotency_key  TEXT,
    request_hash     TEXT,
    error_code       TEXT,
    error_message    TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    sent_at          BIGINT
);
CREATE INDEX IF NOT EXISTS send_queue_due ON send_queue (session_id, status, lane, not_before);
CREATE INDEX IF NOT EXISTS send_queue_sent ON send_queue (session_id, sent_at);
CREATE INDEX IF NOT EXISTS send_queue_batch ON send_queue (batch_id, batch_seq);
CREATE UNIQUE INDEX IF NOT EXISTS send_queue_idempotency ON send_queue (tenant_id, idempotency_key);

-- Bulk sends: one row per batch; its messages are send_queue rows.
CREATE TABLE IF NOT EXISTS send_batches (
    session_id       TEXT NOT NULL,
    id               TEXT NOT NULL,
    tenant_id        TEXT NOT NULL,
    status           TEXT NOT NULL,
    total            BIGINT NOT NULL,
    options          TEXT NOT NULL,
    idempotency_key  TEXT,
    request_hash     TEXT,
    created_at       BIGINT NOT NULL,
    started_at       BIGINT,
    completed_at     BIGINT,
    PRIMARY KEY (session_id, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS send_batches_idempotency ON send_batches (tenant_id, idempotency_key);

-- Per-session pacing overrides (JSON; NULL = the deployment's defaults).
ALTER TABLE sessions ADD COLUMN pacing TEXT;
