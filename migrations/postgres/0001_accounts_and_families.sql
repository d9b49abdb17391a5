-- Accounts, the family dossier and the audit log.
-- Timestamps are UTC (TIMESTAMPTZ); money, when it comes, is integer cents.

CREATE SEQUENCE family_number_seq;

CREATE TABLE families (
    id                  UUID PRIMARY KEY,
    number              BIGINT NOT NULL UNIQUE DEFAULT nextval('family_number_seq'),
    status              TEXT NOT NULL CHECK (status IN ('pending', 'active')),
    address_line1       TEXT,
    address_line2       TEXT,
    postal_code         TEXT,
    city                TEXT,
    phone               TEXT,
    situation           TEXT,
    dependent_children  SMALLINT,
    qf_value            INTEGER,
    qf_date             DATE,
    qf_source           TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL,
    validated_at        TIMESTAMPTZ,
    validated_by        UUID
);

CREATE TABLE accounts (
    id             UUID PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    -- NULL for a dossier imported by the services: first login goes through
    -- "mot de passe oublié".
    password_hash  TEXT,
    role           TEXT NOT NULL CHECK (role IN ('parent', 'agent', 'admin')),
    first_name     TEXT NOT NULL,
    last_name      TEXT NOT NULL,
    family_id      UUID REFERENCES families (id) ON DELETE CASCADE,
    created_at     TIMESTAMPTZ NOT NULL,
    disabled_at    TIMESTAMPTZ,
    CHECK ((role = 'parent') = (family_id IS NOT NULL))
);
CREATE INDEX accounts_family ON accounts (family_id);

CREATE TABLE refresh_tokens (
    id           UUID PRIMARY KEY,
    -- every token rotated from one login shares its chain; a reused token revokes it
    chain_id     UUID NOT NULL,
    account_id   UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    remember_me  BOOLEAN NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_chain ON refresh_tokens (chain_id);
CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id);

CREATE TABLE password_resets (
    token_hash  TEXT PRIMARY KEY,
    account_id  UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX password_resets_account ON password_resets (account_id);

CREATE TABLE guardians (
    id            UUID PRIMARY KEY,
    family_id     UUID NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    rank          SMALLINT NOT NULL,
    account_id    UUID UNIQUE REFERENCES accounts (id) ON DELETE SET NULL,
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    email         TEXT,
    mobile_phone  TEXT,
    work_phone    TEXT,
    UNIQUE (family_id, rank)
);

CREATE TABLE children (
    id                 UUID PRIMARY KEY,
    family_id          UUID NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    first_name         TEXT NOT NULL,
    last_name          TEXT NOT NULL,
    birth_date         DATE NOT NULL,
    school_level       TEXT NOT NULL,
    school             TEXT,
    data_confirmed_at  TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX children_family ON children (family_id);

CREATE TABLE authorized_persons (
    id                 UUID PRIMARY KEY,
    child_id           UUID NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    first_name         TEXT NOT NULL,
    last_name          TEXT NOT NULL,
    quality            TEXT NOT NULL,
    phone              TEXT,
    mobile_phone       TEXT,
    email              TEXT,
    may_pick_up        BOOLEAN NOT NULL,
    emergency_contact  BOOLEAN NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX authorized_persons_child ON authorized_persons (child_id);

CREATE TABLE consent_types (
    id        UUID PRIMARY KEY,
    code      TEXT NOT NULL UNIQUE,
    label     TEXT NOT NULL,
    position  INTEGER NOT NULL,
    active    BOOLEAN NOT NULL
);

CREATE TABLE child_consents (
    child_id         UUID NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    consent_type_id  UUID NOT NULL REFERENCES consent_types (id) ON DELETE CASCADE,
    answer           TEXT NOT NULL CHECK (answer IN ('yes', 'no')),
    answered_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (child_id, consent_type_id)
);

CREATE TABLE health_records (
    child_id      UUID PRIMARY KEY REFERENCES children (id) ON DELETE CASCADE,
    allergies     TEXT,
    diet          TEXT,
    doctor_name   TEXT,
    doctor_phone  TEXT,
    pai           BOOLEAN NOT NULL,
    pai_details   TEXT,
    notes         TEXT,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE vaccinations (
    id        UUID PRIMARY KEY,
    child_id  UUID NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    vaccine   TEXT NOT NULL,
    date      DATE NOT NULL
);
CREATE INDEX vaccinations_child ON vaccinations (child_id);

-- Who read or changed sensitive data (RGPD art. 9). Never deleted with the family.
CREATE TABLE audit_log (
    id                BIGSERIAL PRIMARY KEY,
    at                TIMESTAMPTZ NOT NULL,
    actor_account_id  UUID NOT NULL,
    action            TEXT NOT NULL,
    family_id         UUID,
    child_id          UUID
);
CREATE INDEX audit_log_family ON audit_log (family_id, id);
