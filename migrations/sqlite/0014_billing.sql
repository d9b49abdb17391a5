-- SQLite twin of migrations/postgres/0014.
-- Invoices (issue 12): the régies that bill, the tariff of each activity option,
-- the families' quotient familial records, billing runs, invoices and credit
-- notes with their lines, and the gapless numbering per régie and year.

-- A régie is a collecting unit of the public treasury: its own invoices, its own
-- numbering, its own PayFiP client number.
CREATE TABLE regies (
    id                BLOB PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    address           TEXT NOT NULL,
    -- days between issue and due date
    due_days          INTEGER NOT NULL CHECK (due_days BETWEEN 0 AND 365),
    -- a family's invoice below this waits for the next run (0: none)
    min_amount_cents  INTEGER NOT NULL DEFAULT 0 CHECK (min_amount_cents >= 0),
    payment_note      TEXT NOT NULL DEFAULT '',
    -- postal codes of the territory, as a JSON array: families elsewhere pay the
    -- non-resident price where a tariff has one (empty: everyone is resident)
    territory         TEXT NOT NULL DEFAULT '[]',
    created_at        TEXT NOT NULL
);

-- famille_model::billing::Tariff as JSON, per option.
CREATE TABLE tariffs (
    option_id   BLOB PRIMARY KEY REFERENCES activity_options (id) ON DELETE CASCADE,
    regie_id    BLOB NOT NULL REFERENCES regies (id),
    rule        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

-- Quotient familial records (famille_model::billing::QuotientRecord). The
-- families.qf_* columns keep the latest record for the dossier.
CREATE TABLE quotients (
    id                 BLOB PRIMARY KEY,
    family_id          BLOB NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    value              INTEGER NOT NULL CHECK (value >= 0),
    valid_from         TEXT NOT NULL,
    valid_until        TEXT,
    source             TEXT NOT NULL,
    proof_document_id  BLOB REFERENCES documents (id) ON DELETE SET NULL,
    recorded_by        BLOB,
    -- when the family was told it runs out (once per record)
    expiry_notified_at TEXT,
    created_at         TEXT NOT NULL,
    CHECK (valid_until IS NULL OR valid_until >= valid_from)
);
CREATE INDEX quotients_family ON quotients (family_id, valid_from);

-- The sources' names of issue 12 (a tax notice was `avis_imposition`).
UPDATE families SET qf_source = 'tax_notice' WHERE qf_source = 'avis_imposition';

INSERT INTO quotients (id, family_id, value, valid_from, valid_until, source, created_at)
SELECT randomblob(16), id, qf_value, qf_date, NULL, qf_source, updated_at
FROM families WHERE qf_value IS NOT NULL AND qf_date IS NOT NULL AND qf_source IS NOT NULL;

CREATE TABLE billing_runs (
    id           BLOB PRIMARY KEY,
    month        TEXT NOT NULL,
    -- NULL: every régie
    regie_id     BLOB REFERENCES regies (id),
    status       TEXT NOT NULL CHECK (status IN ('draft', 'issued', 'superseded')),
    -- digest of the draft's lines: issuing checks the facts still give them
    fingerprint  TEXT NOT NULL,
    anomalies    TEXT NOT NULL,
    created_by   BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    issued_by    BLOB,
    issued_at    TEXT
);
CREATE INDEX billing_runs_month ON billing_runs (month, status);

-- Invoices and credit notes. A draft has no number; issued, it is never edited
-- (a correction is a credit note referring to it).
CREATE TABLE invoices (
    id                  BLOB PRIMARY KEY,
    run_id              BLOB REFERENCES billing_runs (id),
    regie_id            BLOB NOT NULL REFERENCES regies (id),
    family_id           BLOB NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    kind                TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    status              TEXT NOT NULL CHECK (status IN ('draft', 'issued')),
    period              TEXT NOT NULL,
    year                INTEGER,
    sequence            INTEGER,
    number              TEXT UNIQUE,
    issued_on           TEXT,
    due_on              TEXT,
    total_cents         INTEGER NOT NULL,
    line_count          INTEGER NOT NULL,
    paid_cents          INTEGER NOT NULL DEFAULT 0,
    credits_invoice_id  BLOB REFERENCES invoices (id),
    reason              TEXT,
    created_at          TEXT NOT NULL,
    UNIQUE (regie_id, kind, year, sequence)
);
CREATE INDEX invoices_family ON invoices (family_id, status, issued_on);
CREATE INDEX invoices_run ON invoices (run_id);
CREATE INDEX invoices_period ON invoices (period, regie_id);

CREATE TABLE invoice_lines (
    id            BLOB PRIMARY KEY,
    invoice_id    BLOB NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    family_id     BLOB NOT NULL,
    child_id      BLOB NOT NULL,
    child         TEXT NOT NULL,
    session_id    BLOB NOT NULL,
    date          TEXT NOT NULL,
    activity      TEXT NOT NULL,
    option        TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('activity', 'meal', 'surcharge')),
    quantity      INTEGER NOT NULL,
    unit_cents    INTEGER NOT NULL,
    amount_cents  INTEGER NOT NULL,
    -- famille_model::billing::Bracket as JSON
    bracket       TEXT,
    -- a credit an agent granted: the fact is never billed again
    waived        INTEGER NOT NULL DEFAULT 0,
    position      INTEGER NOT NULL
);
CREATE INDEX invoice_lines_invoice ON invoice_lines (invoice_id, position);
CREATE INDEX invoice_lines_fact ON invoice_lines (family_id, session_id, child_id);

-- The last number given per régie, kind and year, taken inside the issuing
-- transaction: numbers are continuous and without gaps (public accounting).
CREATE TABLE invoice_counters (
    regie_id  BLOB NOT NULL REFERENCES regies (id),
    kind      TEXT NOT NULL,
    year      INTEGER NOT NULL,
    last      INTEGER NOT NULL,
    PRIMARY KEY (regie_id, kind, year)
);
