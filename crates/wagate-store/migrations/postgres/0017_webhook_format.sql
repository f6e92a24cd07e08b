-- The body and headers a webhook's deliveries take: `openwa` (the
-- contract's, the default) or a drop-in system's (`wago`, …).
ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'openwa';
