-- The intents' log knows no area: the id of what an intent made or changed, and
-- whether an applied intent leaves the day billed (a late cancellation, which is
-- applied, not rejected).
ALTER TABLE mutations RENAME COLUMN reservation_id TO ref_id;
ALTER TABLE mutations ADD COLUMN billed BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE mutations SET status = 'applied', billed = TRUE WHERE code = 'cancel_deadline_passed';
CREATE INDEX mutations_created ON mutations (created_at);
