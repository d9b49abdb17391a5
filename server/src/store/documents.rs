//! Documents the families send, and the services' decisions on them. A decision
//! lands in the family's change feed and writes its notice in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::{DocumentSnapshot, DocumentType, DocumentTypeInput, StaffDocument};
use famille_model::dossier::DocumentValidity;
use uuid::Uuid;

use super::outbox::notify;
use super::{Db, StoreResult, in_tx, on_db, record_changes, unique_violation};
use crate::notifications::texts;

pub struct Documents<'a> {
    pub(super) db: &'a Db,
}

pub(super) const SNAPSHOT_COLUMNS: &str = "d.id, d.document_type_id, t.label AS document_type, d.child_id, d.status, \
     d.created_at AS submitted_at, d.decided_at, d.valid_until, d.refusal_reason";

#[derive(sqlx::FromRow)]
pub(super) struct SnapshotRow {
    pub id: Uuid,
    pub document_type_id: Uuid,
    pub document_type: String,
    pub child_id: Option<Uuid>,
    pub status: String,
    pub submitted_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub valid_until: Option<NaiveDate>,
    pub refusal_reason: Option<String>,
}

impl From<SnapshotRow> for DocumentSnapshot {
    fn from(r: SnapshotRow) -> DocumentSnapshot {
        DocumentSnapshot {
            id: r.id,
            document_type_id: r.document_type_id,
            document_type: r.document_type,
            child_id: r.child_id,
            status: r.status,
            submitted_at: r.submitted_at,
            decided_at: r.decided_at,
            valid_until: r.valid_until,
            refusal_reason: r.refusal_reason,
        }
    }
}

#[derive(sqlx::FromRow)]
struct StaffRow {
    #[sqlx(flatten)]
    doc: SnapshotRow,
    family_id: Uuid,
    family_number: i64,
    child_first_name: Option<String>,
}

/// What a decision did.
#[derive(Debug, PartialEq)]
pub enum Decision {
    Done(DocumentSnapshot),
    NotFound,
    /// Already decided.
    Conflict,
    /// The type's validity is a date the agent sets, and none was given.
    DateRequired,
}

#[derive(sqlx::FromRow)]
struct TypeRow {
    id: Uuid,
    code: String,
    label: String,
    scope: String,
    validity: String,
}

