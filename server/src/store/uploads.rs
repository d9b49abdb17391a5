//! Uploads in progress and the documents they become.

use chrono::{DateTime, Utc};
use famille_model::api::DocumentScope;
use famille_model::files::UploadPurpose;
use uuid::Uuid;

use super::feed::FeedEntry;
use super::{Db, StoreResult, dialect, execute, in_tx, on_db, record_changes};

pub struct Uploads<'a> {
    pub(super) db: &'a Db,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    pub id: Uuid,
    pub family_id: Uuid,
    pub child_id: Option<Uuid>,
    /// `None` for an attachment.
    pub document_type_id: Option<Uuid>,
    pub filename: Option<String>,
    pub length: i64,
    pub received: i64,
    /// The document or attachment it became.
    pub document_id: Option<Uuid>,
}

impl UploadRow {
    pub fn purpose(&self) -> UploadPurpose {
        if self.document_type_id.is_some() {
            UploadPurpose::Document
        } else {
            UploadPurpose::Attachment
        }
    }
}

pub struct NewUpload<'a> {
    pub id: Uuid,
    pub family_id: Uuid,
    pub account_id: Uuid,
    pub child_id: Option<Uuid>,
    /// `None` for an attachment.
    pub document_type_id: Option<Uuid>,
    pub filename: Option<&'a str>,
    pub length: i64,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The stored file of a finished upload.
pub struct StoredFile<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
}

/// What one family holds of the shared disk and of the agents' queue.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct FamilyLoad {
    pub in_flight: i64,
    pub bytes: i64,
    /// Documents and attachments sent in the last 24 hours.
    pub documents: i64,
}

/// How much one family may hold at once.
#[derive(Debug, Clone, Copy)]
pub struct UploadBounds {
    pub in_flight: i64,
    pub bytes: i64,
    /// Documents a day, counting the uploads in progress (each may become one).
    pub documents_per_day: i64,
}

/// Which bound a new upload would cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaHit {
    InFlight,
    Bytes,
    DocumentsPerDay,
}

impl UploadBounds {
    /// Whether one more upload of `length` bytes fits.
    pub fn check(&self, load: FamilyLoad, length: i64) -> Result<(), QuotaHit> {
        if load.in_flight >= self.in_flight {
            Err(QuotaHit::InFlight)
        } else if load.bytes.saturating_add(length) > self.bytes {
            Err(QuotaHit::Bytes)
        } else if load.documents + load.in_flight >= self.documents_per_day {
            Err(QuotaHit::DocumentsPerDay)
        } else {
            Ok(())
        }
    }
}

