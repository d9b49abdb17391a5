//! Documents waiting to be sent with tus, resumable from the offset the server
//! acknowledged, and their outcome.

use famille_model::ErrorCode;
use famille_model::files::UploadPurpose;
use rusqlite::{OptionalExtension, params};

use super::Store;
use crate::error::CoreResult;

famille_model::labelled_enum! {
    /// Where a document the parent sent from the phone stands.
    #[derive(uniffi::Enum)]
    UploadState {
        /// To send, or being sent (resumable).
        Pending => "pending", "En cours d'envoi";
        /// Received by the server: a document waiting for the services.
        Sent => "sent", "Envoyé";
        /// Refused by the server (the reason in `detail`).
        Rejected => "rejected", "Refusé";
    }
}

/// A document waiting to be sent, or its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingDocument {
    pub id: String,
    /// A dossier document, or a message's attachment.
    pub purpose: UploadPurpose,
    pub document_type: String,
    pub child_id: Option<String>,
    pub filename: String,
    pub path: String,
    pub length: i64,
    /// The server's address of the upload, once created.
    pub location: Option<String>,
    pub offset: i64,
    pub state: UploadState,
    pub code: Option<ErrorCode>,
    pub detail: Option<String>,
    pub document_id: Option<String>,
    /// Bytes per request (smaller on a slow uplink).
    pub piece: i64,
}

impl Store {
    pub fn add_outgoing(&self, d: &OutgoingDocument, now: &str) -> CoreResult<()> {
        self.conn.execute(
            "INSERT INTO uploads (id, document_type, child_id, filename, path, length, created_at, purpose) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![d.id, d.document_type, d.child_id, d.filename, d.path, d.length, now, d.purpose.as_str()],
        )?;
        Ok(())
    }

    pub fn outgoing(&self, only_pending: bool) -> CoreResult<Vec<OutgoingDocument>> {
        let sql = format!(
            "SELECT id, document_type, child_id, filename, path, length, location, offset, state, code, detail, document_id, piece, purpose \
             FROM uploads {} ORDER BY seq",
            if only_pending {
                "WHERE state = 'pending'"
            } else {
                ""
            }
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], |r| {
            Ok(OutgoingDocument {
                id: r.get(0)?,
                document_type: r.get(1)?,
                child_id: r.get(2)?,
                filename: r.get(3)?,
                path: r.get(4)?,
                length: r.get(5)?,
                location: r.get(6)?,
                offset: r.get(7)?,
                state: r
                    .get::<_, String>(8)?
                    .parse()
                    .unwrap_or(UploadState::Rejected),
                code: r.get::<_, Option<String>>(9)?.and_then(|c| c.parse().ok()),
                detail: r.get(10)?,
                document_id: r.get(11)?,
                piece: r.get(12)?,
                purpose: r
                    .get::<_, String>(13)?
                    .parse()
                    .unwrap_or(UploadPurpose::Document),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Keeps the piece size an upload goes on with.
    pub fn set_upload_piece(&self, id: &str, piece: i64) -> CoreResult<()> {
        self.conn.execute(
            "UPDATE uploads SET piece = ?2 WHERE id = ?1",
            params![id, piece],
        )?;
        Ok(())
    }

    /// Records where the server put the upload, and how far it got.
    pub fn set_upload_progress(
        &self,
        id: &str,
        location: Option<&str>,
        offset: i64,
    ) -> CoreResult<()> {
        self.conn.execute(
            "UPDATE uploads SET location = ?2, offset = ?3 WHERE id = ?1",
            params![id, location, offset],
        )?;
        Ok(())
    }

    pub fn finish_upload(
        &self,
        id: &str,
        state: UploadState,
        code: Option<ErrorCode>,
        detail: Option<&str>,
        document_id: Option<&str>,
    ) -> CoreResult<()> {
        self.conn.execute(
            "UPDATE uploads SET state = ?2, code = ?3, detail = ?4, document_id = ?5, \
             offset = CASE WHEN ?2 = 'sent' THEN length ELSE offset END WHERE id = ?1",
            params![
                id,
                state.as_str(),
                code.map(|c| c.as_str()),
                detail,
                document_id
            ],
        )?;
        Ok(())
    }

    /// Where an upload stands; `None` when it is unknown (withdrawn).
    pub fn upload_state(&self, id: &str) -> CoreResult<Option<UploadState>> {
        let state: Option<String> = self
            .conn
            .query_row("SELECT state FROM uploads WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(state.and_then(|s| s.parse().ok()))
    }

    /// The server's id of an upload that reached it (an attachment's id is its
    /// upload's); `None` while it is on its way, refused or unknown.
    pub fn sent_upload(&self, id: &str) -> CoreResult<Option<uuid::Uuid>> {
        let found: Option<Option<String>> = self
            .conn
            .query_row(
                "SELECT document_id FROM uploads WHERE id = ?1 AND state = 'sent'",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(found.flatten().and_then(|d| d.parse().ok()))
    }

    pub fn forget_upload(&self, id: &str) -> CoreResult<bool> {
        Ok(self.conn.execute(
            "DELETE FROM uploads WHERE id = ?1 AND state <> 'pending'",
            [id],
        )? == 1)
    }
}
