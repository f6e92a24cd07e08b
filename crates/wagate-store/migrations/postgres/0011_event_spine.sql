-- The event spine without a global writer lock: a writer inserts its event
-- with seq NULL and commits; the sequencer numbers committed rows in batches
-- under the single event_head row (see wagate-store's app/events.rs), and
-- event_head.last_seq is the head below which no event can appear any more.
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ALTER COLUMN seq DROP DEFAULT;
ALTER TABLE events ALTER COLUMN seq DROP NOT NULL;
DROP SEQUENCE IF EXISTS events_seq_seq;
ALTER TABLE events ADD COLUMN id BIGSERIAL PRIMARY KEY;
CREATE UNIQUE INDEX events_by_seq ON events (seq);
CREATE INDEX events_unsequenced ON events (id) WHERE seq IS NULL;
CREATE TABLE event_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq  BIGINT NOT NULL
);
INSERT INTO event_head (id, last_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events;
