//! Messages' SQL: the services and their agents, threads, messages and the
//! attachments they take. Reads (and a service's lone changes) here, on the pool;
//! the steps of a message's transaction in [`writes`] (the thread's feed entry and
//! its notice go with them, in the caller's [`Tx`]).

mod writes;

pub use writes::*;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use famille_model::api::{
    Attachment, Message, Service, StaffService, StaffThreadSummary, Thread, ThreadSummary,
};
use famille_model::messages::{self, Side, ThreadStatus};
use uuid::Uuid;

use super::{Db, StoreError, StoreResult, on_db, on_tx, parse_stored, unique_violation};

pub struct Messages<'a> {
    pub(super) db: &'a Db,
}

/// A thread as the rules read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ThreadRow {
    pub id: Uuid,
    pub family_id: Uuid,
    pub service_id: Uuid,
    pub service: String,
    pub sensitive: bool,
    pub subject: String,
    pub status: String,
    pub opened_by: String,
    pub assigned_to: Option<Uuid>,
    pub family_read_up_to: Option<DateTime<Utc>>,
    pub services_read_up_to: Option<DateTime<Utc>>,
    pub family_unread: i32,
    pub services_unread: i32,
    pub created_at: DateTime<Utc>,
    pub last_message_at: DateTime<Utc>,
}

pub(super) const THREAD_COLUMNS: &str = "t.id, t.family_id, t.service_id, s.name AS service, s.sensitive, t.subject, \
     t.status, t.opened_by, t.assigned_to, t.family_read_up_to, t.services_read_up_to, \
     t.family_unread, t.services_unread, t.created_at, t.last_message_at";

impl ThreadRow {
    pub fn status(&self) -> StoreResult<ThreadStatus> {
        parse_stored(&self.status)
    }

    fn summary(&self, reader: Side) -> StoreResult<ThreadSummary> {
        Ok(ThreadSummary {
            id: self.id,
            service_id: self.service_id,
            service: self.service.clone(),
            subject: self.subject.clone(),
            status: self.status()?,
            last_message_at: self.last_message_at,
            unread: self.unread(reader),
        })
    }

    fn unread(&self, reader: Side) -> u32 {
        let n = match reader {
            Side::Family => self.family_unread,
            Side::Services => self.services_unread,
        };
        u32::try_from(n).unwrap_or(0)
    }
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: Uuid,
    side: String,
    author_id: Option<Uuid>,
    first_name: Option<String>,
    last_name: Option<String>,
    body: String,
    created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    id: Uuid,
    message_id: Uuid,
    filename: Option<String>,
    content_type: String,
    size_bytes: i64,
}

/// An attachment's stored file.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentFile {
    pub family_id: Uuid,
    pub file_key: String,
    pub content_type: String,
    pub filename: Option<String>,
}

/// Services (id, name, sensitive) and their agents (service, account).
type ServicesAndAgents = (Vec<(Uuid, String, bool)>, Vec<(Uuid, Uuid)>);

