-- A session's behaviour settings as the session chose them (JSON: rejectCalls,
-- callRejectMessage, alwaysOnline, autoRead, ignore{groups, broadcasts,
-- status, channels}); a field left out follows the SESSION_* defaults.
-- NULL: nothing chosen.
ALTER TABLE sessions ADD COLUMN settings TEXT;
