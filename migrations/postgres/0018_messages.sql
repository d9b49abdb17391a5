-- Messages between families and the services (issue 13): services configured by
-- an admin, the agents who read each service's inbox, threads with one service,
-- their messages and the files attached to them.
CREATE TABLE services (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    -- Subjects stay out of pushes and mails (a social or health service).
    sensitive   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE service_agents (
    service_id  UUID NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    account_id  UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (service_id, account_id)
);
CREATE INDEX service_agents_account ON service_agents (account_id);

CREATE TABLE threads (
    id                   UUID PRIMARY KEY,
    family_id            UUID NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    service_id           UUID NOT NULL REFERENCES services (id),
    subject              TEXT NOT NULL,
    status               TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    opened_by            TEXT NOT NULL CHECK (opened_by IN ('family', 'services')),
    assigned_to          UUID REFERENCES accounts (id) ON DELETE SET NULL,
    -- Read marks per side (famille_model::messages::read_mark) and what each side
    -- has not read, kept with every message so that inboxes never count.
    family_read_up_to    TIMESTAMPTZ,
    services_read_up_to  TIMESTAMPTZ,
    family_unread        INTEGER NOT NULL DEFAULT 0,
    services_unread      INTEGER NOT NULL DEFAULT 0,
    created_at           TIMESTAMPTZ NOT NULL,
    last_message_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX threads_family ON threads (family_id, last_message_at);
CREATE INDEX threads_inbox ON threads (service_id, status, last_message_at);

CREATE TABLE messages (
    id          UUID PRIMARY KEY,
    thread_id   UUID NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    side        TEXT NOT NULL CHECK (side IN ('family', 'services')),
    author_id   UUID REFERENCES accounts (id) ON DELETE SET NULL,
    body        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_thread ON messages (thread_id, created_at);

-- A file sent with the tus upload (purpose 'attachment'), checked like a
-- document's; free until a message takes it.
CREATE TABLE attachments (
    id            UUID PRIMARY KEY,
    family_id     UUID NOT NULL REFERENCES families (id) ON DELETE CASCADE,
    message_id    UUID REFERENCES messages (id) ON DELETE CASCADE,
    filename      TEXT,
    file_key      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);
CREATE INDEX attachments_family ON attachments (family_id, created_at);

-- An upload becomes a document (a type named) or an attachment; `document_id`
-- names what it became.
ALTER TABLE uploads ALTER COLUMN document_type_id DROP NOT NULL;
ALTER TABLE uploads ADD COLUMN purpose TEXT NOT NULL DEFAULT 'document'
    CHECK (purpose IN ('document', 'attachment'));
ALTER TABLE uploads ADD CONSTRAINT uploads_purpose_type
    CHECK ((purpose = 'document') = (document_type_id IS NOT NULL));
