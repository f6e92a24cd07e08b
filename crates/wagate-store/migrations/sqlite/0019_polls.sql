-- Polls a session sent or received, and the votes it has seen on them.
-- A poll's options and its message secret (hex, 32 bytes; NULL when the
-- poll arrived without one) are what decrypting and counting votes needs;
-- the message itself is in `messages` (type `poll`).
CREATE TABLE IF NOT EXISTS polls (
    session_id       TEXT NOT NULL,
    chat_id          TEXT NOT NULL,
    wa_id            TEXT NOT NULL,
    creator          TEXT NOT NULL,
    name             TEXT NOT NULL,
    options          TEXT NOT NULL,
    selectable_count BIGINT NOT NULL,
    secret           TEXT,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (session_id, chat_id, wa_id)
);
CREATE INDEX IF NOT EXISTS polls_wa_id ON polls (session_id, wa_id);

-- The latest vote of each voter on a poll (later votes replace earlier
-- ones; an empty selection is a withdrawn vote). `selected` is a JSON list
-- of option names; `voted_at` is the voter's own time, epoch ms.
CREATE TABLE IF NOT EXISTS poll_votes (
    session_id TEXT NOT NULL,
    chat_id    TEXT NOT NULL,
    poll_id    TEXT NOT NULL,
    voter      TEXT NOT NULL,
    selected   TEXT NOT NULL,
    voted_at   BIGINT NOT NULL,
    PRIMARY KEY (session_id, chat_id, poll_id, voter)
);
