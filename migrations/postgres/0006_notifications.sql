-- The notification outbox: one row per delivery (a push to one phone, or the
-- fallback mail to one account), written in the transaction of the change that
-- caused it, claimed by the dispatcher with a lease, sent outside any transaction.
CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id       UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    channel          TEXT NOT NULL CHECK (channel IN ('push', 'mail')),
    -- push only: the phone's FCM token and platform
    token            TEXT,
    platform         TEXT,
    kind             TEXT NOT NULL,
    ref_id           UUID NOT NULL,
    title            TEXT NOT NULL,
    body             TEXT NOT NULL,
    -- kind:ref_id, so the phone folds a duplicate sent after a crash into one
    collapse_key     TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dropped')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    lease_until      TIMESTAMPTZ,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    done_at          TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

-- Per-account choices; no row means the defaults (every kind, mail fallback on).
CREATE TABLE notification_settings (
    account_id     UUID PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    mail_fallback  BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE notification_mutes (
    account_id  UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    PRIMARY KEY (account_id, kind)
);

-- Decisions of the services on documents.
ALTER TABLE documents ADD COLUMN refusal_reason TEXT;
ALTER TABLE documents ADD COLUMN decided_at TIMESTAMPTZ;
ALTER TABLE documents ADD COLUMN decided_by UUID REFERENCES accounts (id) ON DELETE SET NULL;
CREATE INDEX documents_status ON documents (status, created_at);
