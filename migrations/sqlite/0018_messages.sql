-- SQLite twin of migrations/postgres/0018.
-- Messages between families and the services (issue 13): services configured by
-- an admin, the agents who read each service's inbox, threads with one service,
-- their messages and the files attached to them.
CREATE TABLE services (
    id          BLOB PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    -- Subjects stay out of pushes and mails (a social or health service).
    sensitive   INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

CREATE TABLE service_agents (
    service_id  BLOB NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    account_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (service_id, account_id)
);
CREATE INDEX service_agents_account ON service_agents (account_id);

CREATE TABLE threads (
    id                   BLOB PRIMARY KEY,
    family_id            BLOB NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    service_id           BLOB NOT NULL REFERENCES services (id),
    subject              TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_by            TEXT NOT NULL CHECK (opened_by IN ('family', 'services')),
    assigned_to          BLOB REFERENCES accounts (id) ON DELETE SET NULL,
    -- Read marks per side (famille_model::messages::read_mark) and what each side
    -- has not read, kept with every message so that inboxes never count.
    family_read_up_to    TEXT,
    services_read_up_to  TEXT,
    family_unread        INTEGER NOT NULL DEFAULT 0,
    services_unread      INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL,
    last_message_at      TEXT NOT NULL
);
CREATE INDEX threads_family ON threads (family_id, last_message_at);
CREATE INDEX threads_inbox ON threads (service_id, status, last_message_at);

CREATE TABLE messages (
    id          BLOB PRIMARY KEY,
    thread_id   BLOB NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    side        TEXT NOT NULL CHECK (side IN ('family', 'services')),
    author_id   BLOB REFERENCES accounts (id) ON DELETE SET NULL,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX messages_thread ON messages (thread_id, created_at);

-- A file sent with the tus upload (purpose 'attachment'), checked like a
-- document's; free until a message takes it.
CREATE TABLE attachments (
    id            BLOB PRIMARY KEY,
    family_id     BLOB NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    message_id    BLOB REFERENCES messages (id) ON DELETE CASCADE,
    filename      TEXT,
    file_key      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size_bytes    INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);
CREATE INDEX attachments_family ON attachments (family_id, created_at);

-- An upload becomes a document (a type named) or an attachment; `document_id`
-- names what it became. SQLite cannot drop a NOT NULL: the table (transient:
-- uploads in progress) is rebuilt; nothing references it.
CREATE TABLE uploads_new (
    id                BLOB PRIMARY KEY,
    family_id         BLOB NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    account_id        BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    child_id          BLOB REFERENCES children (id) ON DELETE CASCADE,
    document_type_id  BLOB REFERENCES document_types (id),
    purpose           TEXT NOT NULL DEFAULT 'document' CHECK (purpose IN ('document', 'attachment')),
    filename          TEXT,
    length            INTEGER NOT NULL,
    received          INTEGER NOT NULL DEFAULT 0,
    document_id       BLOB,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    CHECK ((purpose = 'document') = (document_type_id IS NOT NULL))
);
INSERT INTO uploads_new (id, family_id, account_id, child_id, document_type_id, filename, length, received, document_id, created_at, expires_at)
    SELECT id, family_id, account_id, child_id, document_type_id, filename, length, received, document_id, created_at, expires_at FROM uploads;
DROP TABLE uploads;
ALTER TABLE uploads_new RENAME TO uploads;