impl Documents<'_> {
    /// The kinds of documents the services ask for.
    pub async fn types(&self) -> StoreResult<Vec<DocumentType>> {
        let rows: Vec<TypeRow> = on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, code, label, scope, validity FROM document_types ORDER BY label",
            )
            .fetch_all(pool)
            .await
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(DocumentType {
                id: r.id,
                code: r.code,
                label: r.label,
                scope: r.scope,
                validity: super::parse_stored(&r.validity)?,
            });
        }
        Ok(out)
    }

    /// A new type; `Duplicate` when the code is taken.
    pub async fn insert_type(&self, input: &DocumentTypeInput) -> StoreResult<Uuid> {
        let id = Uuid::now_v7();
        on_db!(self.db, |pool| {
            sqlx::query("INSERT INTO document_types (id, code, label, scope, validity) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(&input.code)
                .bind(&input.label)
                .bind(&input.scope)
                .bind(input.validity.as_str())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(unique_violation)?;
        Ok(id)
    }

    /// Renames a type or changes its validity (its code and scope stay: documents
    /// already sent depend on them). `false` if unknown.
    pub async fn update_type(
        &self,
        id: Uuid,
        label: &str,
        validity: DocumentValidity,
    ) -> StoreResult<bool> {
        let done = on_db!(self.db, |pool| {
            sqlx::query("UPDATE document_types SET label = $2, validity = $3 WHERE id = $1")
                .bind(id)
                .bind(label)
                .bind(validity.as_str())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Records a document the family sent, waiting for the services.
    pub async fn submit(
        &self,
        family_id: Uuid,
        child_id: Option<Uuid>,
        document_type_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Uuid> {
        let id = Uuid::now_v7();
        in_tx!(self.db, |tx| {
            sqlx::query(
                "INSERT INTO documents (id, family_id, child_id, document_type_id, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'pending', $5, $5)",
            )
            .bind(id)
            .bind(family_id)
            .bind(child_id)
            .bind(document_type_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            record_changes!(tx, &[(Some(family_id), "document", id)], now);
        });
        Ok(id)
    }

    /// The family's documents, newest first.
    pub async fn of_family(&self, family_id: Uuid) -> StoreResult<Vec<DocumentSnapshot>> {
        let rows: Vec<SnapshotRow> = on_db!(self.db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM documents d JOIN document_types t ON t.id = d.document_type_id \
                 WHERE d.family_id = $1 ORDER BY d.created_at DESC, d.id DESC"
            )))
            .bind(family_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Documents with a status, oldest first (the agents' queue), at most `limit`.
    pub async fn by_status(&self, status: &str, limit: i64) -> StoreResult<Vec<StaffDocument>> {
        let rows: Vec<StaffRow> = on_db!(self.db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SNAPSHOT_COLUMNS}, d.family_id, f.number AS family_number, c.first_name AS child_first_name \
                 FROM documents d JOIN document_types t ON t.id = d.document_type_id \
                 JOIN families f ON f.id = d.family_id LEFT JOIN children c ON c.id = d.child_id \
                 WHERE d.status = $1 ORDER BY d.created_at, d.id LIMIT $2"
            )))
            .bind(status)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        let mut out = Vec::with_capacity(rows.len());
        // One look-up per family, not per document.
        let mut names_of: std::collections::HashMap<Uuid, String> = Default::default();
        for r in rows {
            let names = match names_of.get(&r.family_id) {
                Some(names) => names.clone(),
                None => {
                    let names = self.family_names(r.family_id).await?;
                    names_of.insert(r.family_id, names.clone());
                    names
                }
            };
            out.push(StaffDocument {
                id: r.doc.id,
                family_id: r.family_id,
                family_number: r.family_number,
                family_name: names,
                child_id: r.doc.child_id,
                child_first_name: r.child_first_name,
                document_type_id: r.doc.document_type_id,
                document_type: r.doc.document_type,
                status: r.doc.status,
                submitted_at: r.doc.submitted_at,
                valid_until: r.doc.valid_until,
                refusal_reason: r.doc.refusal_reason,
            });
        }
        Ok(out)
    }

    async fn family_names(&self, family_id: Uuid) -> StoreResult<String> {
        let names: Vec<(String, String)> = on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT last_name, first_name FROM guardians WHERE family_id = $1 ORDER BY rank",
            )
            .bind(family_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(names
            .iter()
            .map(|(last, first)| format!("{last} {first}"))
            .collect::<Vec<_>>()
            .join(" et "))
    }

    /// Tells each family whose validated document ran out before `today` (once per
    /// document): an alert notice, and the document in its feed so phones refresh
    /// their red banner. Returns how many.
    pub async fn notify_expired(
        &self,
        today: NaiveDate,
        now: DateTime<Utc>,
        push: bool,
    ) -> StoreResult<usize> {
        let count = in_tx!(self.db, |tx| {
            let expired: Vec<(Uuid, Uuid, String, Option<String>)> = sqlx::query_as(
                "SELECT d.id, d.family_id, t.label, c.first_name FROM documents d \
                 JOIN document_types t ON t.id = d.document_type_id LEFT JOIN children c ON c.id = d.child_id \
                 WHERE d.status = 'validated' AND d.valid_until < $1 AND d.expiry_notified_at IS NULL",
            )
            .bind(today)
            .fetch_all(&mut *tx)
            .await?;
            let mut notices = Vec::with_capacity(expired.len());
            let mut changes: Vec<(Option<Uuid>, &str, Uuid)> = Vec::with_capacity(expired.len());
            for (id, family_id, label, child) in &expired {
                sqlx::query("UPDATE documents SET expiry_notified_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                notices.push(texts::document_expired(
                    *id,
                    *family_id,
                    label,
                    child.as_deref(),
                ));
                changes.push((Some(*family_id), "document", *id));
            }
            record_changes!(tx, &changes, now);
            notify!(tx, &notices, now, push);
            expired.len()
        });
        Ok(count)
    }

    /// Validates (`refusal` none) or refuses a pending document. The family's feed
    /// gets the change and its phones the notice, in the same transaction.
    pub async fn decide(
        &self,
        document_id: Uuid,
        agent: Uuid,
        valid_until: Option<NaiveDate>,
        refusal: Option<&str>,
        now: DateTime<Utc>,
        push: bool,
    ) -> StoreResult<Decision> {
        let decision = in_tx!(self.db, |tx| {
            let found: Option<(Uuid, String, String, Option<String>, String)> = sqlx::query_as(
                "SELECT d.family_id, d.status, t.label, c.first_name, t.validity FROM documents d \
                 JOIN document_types t ON t.id = d.document_type_id LEFT JOIN children c ON c.id = d.child_id \
                 WHERE d.id = $1",
            )
            .bind(document_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((family_id, status, label, child, validity)) = found else {
                return Ok(Decision::NotFound);
            };
            if status != "pending" {
                return Ok(Decision::Conflict);
            }
            let validity: DocumentValidity = super::parse_stored(&validity)?;
            if refusal.is_none() && validity == DocumentValidity::AgentDate && valid_until.is_none()
            {
                return Ok(Decision::DateRequired);
            }
            let valid_until =
                validity.valid_until(famille_model::calendar::paris_date(now), valid_until);
            let changed = sqlx::query(
                "UPDATE documents SET status = $2, valid_until = $3, refusal_reason = $4, decided_at = $5, \
                 decided_by = $6, updated_at = $5 WHERE id = $1 AND status = 'pending'",
            )
            .bind(document_id)
            .bind(if refusal.is_some() { "refused" } else { "validated" })
            .bind(if refusal.is_some() { None } else { valid_until })
            .bind(refusal)
            .bind(now)
            .bind(agent)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Ok(Decision::Conflict);
            }
            record_changes!(tx, &[(Some(family_id), "document", document_id)], now);
            let notice = texts::document_decided(
                document_id,
                family_id,
                &label,
                child.as_deref(),
                refusal.is_none(),
            );
            notify!(tx, std::slice::from_ref(&notice), now, push);
            let row: SnapshotRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SNAPSHOT_COLUMNS} FROM documents d JOIN document_types t ON t.id = d.document_type_id WHERE d.id = $1"
            )))
            .bind(document_id)
            .fetch_one(&mut *tx)
            .await?;
            Decision::Done(row.into())
        });
        Ok(decision)
    }
}