impl Uploads<'_> {
    /// A document type by its code: (id, scope).
    pub async fn document_type(&self, code: &str) -> StoreResult<Option<(Uuid, DocumentScope)>> {
        let found: Option<(Uuid, String)> = on_db!(self.db, |pool| {
            sqlx::query_as("SELECT id, scope FROM document_types WHERE code = $1")
                .bind(code)
                .fetch_optional(pool)
                .await
        })?;
        found
            .map(|(id, scope)| Ok((id, super::parse_stored(&scope)?)))
            .transpose()
    }

    /// The family's upload (another family's is not found).
    pub async fn get(&self, id: Uuid, family_id: Uuid) -> StoreResult<Option<UploadRow>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, family_id, child_id, document_type_id, filename, length, received, document_id \
                 FROM uploads WHERE id = $1 AND family_id = $2",
            )
            .bind(id)
            .bind(family_id)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Moves the offset from `from` to `to`; `false` if another request moved it.
    pub async fn advance(&self, id: Uuid, from: i64, to: i64) -> StoreResult<bool> {
        Ok(execute!(
            self.db,
            "UPDATE uploads SET received = $3 WHERE id = $1 AND received = $2",
            id,
            from,
            to
        )? == 1)
    }

    /// Creates the upload if the family stays within `bounds`, counting in the same
    /// transaction with the family's row locked (PostgreSQL; SQLite's writers take
    /// turns): concurrent requests of one family are counted one after the other.
    /// Otherwise nothing is created and the bound reached is returned.
    pub async fn create_within(
        &self,
        u: &NewUpload<'_>,
        bounds: &UploadBounds,
        since: DateTime<Utc>,
    ) -> StoreResult<Result<(), QuotaHit>> {
        let lock = dialect!(self.db,
            sqlite: "SELECT id FROM families WHERE id = $1",
            postgres: "SELECT id FROM families WHERE id = $1 FOR UPDATE",
        );
        Ok(in_tx!(self.db, |tx| {
            sqlx::query(lock)
                .bind(u.family_id)
                .fetch_optional(&mut *tx)
                .await?;
            let load: FamilyLoad = sqlx::query_as(
                "SELECT \
                   (SELECT COUNT(*) FROM uploads WHERE family_id = $1 AND document_id IS NULL AND expires_at >= $2) AS in_flight, \
                   (SELECT CAST(COALESCE(SUM(length), 0) AS BIGINT) FROM uploads WHERE family_id = $1 AND document_id IS NULL AND expires_at >= $2) AS bytes, \
                   (SELECT COUNT(*) FROM documents WHERE family_id = $1 AND created_at >= $3) \
                   + (SELECT COUNT(*) FROM attachments WHERE family_id = $1 AND created_at >= $3) AS documents",
            )
            .bind(u.family_id)
            .bind(u.now)
            .bind(since)
            .fetch_one(&mut *tx)
            .await?;
            match bounds.check(load, u.length) {
                Err(hit) => Err(hit),
                Ok(()) => {
                    sqlx::query(
                        "INSERT INTO uploads (id, family_id, account_id, child_id, document_type_id, filename, length, created_at, expires_at, purpose) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(u.id)
                    .bind(u.family_id)
                    .bind(u.account_id)
                    .bind(u.child_id)
                    .bind(u.document_type_id)
                    .bind(u.filename)
                    .bind(u.length)
                    .bind(u.now)
                    .bind(u.expires_at)
                    .bind(if u.document_type_id.is_some() {
                        UploadPurpose::Document.as_str()
                    } else {
                        UploadPurpose::Attachment.as_str()
                    })
                    .execute(&mut *tx)
                    .await?;
                    Ok(())
                }
            }
        }))
    }

    pub async fn delete(&self, id: Uuid) -> StoreResult<()> {
        execute!(self.db, "DELETE FROM uploads WHERE id = $1", id)?;
        Ok(())
    }

    /// Unfinished uploads past their end; removed, their ids returned (to delete
    /// their bytes).
    pub async fn take_expired(&self, now: DateTime<Utc>) -> StoreResult<Vec<Uuid>> {
        Ok(in_tx!(self.db, |tx| {
            let ids: Vec<Uuid> = sqlx::query_scalar(
                "SELECT id FROM uploads WHERE expires_at < $1 AND document_id IS NULL",
            )
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM uploads WHERE expires_at < $1")
                .bind(now)
                .execute(&mut *tx)
                .await?;
            ids
        }))
    }

    /// The finished upload becomes what it was sent for: a document waiting for
    /// the services, in the family's feed, or an attachment waiting for its
    /// message (whose id is the upload's): `Ok(Ok(id))`. Once only: when another
    /// request finished the same upload first (a phone that resent its last piece
    /// while the first was being checked), nothing is created and `Ok(Err(id))`
    /// names what it became.
    pub async fn complete(
        &self,
        upload: &UploadRow,
        file: &StoredFile<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Result<Uuid, Uuid>> {
        let document_id = match upload.document_type_id {
            Some(_) => Uuid::now_v7(),
            None => upload.id,
        };
        // An attachment is free until a message takes it (one to five per
        // message); it is in no feed until then.
        let claimed = if upload.document_type_id.is_none() {
            in_tx!(self.db, |tx| {
                sqlx::query(
                    "INSERT INTO attachments (id, family_id, filename, file_key, content_type, size_bytes, sha256, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
                )
                .bind(document_id)
                .bind(upload.family_id)
                .bind(upload.filename.as_deref())
                .bind(file.key)
                .bind(file.content_type)
                .bind(file.size)
                .bind(file.sha256)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE uploads SET document_id = $2 WHERE id = $1 AND document_id IS NULL",
                )
                .bind(upload.id)
                .bind(document_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1
            })
        } else {
            in_tx!(self.db, |tx| {
                sqlx::query(
                "INSERT INTO documents (id, family_id, child_id, document_type_id, status, created_at, updated_at, \
                 file_key, content_type, size_bytes, sha256) VALUES ($1, $2, $3, $4, 'pending', $5, $5, $6, $7, $8, $9)",
            )
            .bind(document_id)
            .bind(upload.family_id)
            .bind(upload.child_id)
            .bind(upload.document_type_id)
            .bind(now)
            .bind(file.key)
            .bind(file.content_type)
            .bind(file.size)
            .bind(file.sha256)
            .execute(&mut *tx)
            .await?;
                // The claim: concurrent finishes of one upload wait on its row here.
                let claimed = sqlx::query(
                    "UPDATE uploads SET document_id = $2 WHERE id = $1 AND document_id IS NULL",
                )
                .bind(upload.id)
                .bind(document_id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if claimed {
                    record_changes!(
                        tx,
                        &[FeedEntry::document(upload.family_id, document_id)],
                        now
                    );
                } else {
                    sqlx::query("DELETE FROM documents WHERE id = $1")
                        .bind(document_id)
                        .execute(&mut *tx)
                        .await?;
                }
                claimed
            })
        };
        if claimed {
            return Ok(Ok(document_id));
        }
        let first = self
            .get(upload.id, upload.family_id)
            .await?
            .and_then(|u| u.document_id);
        Ok(Err(first.unwrap_or(document_id)))
    }

    /// A document's stored file: (family, child, key, content type).
    pub async fn document_file(
        &self,
        document_id: Uuid,
    ) -> StoreResult<Option<(Uuid, Option<Uuid>, Option<String>, Option<String>)>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT family_id, child_id, file_key, content_type FROM documents WHERE id = $1",
            )
            .bind(document_id)
            .fetch_optional(pool)
            .await
        })?)
    }
}
