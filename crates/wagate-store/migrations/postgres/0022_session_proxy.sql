-- The proxy a session's WhatsApp traffic (WebSocket and media) goes
-- through. `url` is the session's own (set through the API, password
-- included: the gateway must hand it to the proxy); `pool_url` is the
-- `PROXY_POOL` entry the session was given on its first start, kept so it
-- stays on the same proxy across restarts. A row exists only for sessions
-- that have either; the session's own wins.
CREATE TABLE IF NOT EXISTS session_proxies (
    session_id TEXT PRIMARY KEY,
    url        TEXT,
    pool_url   TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS session_proxies_pool ON session_proxies (pool_url);
