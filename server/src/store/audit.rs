//! The access log of sensitive data (RGPD art. 9): who read or changed what, when.

use chrono::{DateTime, Utc};
use famille_model::api::AuditEntry;
use uuid::Uuid;

use super::{Db, StoreResult, execute, on_db};

type AuditRow = (
    i64,
    DateTime<Utc>,
    Uuid,
    Option<String>,
    String,
    Option<Uuid>,
    Option<Uuid>,
);

pub struct Audit<'a> {
    pub(super) db: &'a Db,
}

/// What was done to sensitive data; the stored names are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    HealthRecordRead,
    HealthRecordUpdated,
    /// A session roster shows allergy and PAI flags.
    RosterRead,
    /// An agent opened a document's file.
    DocumentRead,
    /// An agent asked API Particulier for the family's QF (the State's API keeps
    /// its own trace; this one says who at the organisation asked).
    QuotientFetched,
    /// An agent opened a file a family attached to a message.
    AttachmentRead,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::HealthRecordRead => "health_record.read",
            AuditAction::HealthRecordUpdated => "health_record.updated",
            AuditAction::RosterRead => "roster.read",
            AuditAction::DocumentRead => "document.read",
            AuditAction::QuotientFetched => "quotient.fetched",
            AuditAction::AttachmentRead => "attachment.read",
        }
    }
}

impl Audit<'_> {
    pub async fn record(
        &self,
        actor: Uuid,
        action: AuditAction,
        family_id: Option<Uuid>,
        child_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        execute!(
            self.db,
            "INSERT INTO audit_log (at, actor_account_id, action, family_id, child_id) VALUES ($1, $2, $3, $4, $5)",
            now,
            actor,
            action.as_str(),
            family_id,
            child_id
        )?;
        Ok(())
    }

    /// The newest entries about one family, for the admin and for the family's own
    /// right of access.
    pub async fn for_family(&self, family_id: Uuid, limit: i64) -> StoreResult<Vec<AuditEntry>> {
        let rows: Vec<AuditRow> = on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT l.id, l.at, l.actor_account_id, a.email, l.action, l.family_id, l.child_id \
                     FROM audit_log l LEFT JOIN accounts a ON a.id = l.actor_account_id \
                     WHERE l.family_id = $1 ORDER BY l.id DESC LIMIT $2",
            )
            .bind(family_id)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(
                |(id, at, actor_account_id, actor_email, action, family_id, child_id)| AuditEntry {
                    id,
                    at,
                    actor_account_id,
                    actor_email: actor_email.unwrap_or_default(),
                    action,
                    family_id,
                    child_id,
                },
            )
            .collect())
    }
}
