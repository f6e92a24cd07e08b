-- Media a message carried, stored under MEDIA_DIR: the file id the files
-- endpoint looks up (never a path from the client), what it is, and where.
ALTER TABLE messages ADD COLUMN media_file_id TEXT;
ALTER TABLE messages ADD COLUMN media_mimetype TEXT;
ALTER TABLE messages ADD COLUMN media_filename TEXT;
ALTER TABLE messages ADD COLUMN media_size INTEGER;
ALTER TABLE messages ADD COLUMN media_path TEXT;
CREATE INDEX IF NOT EXISTS messages_media_file ON messages (session_id, media_file_id);
