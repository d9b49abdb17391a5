-- SQLite twin of migrations/postgres/0002.
-- Catalog (categories, venues, activities and their options, dated sessions),
-- reservations with the waitlist, the mutation log that makes each phone intent
-- apply once, and the change feed the phones sync from.

CREATE TABLE activity_categories (
    id        BLOB PRIMARY KEY,
    code      TEXT NOT NULL UNIQUE,
    name      TEXT NOT NULL,
    position  INTEGER NOT NULL
);

CREATE TABLE venues (
    id       BLOB PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE,
    address  TEXT
);

-- The documents issue fills in uploads and validation; booking only needs to know
-- which types exist and whether a valid one is on file.
CREATE TABLE document_types (
    id     BLOB PRIMARY KEY,
    code   TEXT NOT NULL UNIQUE,
    label  TEXT NOT NULL,
    scope  TEXT NOT NULL CHECK (scope IN ('family', 'child'))
);

CREATE TABLE documents (
    id                BLOB PRIMARY KEY,
    family_id         BLOB NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    child_id          BLOB REFERENCES children (id) ON DELETE CASCADE,
    document_type_id  BLOB NOT NULL REFERENCES document_types (id),
    status            TEXT NOT NULL CHECK (status IN ('pending', 'validated', 'refused')),
    valid_until       TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX documents_family ON documents (family_id, document_type_id);

CREATE TABLE activities (
    id           BLOB PRIMARY KEY,
    category_id  BLOB NOT NULL REFERENCES activity_categories (id),
    venue_id     BLOB NOT NULL REFERENCES venues (id),
    name         TEXT NOT NULL,
    description  TEXT,
    -- famille_model::booking::Eligibility and BookingRules, as JSON
    eligibility  TEXT NOT NULL,
    rules        TEXT NOT NULL,
    -- when set, under-N and N-and-over children have separate capacities
    age_split    INTEGER,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    archived_at  TEXT
);

CREATE TABLE activity_required_documents (
    activity_id       BLOB NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    document_type_id  BLOB NOT NULL REFERENCES document_types (id),
    PRIMARY KEY (activity_id, document_type_id)
);

CREATE TABLE activity_options (
    id           BLOB PRIMARY KEY,
    activity_id  BLOB NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    position     INTEGER NOT NULL,
    UNIQUE (activity_id, name)
);

CREATE TABLE sessions (
    id              BLOB PRIMARY KEY,
    activity_id     BLOB NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    option_id       BLOB NOT NULL REFERENCES activity_options (id) ON DELETE CASCADE,
    date            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'closed', 'cancelled')),
    capacity        INTEGER NOT NULL CHECK (capacity >= 0),
    capacity_young  INTEGER CHECK (capacity_young >= 0),
    capacity_old    INTEGER CHECK (capacity_old >= 0),
    -- places held (reserved, late, awaiting approval), kept in the booking transaction
    held            INTEGER NOT NULL DEFAULT 0,
    held_young      INTEGER NOT NULL DEFAULT 0,
    held_old        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (activity_id, option_id, date),
    CHECK (held <= capacity)
);
CREATE INDEX sessions_date ON sessions (date, activity_id);

CREATE TABLE reservations (
    id                 BLOB PRIMARY KEY,
    session_id         BLOB NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    child_id           BLOB NOT NULL REFERENCES children (id) ON DELETE CASCADE,
    family_id          BLOB NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    status             TEXT NOT NULL CHECK (status IN
                         ('reserved', 'late_booked', 'pending_approval', 'waitlisted',
                          'cancelled', 'late_cancelled', 'refused')),
    young              INTEGER NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    waitlisted_at      TEXT,
    promoted_at        TEXT,
    free_cancel_until  TEXT
);
-- one live reservation per child and session; cancelled ones stay as history
CREATE UNIQUE INDEX reservations_live ON reservations (session_id, child_id)
    WHERE status IN ('reserved', 'late_booked', 'pending_approval', 'waitlisted');
CREATE INDEX reservations_child ON reservations (child_id, session_id);
CREATE INDEX reservations_waitlist ON reservations (session_id, status, waitlisted_at);
CREATE INDEX reservations_family ON reservations (family_id);

-- Each phone intent, applied once: a replayed id gets its first answer back.
CREATE TABLE mutations (
    id          BLOB PRIMARY KEY,
    family_id   BLOB NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    account_id  BLOB NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('applied', 'rejected')),
    code        TEXT,
    detail      TEXT,
    reservation_id BLOB,
    created_at  TEXT NOT NULL
);

-- The change feed. `seq` comes from feed_counter, taken as the last write of the
-- transaction that makes the change, so sequence order is commit order and a
-- reader following the cursor never skips a change committed late.
CREATE TABLE feed_counter (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL
);
INSERT INTO feed_counter (id, seq) VALUES (1, 0);

CREATE TABLE changes (
    seq        INTEGER PRIMARY KEY,
    -- NULL: a change of the catalog every family may see (a session opens, fills up)
    family_id  BLOB,
    entity     TEXT NOT NULL,
    entity_id  BLOB NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX changes_family ON changes (family_id, seq);
