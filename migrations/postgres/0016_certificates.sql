-- Certificates (issue 14): the payment certificate of a year and the tax
-- certificate of childcare costs (CGI art. 200 quater B), numbered per kind and
-- year. A certificate is never edited: when what was paid changes, a new one with
-- a new number is drawn and the latest is the one shown.
CREATE TABLE certificates (
    id           UUID PRIMARY KEY,
    family_id    UUID NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('payment', 'tax')),
    year         INTEGER NOT NULL,
    number       TEXT NOT NULL UNIQUE,
    issued_on    DATE NOT NULL,
    total_cents  BIGINT NOT NULL,
    -- famille_model::certificates::CertificateRow as a JSON array
    rows         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX certificates_family ON certificates (family_id, year, kind, created_at);

CREATE TABLE certificate_counters (
    kind  TEXT NOT NULL,
    year  INTEGER NOT NULL,
    last  BIGINT NOT NULL,
    PRIMARY KEY (kind, year)
);
