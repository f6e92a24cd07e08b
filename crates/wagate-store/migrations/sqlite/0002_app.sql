-- The gateway's own tables: tenants and their API keys, sessions, messages.
CREATE TABLE IF NOT EXISTS tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS api_keys (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name         TEXT,
    key_hash     TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS sessions (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL,
    status_reason TEXT,
    desired       TEXT NOT NULL DEFAULT 'running',
    device_id     INTEGER,
    phone         TEXT,
    push_name     TEXT,
    platform      TEXT,
    connected_at  INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
);
CREATE INDEX IF NOT EXISTS sessions_tenant_created ON sessions (tenant_id, created_at);
CREATE INDEX IF NOT EXISTS sessions_phone ON sessions (phone);

CREATE TABLE IF NOT EXISTS messages (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id   TEXT NOT NULL,
    chat_id      TEXT NOT NULL,
    wa_id        TEXT NOT NULL,
    from_me      INTEGER NOT NULL,
    sender       TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    msg_type     TEXT NOT NULL,
    body         TEXT,
    wa_timestamp INTEGER NOT NULL,
    status       TEXT NOT NULL,
    quoted_id    TEXT,
    push_name    TEXT,
    created_at   INTEGER NOT NULL,
    UNIQUE (session_id, chat_id, wa_id)
);
CREATE INDEX IF NOT EXISTS messages_chat ON messages (session_id, chat_id, seq);
CREATE INDEX IF NOT EXISTS messages_wa_id ON messages (session_id, wa_id);
