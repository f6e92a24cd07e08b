-- Received media waiting to be downloaded, off the ack path: the message
-- row is stored at once with its (future) file id, and a worker downloads
-- the file from WhatsApp's media hosts, stores it, and removes the row.
-- `source` is what the download needs (JSON: direct path, keys, hashes,
-- declared length, mimetype). A row left by a crash is picked up again.
CREATE TABLE incoming_media (
    session_id TEXT NOT NULL,
    wa_id TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    file_id TEXT NOT NULL,
    path TEXT NOT NULL,
    source TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, wa_id)
);
CREATE INDEX incoming_media_due ON incoming_media (next_at);
