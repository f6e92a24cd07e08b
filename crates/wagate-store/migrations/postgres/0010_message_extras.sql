-- What a location or contact-card message carries beyond its body (JSON:
-- {"location": {...}}, {"vcard": {...}} or {"vcards": [...]}); NULL for
-- every other message.
ALTER TABLE messages ADD COLUMN extras TEXT;
