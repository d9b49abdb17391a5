-- Catalog (categories, venues, activities and their options, dated sessions),
-- reservations with the waitlist, the mutation log that makes each phone intent
-- apply once, and the change feed the phones sync from.

CREATE TABLE activity_categories (
    id        UUID PRIMARY KEY,
    code      TEXT NOT NULL UNIQUE,
    name      TEXT NOT NULL,
    position  INTEGER NOT NULL
);

CREATE TABLE venues (
    id       UUID PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    address  TEXT
);

-- The documents issue fills in uploads and validation; booking only needs to know
-- which types exist and whether a valid one is on file.
CREATE TABLE document_types (
    id     UUID PRIMARY KEY,
    code   TEXT NOT NULL UNIQUE,
    label  TEXT NOT NULL,
    scope  TEXT NOT NULL CHECK (scope IN ('family', 'child'))
);

CREATE TABLE documents (
    id                UUID PRIMARY KEY,
    family_id         UUID NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    child_id          UUID REFERENCES children (id) ON DELETE CASCADE,
    document_type_id  UUID NOT NULL REFERENCES document_types (id),
    status            TEXT NOT NULL CHECK (status IN ('pending', 'validated', 'refused')),
    valid_until       DATE,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX documents_family ON documents (family_id, document_type_id);

CREATE TABLE activities (
    id           UUID PRIMARY KEY,
    category_id  UUID NOT NULL REFERENCES activity_categories (id),
    venue_id     UUID NOT NULL REFERENCES venues (id),
    name         TEXT NOT NULL,
    description  TEXT,
    -- famille_model::booking::Eligibility and BookingRules, as JSON
    eligibility  TEXT NOT NULL,
    rules        TEXT NOT NULL,
    -- when set, under-N and N-and-over children have separate capacities
    age_split    SMALLINT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    archived_at  TIMESTAMPTZ
);

CREATE TABLE activity_required_documents (
    activity_id       UUID NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    document_type_id  UUID NOT NULL REFERENCES document_types (id),
    PRIMARY KEY (activity_id, document_type_id)
);

CREATE TABLE activity_options (
    id           UUID PRIMARY KEY,
    activity_id  UUID NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    position     INTEGER NOT NULL,
    UNIQUE (activity_id, name)
);

CREATE TABLE sessions (
    id              UUID PRIMARY KEY,
    activity_id     UUID NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    option_id       UUID NOT NULL REFERENCES activity_options (id) ON DELETE CASCADE,
    date            DATE NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'closed', 'cancelled')),
    capacity        INTEGER NOT NULL CHECK (capacity >= 0),
    capacity_young  INTEGER CHECK (capacity_young >= 0),
    capacity_old    INTEGER CHECK (capacity_old >= 0),
    -- places held (reserved, late, awaiting approval), kept in the booking transaction
    held            INTEGER NOT NULL DEFAULT 0,
    held_young      INTEGER NOT NULL DEFAULT 0,
    held_old        INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (activity_id, option_id, date),
    CHECK (held <= capacity)
);
CREATE INDEX sessions_date ON sessions (date, activity_id);

CREATE TABLE reservations (
    id                 UUID PRIMARY KEY,
    session_id         UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    child_id           UUID NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    family_id          UUID NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    status             TEXT NOT NULL CHECK (status IN
                         ('reserved', 'late_booked', 'pending_approval', 'waitlisted',
                          'cancelled', 'late_cancelled', 'refused')),
    young              BOOLEAN NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    waitlisted_at      TIMESTAMPTZ,
    promoted_at        TIMESTAMPTZ,
    free_cancel_until  TIMESTAMPTZ
);
-- one live reservation per child and session; cancelled ones stay as history
CREATE UNIQUE INDEX reservations_live ON reservations (session_id, child_id)
    WHERE status IN ('reserved', 'late_booked', 'pending_approval', 'waitlisted');
CREATE INDEX reservations_child ON reservations (child_id, session_id);
CREATE INDEX reservations_waitlist ON reservations (session_id, status, waitlisted_at);
CREATE INDEX reservations_family ON reservations (family_id);

-- Each phone intent, applied once: a replayed id gets its first answer back.
CREATE TABLE mutations (
    id          UUID PRIMARY KEY,
    family_id   UUID NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    account_id  UUID NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('applied', 'rejected')),
    code        TEXT,
    detail      TEXT,
    reservation_id UUID,
    created_at  TIMESTAMPTZ NOT NULL
);

-- The change feed. `seq` comes from feed_counter, taken as the last write of the
-- transaction that makes the change, so sequence order is commit order and a
-- reader following the cursor never skips a change committed late.
CREATE TABLE feed_counter (
    id   SMALLINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL
);
INSERT INTO feed_counter (id, seq) VALUES (1, 0);

CREATE TABLE changes (
    seq        BIGINT PRIMARY KEY,
    -- NULL: a change of the catalog every family may see (a session opens, fills up)
    family_id  UUID,
    entity     TEXT NOT NULL,
    entity_id  UUID NOT NULL,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX changes_family ON changes (family_id, seq);
