-- Push tokens (FCM registration tokens). A token belongs to one account: registering
-- it again from another account moves it.
CREATE TABLE devices (
    token         TEXT PRIMARY KEY,
    account_id    BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    platform      TEXT NOT NULL CHECK (platform IN ('android', 'ios')),
    locale        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL
);
CREATE INDEX devices_account ON devices (account_id);
