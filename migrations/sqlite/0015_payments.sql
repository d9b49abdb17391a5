-- SQLite twin of migrations/postgres/0015.
-- Payments (issue 14): PayFiP operations started by families and payments an
-- agent records at the desk, allocated to invoice lines; a mistaken payment is
-- reversed by an opposite entry, never deleted.

-- The régie's PayFiP client number (6 digits; NULL: no online payment) and its
-- mode: T test, X activation, W production (PayFiP's `saisie`).
ALTER TABLE regies ADD COLUMN payfip_numcli TEXT;
ALTER TABLE regies ADD COLUMN payfip_mode TEXT NOT NULL DEFAULT 'test'
    CHECK (payfip_mode IN ('test', 'activation', 'production'));

CREATE TABLE payments (
    id                   BLOB PRIMARY KEY,
    family_id            BLOB NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    regie_id             BLOB NOT NULL REFERENCES regies (id),
    method               TEXT NOT NULL
        CHECK (method IN ('payfip', 'cheque', 'cash', 'cesu', 'ancv', 'transfer')),
    status               TEXT NOT NULL
        CHECK (status IN ('pending', 'paid', 'refused', 'abandoned', 'expired', 'failed', 'reversed')),
    -- asked (online) or received (desk), in cents; negative for a reversal
    amount_cents         INTEGER NOT NULL,
    -- what the bank took (online), once PayFiP said so
    paid_cents           INTEGER,
    -- the invoice an online payment is for
    invoice_id           BLOB REFERENCES invoices (id),
    -- the parent who paid online
    account_id           BLOB REFERENCES accounts (id),
    -- the agent who recorded (or reversed) it
    recorded_by          BLOB REFERENCES accounts (id),
    received_on          TEXT,
    reference            TEXT,
    payfip_idop          TEXT UNIQUE,
    payfip_resultrans    TEXT,
    -- PayFiP took another amount than the one asked: an agent must look at it
    mismatch             INTEGER NOT NULL DEFAULT 0,
    reverses_payment_id  BLOB UNIQUE REFERENCES payments (id),
    reason               TEXT,
    created_at           TEXT NOT NULL,
    settled_at           TEXT
);
CREATE INDEX payments_family ON payments (family_id, created_at);
CREATE INDEX payments_pending ON payments (status, created_at);
CREATE INDEX payments_invoice ON payments (invoice_id);

-- Which line a payment paid, and how much; a reversal adds the opposite rows.
CREATE TABLE payment_allocations (
    id          BLOB PRIMARY KEY,
    payment_id  BLOB NOT NULL REFERENCES payments (id),
    invoice_id  BLOB NOT NULL REFERENCES invoices (id),
    line_id     BLOB NOT NULL REFERENCES invoice_lines (id),
    cents       INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX payment_allocations_line ON payment_allocations (line_id);
CREATE INDEX payment_allocations_invoice ON payment_allocations (invoice_id);
CREATE INDEX payment_allocations_payment ON payment_allocations (payment_id);
