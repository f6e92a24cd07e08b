-- What external apps keep on a session: an availability flag (`used`), free
-- notes, the circle (named group of sessions) it belongs to, and the device
-- identity the phone shows under Linked Devices.
ALTER TABLE sessions ADD COLUMN used INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN notes TEXT;
ALTER TABLE sessions ADD COLUMN circle TEXT;
ALTER TABLE sessions ADD COLUMN device_name TEXT;
ALTER TABLE sessions ADD COLUMN device_os TEXT;
CREATE INDEX IF NOT EXISTS sessions_tenant_circle ON sessions (tenant_id, circle);
