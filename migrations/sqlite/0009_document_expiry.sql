-- When the family was told that a validated document ran out (once per document).
ALTER TABLE documents ADD COLUMN expiry_notified_at TEXT;
