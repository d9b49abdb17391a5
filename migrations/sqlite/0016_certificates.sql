-- SQLite twin of migrations/postgres/0016.
-- Certificates (issue 14): the payment certificate of a year and the tax
-- certificate of childcare costs (CGI art. 200 quater B), numbered per kind and
-- year. A certificate is never edited: when what was paid changes, a new one with
-- a new number is drawn and the latest is the one shown.
CREATE TABLE certificates (
    id           BLOB PRIMARY KEY,
    family_id    BLOB NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('payment', 'tax')),
    year         INTEGER NOT NULL,
    number       TEXT NOT NULL UNIQUE,
    issued_on    TEXT NOT NULL,
    total_cents  INTEGER NOT NULL,
    -- famille_model::certificates::CertificateRow as a JSON array
    rows         TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX certificates_family ON certificates (family_id, year, kind, created_at);

CREATE TABLE certificate_counters (
    kind  TEXT NOT NULL,
    year  INTEGER NOT NULL,
    last  INTEGER NOT NULL,
    PRIMARY KEY (kind, year)
);
