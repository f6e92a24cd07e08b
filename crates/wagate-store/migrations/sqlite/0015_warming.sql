-- Warming rooms: a tenant's own sessions (or one session and a person) in a
-- slow conversation before real traffic. `round` and `position` are where
-- the room is; a line is queued under the key warming-<room>-<round>-<line>
-- and its history row written before the position moves on.
CREATE TABLE IF NOT EXISTS warming_rooms (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    name          TEXT NOT NULL,
    mode          TEXT NOT NULL,
    status        TEXT NOT NULL,
    pause_reason  TEXT,
    pause_auto    BIGINT NOT NULL DEFAULT 0,
    actors        TEXT NOT NULL,
    settings      TEXT NOT NULL,
    round         BIGINT NOT NULL DEFAULT 0,
    position      BIGINT NOT NULL DEFAULT 0,
    next_at       BIGINT NOT NULL DEFAULT 0,
    lease_owner   TEXT,
    lease_until   BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    started_at    BIGINT,
    finished_at   BIGINT
);
CREATE INDEX IF NOT EXISTS warming_rooms_due ON warming_rooms (status, next_at);
CREATE INDEX IF NOT EXISTS warming_rooms_tenant ON warming_rooms (tenant_id, created_at);

CREATE TABLE IF NOT EXISTS warming_lines (
    id          TEXT PRIMARY KEY,
    room_id     TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS warming_lines_room ON warming_lines (room_id, seq);

-- What a room said (or rendered, in a dry run), one row per round and line.
CREATE TABLE IF NOT EXISTS warming_messages (
    id            TEXT PRIMARY KEY,
    room_id       TEXT NOT NULL,
    round         BIGINT NOT NULL,
    line          BIGINT NOT NULL,
    actor         TEXT NOT NULL,
    from_session  TEXT,
    to_session    TEXT,
    to_chat       TEXT NOT NULL,
    text          TEXT NOT NULL,
    status        TEXT NOT NULL,
    queue_id      TEXT,
    error         TEXT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS warming_messages_line ON warming_messages (room_id, round, line);
CREATE INDEX IF NOT EXISTS warming_messages_from ON warming_messages (from_session, created_at);
CREATE INDEX IF NOT EXISTS warming_messages_to ON warming_messages (to_session, created_at);
