-- The dispatcher's next message: the first queued one of a lane, in the
-- order it was queued (`created_at, batch_seq, id`), that may go now
-- (`not_before`). `send_queue_due` ended at `not_before`, so the database
-- fetched every due row of the lane and sorted them for each message sent:
-- a session with a long backlog paid for all of it on every send. This
-- index is in the sending order, with `not_before` last so the check needs
-- no table row: the first due entry is the answer. It also covers the
-- backlog count (`session_id, status, lane, not_before`), so it replaces
-- `send_queue_due` rather than adding a fifth index to every write.
DROP INDEX IF EXISTS send_queue_due;
CREATE INDEX IF NOT EXISTS send_queue_next
    ON send_queue (session_id, status, lane, created_at, batch_seq, id, not_before);
