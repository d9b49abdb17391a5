-- How long a validated document counts: until replaced, to the end of the school
-- year it was validated in (31 August), or until a date the agent sets.
ALTER TABLE document_types ADD COLUMN validity TEXT NOT NULL DEFAULT 'until_replaced';
