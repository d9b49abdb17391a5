//! Documents the families send, and the services' decisions on them (as steps of
//! the service's transaction, which adds the notice).

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::{
    DocumentScope, DocumentSnapshot, DocumentStatus, DocumentType, DocumentTypeInput, StaffDocument,
};
use famille_model::dossier::DocumentValidity;
use famille_model::notice::DocumentNames;
use uuid::Uuid;

use super::feed::FeedEntry;
use super::{Db, StoreResult, Tx, execute, in_tx, on_db, on_tx, record_changes, unique_violation};

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
    #[sqlx(try_from = "String")]
    pub status: DocumentStatus,
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

#[derive(sqlx::FromRow)]
struct TypeRow {
    id: Uuid,
    code: String,
    label: String,
    #[sqlx(try_from = "String")]
    scope: DocumentScope,
    #[sqlx(try_from = "String")]
    validity: DocumentValidity,
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
        Ok(rows
            .into_iter()
            .map(|r| DocumentType {
                id: r.id,
                code: r.code,
                label: r.label,
                scope: r.scope,
                validity: r.validity,
            })
            .collect())
    }

    /// A new type; `Duplicate` when the code is taken.
    pub async fn insert_type(&self, input: &DocumentTypeInput) -> StoreResult<Uuid> {
        let id = Uuid::now_v7();
        execute!(self.db, "INSERT INTO document_types (id, code, label, scope, validity) VALUES ($1, $2, $3, $4, $5)", id, &input.code, &input.label, input.scope.as_str(), input.validity.as_str())
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
        Ok(execute!(
            self.db,
            "UPDATE document_types SET label = $2, validity = $3 WHERE id = $1",
            id,
            label,
            validity.as_str()
        )? == 1)
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
            record_changes!(tx, &[FeedEntry::document(family_id, id)], now);
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
    pub async fn by_status(
        &self,
        status: DocumentStatus,
        limit: i64,
    ) -> StoreResult<Vec<StaffDocument>> {
        let rows: Vec<StaffRow> = on_db!(self.db, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {SNAPSHOT_COLUMNS}, d.family_id, f.number AS family_number, c.first_name AS child_first_name \
                 FROM documents d JOIN document_types t ON t.id = d.document_type_id \
                 JOIN families f ON f.id = d.family_id LEFT JOIN children c ON c.id = d.child_id \
                 WHERE d.status = $1 ORDER BY d.created_at, d.id LIMIT $2"
            )))
            .bind(status.as_str())
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
}

/// A document as a decision reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DecisionFacts {
    pub family_id: Uuid,
    #[sqlx(try_from = "String")]
    pub status: DocumentStatus,
    pub label: String,
    pub child: Option<String>,
    #[sqlx(try_from = "String")]
    pub validity: DocumentValidity,
}

impl DecisionFacts {
    pub fn names(&self, document_id: Uuid) -> DocumentNames {
        DocumentNames {
            document_id,
            label: self.label.clone(),
            child: self.child.clone(),
        }
    }
}

/// A document with its type's label and validity, and the child's first name.
pub async fn decision_facts(tx: &mut Tx, document_id: Uuid) -> StoreResult<Option<DecisionFacts>> {
    Ok(on_tx!(tx, |c| {
        sqlx::query_as(
        "SELECT d.family_id, d.status, t.label, ch.first_name AS child, t.validity FROM documents d \
         JOIN document_types t ON t.id = d.document_type_id LEFT JOIN children ch ON ch.id = d.child_id \
         WHERE d.id = $1",
    )
    .bind(document_id)
    .fetch_optional(&mut *c)
    .await
    })?)
}

/// Records a decision on a pending document: validated until `valid_until`, or
/// refused with `refusal`. Guarded on `pending`: `false` when another agent decided
/// first.
pub async fn record_decision(
    tx: &mut Tx,
    document_id: Uuid,
    family_id: Uuid,
    agent: Uuid,
    valid_until: Option<NaiveDate>,
    refusal: Option<&str>,
) -> StoreResult<bool> {
    let now = tx.now();
    let status = if refusal.is_some() {
        DocumentStatus::Refused
    } else {
        DocumentStatus::Validated
    };
    let changed = on_tx!(tx, |c| {
        sqlx::query(
        "UPDATE documents SET status = $2, valid_until = $3, refusal_reason = $4, decided_at = $5, \
         decided_by = $6, updated_at = $5 WHERE id = $1 AND status = 'pending'",
    )
    .bind(document_id)
    .bind(status.as_str())
    .bind(if refusal.is_some() { None } else { valid_until })
    .bind(refusal)
    .bind(now)
    .bind(agent)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    if changed == 1 {
        tx.changed(FeedEntry::document(family_id, document_id));
    }
    Ok(changed == 1)
}

/// A document as the family sees it.
pub async fn snapshot(tx: &mut Tx, document_id: Uuid) -> StoreResult<DocumentSnapshot> {
    let row: SnapshotRow = on_tx!(tx, |c| {
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SNAPSHOT_COLUMNS} FROM documents d JOIN document_types t ON t.id = d.document_type_id WHERE d.id = $1"
    )))
    .bind(document_id)
    .fetch_one(&mut *c)
    .await
    })?;
    Ok(row.into())
}

/// The validated documents that ran out before `today` and whose family was not
/// told yet, marked as told and put back in their family's feed (so phones refresh
/// their red banner). Returns each family with the document's names.
pub async fn take_expired(
    tx: &mut Tx,
    today: NaiveDate,
) -> StoreResult<Vec<(Uuid, DocumentNames)>> {
    let now = tx.now();
    let expired: Vec<(Uuid, Uuid, String, Option<String>)> = on_tx!(tx, |c| {
        let expired: Vec<(Uuid, Uuid, String, Option<String>)> = sqlx::query_as(
            "SELECT d.id, d.family_id, t.label, ch.first_name FROM documents d \
             JOIN document_types t ON t.id = d.document_type_id LEFT JOIN children ch ON ch.id = d.child_id \
             WHERE d.status = 'validated' AND d.valid_until < $1 AND d.expiry_notified_at IS NULL",
        )
        .bind(today)
        .fetch_all(&mut *c)
        .await?;
        for (id, ..) in &expired {
            sqlx::query("UPDATE documents SET expiry_notified_at = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut *c)
                .await?;
        }
        Ok::<_, sqlx::Error>(expired)
    })?;
    Ok(expired
        .into_iter()
        .map(|(document_id, family_id, label, child)| {
            tx.changed(FeedEntry::document(family_id, document_id));
            (
                family_id,
                DocumentNames {
                    document_id,
                    label,
                    child,
                },
            )
        })
        .collect())
}
