-- The cluster: every `wagate serve` on one PostgreSQL database is a node.
-- (SQLite is single-node; the tables exist there too so both databases
-- have one schema, and stay empty.)
--
-- A node's row is its heartbeat: where it answers (`url`), whether it is
-- draining (handing its sessions over before it exits) and how many
-- sessions it may run (0: no cap).
CREATE TABLE IF NOT EXISTS cluster_nodes (
    node_id      TEXT PRIMARY KEY,
    url          TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    draining     BIGINT NOT NULL DEFAULT 0,
    max_sessions BIGINT NOT NULL DEFAULT 0
);

-- Which node runs each session. A lease is live until `expires_at` (the
-- database's clock, epoch ms); its holder renews it in batches. Every new
-- holder moves `generation` on: a write that carries an older generation
-- (a fencing token) is refused, so a node that lost a session can no
-- longer change it.
CREATE TABLE IF NOT EXISTS session_leases (
    session_id TEXT PRIMARY KEY,
    node_id    TEXT NOT NULL,
    generation BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS session_leases_node ON session_leases (node_id);

-- The same for work that must run on exactly one node: a webhook
-- endpoint's delivery worker, a broker output (`worker` names it:
-- `webhook:<id>`, `output:<id>`).
CREATE TABLE IF NOT EXISTS worker_leases (
    worker     TEXT PRIMARY KEY,
    node_id    TEXT NOT NULL,
    generation BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