impl Messages<'_> {
    /// Every service with its agents, by name.
    pub async fn staff_services(&self) -> StoreResult<Vec<StaffService>> {
        let (services, agents): ServicesAndAgents = on_db!(self.db, |pool| {
            let services = sqlx::query_as("SELECT id, name, sensitive FROM services ORDER BY name")
                .fetch_all(pool)
                .await?;
            let agents = sqlx::query_as(
                "SELECT service_id, account_id FROM service_agents ORDER BY account_id",
            )
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>((services, agents))
        })?;
        Ok(services
            .into_iter()
            .map(|(id, name, sensitive)| StaffService {
                id,
                name,
                sensitive,
                agents: agents
                    .iter()
                    .filter(|(s, _)| *s == id)
                    .map(|(_, a)| *a)
                    .collect(),
            })
            .collect())
    }

    /// The services a family may write to, by name.
    pub async fn services(&self) -> StoreResult<Vec<Service>> {
        let rows: Vec<(Uuid, String)> = on_db!(self.db, |pool| {
            sqlx::query_as("SELECT id, name FROM services ORDER BY name")
                .fetch_all(pool)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, name)| Service { id, name })
            .collect())
    }

    /// Creates a service (`create`) or changes one; `sensitive` and `agents` left
    /// `None` stay as they were (none and not sensitive for a new one). Threads
    /// assigned to an agent taken out of the service go back to the service.
    pub async fn save_service(
        &self,
        s: &ServiceChange<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<SaveService> {
        let mut tx = self.db.begin_at(now).await?;
        let taken: Option<Uuid> = on_tx!(tx, |c| {
            sqlx::query_scalar("SELECT id FROM services WHERE name = $1 AND id <> $2")
                .bind(s.name)
                .bind(s.id)
                .fetch_optional(&mut *c)
                .await
        })?;
        if taken.is_some() {
            return Ok(SaveService::NameTaken);
        }
        if let Some(agents) = s.agents {
            let staff: Vec<Uuid> = on_tx!(tx, |c| {
                sqlx::query_scalar("SELECT id FROM accounts WHERE role IN ('agent', 'admin')")
                    .fetch_all(&mut *c)
                    .await
            })?;
            if let Some(unknown) = agents.iter().find(|a| !staff.contains(a)) {
                return Ok(SaveService::UnknownAgent(*unknown));
            }
        }
        let written = on_tx!(tx, |c| {
            (if s.create {
                sqlx::query(
                    "INSERT INTO services (id, name, sensitive, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(s.id)
                .bind(s.name)
                .bind(s.sensitive.unwrap_or(false))
                .bind(now)
                .execute(&mut *c)
                .await
            } else {
                sqlx::query(
                    "UPDATE services SET name = $2, sensitive = COALESCE($3, sensitive) WHERE id = $1",
                )
                .bind(s.id)
                .bind(s.name)
                .bind(s.sensitive)
                .execute(&mut *c)
                .await
            })
            .map(|r| r.rows_affected())
        });
        // Two admins naming two services alike at once: the second is told.
        let written = match written.map_err(unique_violation) {
            Err(StoreError::Duplicate(_)) => return Ok(SaveService::NameTaken),
            other => other?,
        };
        if written == 0 {
            return Ok(SaveService::NotFound);
        }
        if let Some(agents) = s.agents {
            on_tx!(tx, |c| {
                sqlx::query("DELETE FROM service_agents WHERE service_id = $1")
                    .bind(s.id)
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected())
            })?;
            for agent in agents {
                on_tx!(tx, |c| {
                    sqlx::query("INSERT INTO service_agents (service_id, account_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(s.id)
                        .bind(*agent)
                        .execute(&mut *c)
                        .await
                        .map(|r| r.rows_affected())
                })?;
            }
            on_tx!(tx, |c| {
                sqlx::query(
                    "UPDATE threads SET assigned_to = NULL WHERE service_id = $1 AND assigned_to IS NOT NULL \
                     AND assigned_to NOT IN (SELECT account_id FROM service_agents WHERE service_id = $1)",
                )
                .bind(s.id)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected())
            })?;
        }
        tx.commit().await?;
        Ok(SaveService::Saved)
    }

    /// The services whose inbox an agent reads.
    pub async fn agent_services(&self, account_id: Uuid) -> StoreResult<Vec<Uuid>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_scalar("SELECT service_id FROM service_agents WHERE account_id = $1")
                .bind(account_id)
                .fetch_all(pool)
                .await
        })?)
    }

    /// A thread (another family's, with `family_id` given, is not found).
    pub async fn thread_row(
        &self,
        id: Uuid,
        family_id: Option<Uuid>,
    ) -> StoreResult<Option<ThreadRow>> {
        let sql = format!(
            "SELECT {THREAD_COLUMNS} FROM threads t JOIN services s ON s.id = t.service_id \
             WHERE t.id = $1 AND ($2 IS NULL OR t.family_id = $2)"
        );
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(id)
                .bind(family_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// A thread with its messages, oldest first, as `reader` sees it.
    pub async fn thread(&self, row: &ThreadRow, reader: Side) -> StoreResult<Thread> {
        let (messages, attachments): (Vec<MessageRow>, Vec<AttachmentRow>) = on_db!(
            self.db,
            |pool| {
                let messages = sqlx::query_as(
                    "SELECT m.id, m.side, m.author_id, a.first_name, a.last_name, m.body, m.created_at \
                     FROM messages m LEFT JOIN accounts a ON a.id = m.author_id \
                     WHERE m.thread_id = $1 ORDER BY m.created_at, m.id",
                )
                .bind(row.id)
                .fetch_all(pool)
                .await?;
                let attachments = sqlx::query_as(
                    "SELECT f.id, f.message_id, f.filename, f.content_type, f.size_bytes \
                     FROM attachments f JOIN messages m ON m.id = f.message_id \
                     WHERE m.thread_id = $1 ORDER BY f.created_at, f.id",
                )
                .bind(row.id)
                .fetch_all(pool)
                .await?;
                Ok::<_, sqlx::Error>((messages, attachments))
            }
        )?;
        let mut files: HashMap<Uuid, Vec<Attachment>> = HashMap::new();
        for a in attachments {
            files.entry(a.message_id).or_default().push(Attachment {
                id: a.id,
                filename: a.filename,
                content_type: a.content_type,
                size_bytes: a.size_bytes,
            });
        }
        let messages = messages
            .into_iter()
            .map(|m| {
                let side: Side = parse_stored(&m.side)?;
                let other_mark = match side {
                    Side::Family => row.services_read_up_to,
                    Side::Services => row.family_read_up_to,
                };
                let author = match (side, reader) {
                    // A family sees the service, never the agent's name.
                    (Side::Services, Side::Family) => row.service.clone(),
                    _ => match (m.first_name, m.last_name) {
                        (Some(first), Some(last)) => format!("{first} {last}"),
                        _ if m.author_id.is_none() => "Compte supprimé".to_owned(),
                        _ => row.service.clone(),
                    },
                };
                Ok(Message {
                    id: m.id,
                    side,
                    author,
                    body: m.body,
                    attachments: files.remove(&m.id).unwrap_or_default(),
                    created_at: m.created_at,
                    read: messages::read_by_other(m.created_at, other_mark),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Thread {
            id: row.id,
            service_id: row.service_id,
            service: row.service.clone(),
            subject: row.subject.clone(),
            status: row.status()?,
            opened_by: parse_stored(&row.opened_by)?,
            created_at: row.created_at,
            last_message_at: row.last_message_at,
            unread: row.unread(reader),
            services_read_up_to: row.services_read_up_to,
            messages,
        })
    }

    /// The family's threads, the latest first.
    pub async fn family_threads(&self, family_id: Uuid) -> StoreResult<Vec<ThreadSummary>> {
        let sql = format!(
            "SELECT {THREAD_COLUMNS} FROM threads t JOIN services s ON s.id = t.service_id \
             WHERE t.family_id = $1 ORDER BY t.last_message_at DESC, t.id"
        );
        let rows: Vec<ThreadRow> = on_db!(self.db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(family_id)
                .fetch_all(pool)
                .await
        })?;
        rows.iter().map(|r| r.summary(Side::Family)).collect()
    }

    /// An inbox page: the threads of these services (all when `None`), unread
    /// first, then the latest; optionally only one status or one assignee.
    pub async fn inbox(&self, filter: &InboxFilter<'_>) -> StoreResult<Vec<StaffThreadSummary>> {
        let mut conditions = vec!["1 = 1".to_owned()];
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if let Some(services) = filter.services {
            if services.is_empty() {
                return Ok(Vec::new());
            }
            let list = services
                .iter()
                .map(|_| next())
                .collect::<Vec<_>>()
                .join(", ");
            conditions.push(format!("t.service_id IN ({list})"));
        }
        if filter.status.is_some() {
            conditions.push(format!("t.status = {}", next()));
        }
        if filter.assigned_to.is_some() {
            conditions.push(format!("t.assigned_to = {}", next()));
        }
        if filter.family_id.is_some() {
            conditions.push(format!("t.family_id = {}", next()));
        }
        let (limit, offset) = (next(), next());
        let sql = format!(
            "SELECT {THREAD_COLUMNS} FROM threads t JOIN services s ON s.id = t.service_id \
             WHERE {} ORDER BY CASE WHEN t.services_unread > 0 THEN 0 ELSE 1 END, t.last_message_at DESC, t.id \
             LIMIT {limit} OFFSET {offset}",
            conditions.join(" AND ")
        );
        let rows: Vec<ThreadRow> = on_db!(self.db, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for s in filter.services.unwrap_or_default() {
                q = q.bind(*s);
            }
            if let Some(status) = filter.status {
                q = q.bind(status.as_str());
            }
            if let Some(a) = filter.assigned_to {
                q = q.bind(a);
            }
            if let Some(f) = filter.family_id {
                q = q.bind(f);
            }
            q.bind(filter.limit)
                .bind(filter.offset)
                .fetch_all(pool)
                .await
        })?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.family_id).collect();
        let names = self.db.billing().family_names(&ids).await?;
        rows.into_iter()
            .map(|r| {
                Ok(StaffThreadSummary {
                    id: r.id,
                    family_id: r.family_id,
                    family: names.get(&r.family_id).cloned().unwrap_or_default(),
                    service_id: r.service_id,
                    service: r.service.clone(),
                    subject: r.subject.clone(),
                    status: r.status()?,
                    assigned_to: r.assigned_to,
                    last_message_at: r.last_message_at,
                    unread: r.unread(Side::Services),
                })
            })
            .collect()
    }

    /// An attachment of a message of this thread (`None` otherwise).
    pub async fn attachment(
        &self,
        thread_id: Uuid,
        attachment_id: Uuid,
    ) -> StoreResult<Option<AttachmentFile>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT f.family_id, f.file_key, f.content_type, f.filename FROM attachments f \
                 JOIN messages m ON m.id = f.message_id WHERE f.id = $1 AND m.thread_id = $2",
            )
            .bind(attachment_id)
            .bind(thread_id)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Attachments no message took within `older_than` (a phone that never sent its
    /// message): removed, their file keys returned.
    pub async fn take_orphan_attachments(
        &self,
        older_than: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        // One statement: an attachment a message takes meanwhile is not removed.
        Ok(on_db!(self.db, |pool| {
            sqlx::query_scalar(
                "DELETE FROM attachments WHERE message_id IS NULL AND created_at < $1 RETURNING file_key",
            )
            .bind(older_than)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The family withdrew a finished upload: the attachment no message took goes
    /// with it; its file key is returned.
    pub async fn remove_free_attachment(
        &self,
        id: Uuid,
        family_id: Uuid,
    ) -> StoreResult<Option<String>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_scalar(
                "DELETE FROM attachments WHERE id = $1 AND family_id = $2 AND message_id IS NULL RETURNING file_key",
            )
            .bind(id)
            .bind(family_id)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Whether an account reads a service's inbox.
    pub async fn is_agent(&self, service_id: Uuid, account_id: Uuid) -> StoreResult<bool> {
        let found: Option<Uuid> = on_db!(self.db, |pool| {
            sqlx::query_scalar(
                "SELECT account_id FROM service_agents WHERE service_id = $1 AND account_id = $2",
            )
            .bind(service_id)
            .bind(account_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(found.is_some())
    }
}

/// A service to create or change ([`Messages::save_service`]).
pub struct ServiceChange<'a> {
    pub id: Uuid,
    pub create: bool,
    pub name: &'a str,
    pub sensitive: Option<bool>,
    pub agents: Option<&'a [Uuid]>,
}

/// What [`Messages::save_service`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveService {
    Saved,
    NotFound,
    NameTaken,
    UnknownAgent(Uuid),
}

/// Which threads an inbox shows.
pub struct InboxFilter<'a> {
    /// `None`: every service (an admin).
    pub services: Option<&'a [Uuid]>,
    pub status: Option<ThreadStatus>,
    pub assigned_to: Option<Uuid>,
    pub family_id: Option<Uuid>,
    pub limit: i64,
    pub offset: i64,
}
