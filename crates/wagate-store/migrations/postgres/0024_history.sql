-- Messages the phone pushed when the session linked (WhatsApp's history
-- sync): stored like any message, marked so that clients can tell them from
-- what arrived live (they were never emitted as `message.received`).
ALTER TABLE messages ADD COLUMN from_history BIGINT NOT NULL DEFAULT 0;
