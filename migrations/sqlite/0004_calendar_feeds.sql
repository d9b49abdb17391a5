-- A family's secret iCalendar address; only its hash is kept. Revoking deletes it.
CREATE TABLE calendar_feeds (
    family_id   BLOB PRIMARY KEY REFERENCES families (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
);
