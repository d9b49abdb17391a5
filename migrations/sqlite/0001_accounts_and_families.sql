-- Accounts, the family dossier and the audit log.
-- Timestamps are UTC (TEXT); money, when it comes, is integer cents.

CREATE TABLE families (
    id                  BLOB PRIMARY KEY,
    number              INTEGER NOT NULL UNIQUE,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'active')),
    address_line1       TEXT,
    address_line2       TEXT,
    postal_code         TEXT,
    city                TEXT,
    phone               TEXT,
    situation           TEXT,
    dependent_children  INTEGER,
    qf_value            INTEGER,
    qf_date             TEXT,
    qf_source           TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    validated_at        TEXT,
    validated_by        BLOB
);

CREATE TABLE accounts (
    id             BLOB PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    -- NULL for a dossier imported by the services: first login goes through
    -- "mot de passe oublié".
    password_hash  TEXT,
    role           TEXT NOT NULL CHECK (role IN ('parent', 'agent', 'admin')),
    first_name     TEXT NOT NULL,
    last_name      TEXT NOT NULL,
    family_id      BLOB REFERENCES families (id) ON DELETE CASCADE,
    created_at     TEXT NOT NULL,
    disabled_at    TEXT,
    CHECK ((role = 'parent') = (family_id IS NOT NULL))
);
CREATE INDEX accounts_family ON accounts (family_id);

CREATE TABLE refresh_tokens (
    id           BLOB PRIMARY KEY,
    -- every token rotated from one login shares its chain; a reused token revokes it
    chain_id     BLOB NOT NULL,
    account_id   BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    remember_me  INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    revoked_at   TEXT
);
CREATE INDEX refresh_tokens_chain ON refresh_tokens (chain_id);
CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id);

CREATE TABLE password_resets (
    token_hash  TEXT PRIMARY KEY,
    account_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE INDEX password_resets_account ON password_resets (account_id);

CREATE TABLE guardians (
    id            BLOB PRIMARY KEY,
    family_id     BLOB NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    rank          INTEGER NOT NULL,
    account_id    BLOB UNIQUE REFERENCES accounts (id) ON DELETE SET NULL,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    email         TEXT,
    mobile_phone  TEXT,
    work_phone    TEXT,
    UNIQUE (family_id, rank)
);

CREATE TABLE children (
    id                 BLOB PRIMARY KEY,
    family_id          BLOB NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    first_name         TEXT NOT NULL,
    last_name          TEXT NOT NULL,
    birth_date         TEXT NOT NULL,
    school_level       TEXT NOT NULL,
    school             TEXT,
    data_confirmed_at  TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX children_family ON children (family_id);

CREATE TABLE authorized_persons (
    id                 BLOB PRIMARY KEY,
    child_id           BLOB NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    first_name         TEXT NOT NULL,
    last_name          TEXT NOT NULL,
    quality            TEXT NOT NULL,
    phone              TEXT,
    mobile_phone       TEXT,
    email              TEXT,
    may_pick_up        INTEGER NOT NULL,
    emergency_contact  INTEGER NOT NULL,
    created_at         TEXT NOT NULL
);
CREATE INDEX authorized_persons_child ON authorized_persons (child_id);

CREATE TABLE consent_types (
    id        BLOB PRIMARY KEY,
    code      TEXT NOT NULL UNIQUE,
    label     TEXT NOT NULL,
    position  INTEGER NOT NULL,
    active    INTEGER NOT NULL
);

CREATE TABLE child_consents (
    child_id         BLOB NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    consent_type_id  BLOB NOT NULL REFERENCES consent_types (id) ON DELETE CASCADE,
    answer           TEXT NOT NULL CHECK (answer IN ('yes', 'no')),
    answered_at      TEXT NOT NULL,
    PRIMARY KEY (child_id, consent_type_id)
);

CREATE TABLE health_records (
    child_id      BLOB PRIMARY KEY REFERENCES children (id) ON DELETE CASCADE,
    allergies     TEXT,
    diet          TEXT,
    doctor_name   TEXT,
    doctor_phone  TEXT,
    pai           INTEGER NOT NULL,
    pai_details   TEXT,
    notes         TEXT,
    updated_at    TEXT NOT NULL
);

CREATE TABLE vaccinations (
    id        BLOB PRIMARY KEY,
    child_id  BLOB NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    vaccine   TEXT NOT NULL,
    date      TEXT NOT NULL
);
CREATE INDEX vaccinations_child ON vaccinations (child_id);

-- Who read or changed sensitive data (RGPD art. 9). Never deleted with the family.
CREATE TABLE audit_log (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    at                TEXT NOT NULL,
    actor_account_id  BLOB NOT NULL,
    action            TEXT NOT NULL,
    family_id         BLOB,
    child_id          BLOB
);
CREATE INDEX audit_log_family ON audit_log (family_id, id);
