-- The labels of a session's account (WhatsApp Business), as WhatsApp's app
-- state holds them, whichever device changed them last: the id WhatsApp
-- knows a label by, its name and its colour (an index into WhatsApp's
-- palette). A deleted label has no row.
CREATE TABLE IF NOT EXISTS labels (
    session_id TEXT NOT NULL,
    label_id   TEXT NOT NULL,
    name       TEXT NOT NULL,
    color      BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, label_id)
);

-- Which chats carry which label. A row may name a label the session has not
-- heard of yet (the association synced first); lists join on labels.
CREATE TABLE IF NOT EXISTS chat_labels (
    session_id TEXT NOT NULL,
    label_id   TEXT NOT NULL,
    chat_id    TEXT NOT NULL,
    PRIMARY KEY (session_id, label_id, chat_id)
);
