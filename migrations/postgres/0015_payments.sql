-- Payments (issue 14): PayFiP operations started by families and payments an
-- agent records at the desk, allocated to invoice lines; a mistaken payment is
-- reversed by an opposite entry, never deleted.

-- The régie's PayFiP client number (6 digits; NULL: no online payment) and its
-- mode: T test, X activation, W production (PayFiP's `saisie`).
ALTER TABLE regies ADD COLUMN payfip_numcli TEXT;
ALTER TABLE regies ADD COLUMN payfip_mode TEXT NOT NULL DEFAULT 'test'
    CHECK (payfip_mode IN ('test', 'activation', 'production'));

CREATE TABLE payments (
    id                   UUID PRIMARY KEY,
    family_id            UUID NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    regie_id             UUID NOT NULL REFERENCES regies (id),
    method               TEXT NOT NULL
        CHECK (method IN ('payfip', 'cheque', 'cash', 'cesu', 'ancv', 'transfer')),
    status               TEXT NOT NULL
        CHECK (status IN ('pending', 'paid', 'refused', 'abandoned', 'expired', 'failed', 'reversed')),
    -- asked (online) or received (desk), in cents; negative for a reversal
    amount_cents         BIGINT NOT NULL,
    -- what the bank took (online), once PayFiP said so
    paid_cents           BIGINT,
    -- the invoice an online payment is for
    invoice_id           UUID REFERENCES invoices (id),
    -- the parent who paid online
    account_id           UUID REFERENCES accounts (id),
    -- the agent who recorded (or reversed) it
    recorded_by          UUID REFERENCES accounts (id),
    received_on          DATE,
    reference            TEXT,
    payfip_idop          TEXT UNIQUE,
    payfip_resultrans    TEXT,
    -- PayFiP took another amount than the one asked: an agent must look at it
    mismatch             BOOLEAN NOT NULL DEFAULT FALSE,
    reverses_payment_id  UUID UNIQUE REFERENCES payments (id),
    reason               TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    settled_at           TIMESTAMPTZ
);
CREATE INDEX payments_family ON payments (family_id, created_at);
CREATE INDEX payments_pending ON payments (status, created_at);
CREATE INDEX payments_invoice ON payments (invoice_id);

-- Which line a payment paid, and how much; a reversal adds the opposite rows.
CREATE TABLE payment_allocations (
    id          UUID PRIMARY KEY,
    payment_id  UUID NOT NULL REFERENCES payments (id),
    invoice_id  UUID NOT NULL REFERENCES invoices (id),
    line_id     UUID NOT NULL REFERENCES invoice_lines (id),
    cents       BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX payment_allocations_line ON payment_allocations (line_id);
CREATE INDEX payment_allocations_invoice ON payment_allocations (invoice_id);
CREATE INDEX payment_allocations_payment ON payment_allocations (payment_id);
