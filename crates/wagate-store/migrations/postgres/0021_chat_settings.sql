-- Each chat's settings as WhatsApp's app state holds them, whichever device
-- (this session, the phone, another companion) changed them last: archived,
-- pinned (since when, epoch ms; NULL = not pinned), muted (until when, epoch
-- ms; -1 = forever; NULL = not muted) and marked unread. A chat with no row
-- has none of them.
CREATE TABLE IF NOT EXISTS chat_settings (
    session_id    TEXT NOT NULL,
    chat_id       TEXT NOT NULL,
    archived      BIGINT NOT NULL DEFAULT 0,
    pinned_at     BIGINT,
    muted_until   BIGINT,
    marked_unread BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (session_id, chat_id)
);

-- A message the account starred (on any of its devices).
ALTER TABLE messages ADD COLUMN starred BIGINT NOT NULL DEFAULT 0;
