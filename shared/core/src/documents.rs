//! Documents from the phone: pages prepared from the camera (`capture`), queued to
//! send (works offline), and sent by `sync()` with tus 1.0, each resumed from where
//! it stopped after a cut or a restart. A file leaves the phone's folder once the
//! server has it, or once the parent dismissed its refusal.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use famille_model::ErrorCode;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;
use sha2::Digest;
use uuid::Uuid;

use crate::capture::{CaptureOptions, assemble_pdf, capture_page};
use crate::engine::Engine;
use crate::error::{CoreResult, Error};
use crate::store::{OutgoingDocument, UploadState};
use crate::views::{CapturedDocument, OutgoingView, SyncReport};

/// Bytes per upload request: small enough that a cut costs little.
const UPLOAD_CHUNK: usize = 128 * 1024;

fn header_i64(headers: &HeaderMap, name: &str) -> Option<i64> {
    headers.get(name)?.to_str().ok()?.parse().ok()
}

fn document_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get("famille-document-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// What one tus exchange says about an upload.
enum Step {
    /// Go on from this offset (the upload exists at `location`).
    At(i64),
    /// The server has it all: it became this document.
    Done(String),
    /// The server's address is gone (expired): start again.
    Restart,
    /// The access token was refused: refresh and try again.
    Reauthenticate,
    /// The server refused the file for good (`code`, `detail`).
    Refused(ErrorCode, Option<String>),
}

impl Engine {
    /// Prepares pages from the camera's JPEGs and, for several, one PDF of them.
    pub fn capture_document(
        &self,
        pages: &[Vec<u8>],
        options: &CaptureOptions,
    ) -> CoreResult<CapturedDocument> {
        let mut captured = Vec::with_capacity(pages.len());
        for (i, page) in pages.iter().enumerate() {
            captured.push(capture_page(page, options)?);
            self.progress("capture", i as u64 + 1, pages.len() as u64);
        }
        let (bytes, filename) = match captured.as_slice() {
            [one] => (one.jpeg.clone(), "document.jpg".to_owned()),
            _ => (assemble_pdf(&captured), "document.pdf".to_owned()),
        };
        Ok(CapturedDocument {
            bytes,
            filename,
            pages: captured,
        })
    }

    /// Queues a document to send (works offline): `sync()` uploads it. The bytes
    /// are checked as the server will check them (`famille_model::files`).
    pub fn send_document(
        &self,
        document_type: &str,
        child_id: Option<&str>,
        bytes: &[u8],
        filename: &str,
    ) -> CoreResult<String> {
        let kind = famille_model::files::check_file(bytes, Some(filename)).map_err(|refusal| {
            Error::Rejected {
                code: refusal.code(),
                detail: refusal.detail_fr(),
            }
        })?;
        if let Some(child) = child_id {
            let known = self
                .family()?
                .is_some_and(|f| f.children.iter().any(|c| c.id.to_string() == child));
            if !known {
                return Err(Error::invalid("enfant inconnu"));
            }
        }
        let id = Uuid::now_v7().to_string();
        std::fs::create_dir_all(self.outgoing_dir())?;
        let path = self
            .outgoing_dir()
            .join(format!("{id}.{}", kind.extension()));
        std::fs::write(&path, bytes)?;
        self.store().add_outgoing(
            &OutgoingDocument {
                id: id.clone(),
                document_type: document_type.to_owned(),
                child_id: child_id.map(str::to_owned),
                filename: filename.to_owned(),
                path: path.display().to_string(),
                length: bytes.len() as i64,
                location: None,
                offset: 0,
                state: UploadState::Pending,
                code: None,
                detail: None,
                document_id: None,
            },
            &self.now().to_rfc3339(),
        )?;
        Ok(id)
    }

    pub fn outgoing_documents(&self) -> CoreResult<Vec<OutgoingView>> {
        Ok(self
            .store()
            .outgoing(false)?
            .into_iter()
            .map(OutgoingView::from)
            .collect())
    }

    /// The parent dismissed a sent or refused document: it leaves the phone.
    pub fn forget_outgoing(&self, id: &str) -> CoreResult<bool> {
        let known = self
            .store()
            .outgoing(false)?
            .into_iter()
            .find(|d| d.id == id);
        let forgotten = self.store().forget_upload(id)?;
        if forgotten && let Some(doc) = known {
            let _ = std::fs::remove_file(&doc.path);
        }
        Ok(forgotten)
    }

    /// Sends the queued documents with tus, each from where it stopped.
    pub(crate) async fn push_uploads(&self, report: &mut SyncReport) -> CoreResult<()> {
        let pending = self.store().outgoing(true)?;
        for doc in pending {
            let bytes = std::fs::read(&doc.path)?;
            match self.upload(&doc, &bytes).await? {
                Ok(document) => {
                    self.store().finish_upload(
                        &doc.id,
                        UploadState::Sent,
                        None,
                        None,
                        Some(&document),
                    )?;
                    let _ = std::fs::remove_file(&doc.path);
                    report.documents_sent += 1;
                }
                Err((code, detail)) => {
                    self.store().finish_upload(
                        &doc.id,
                        UploadState::Rejected,
                        Some(code),
                        detail.as_deref(),
                        None,
                    )?;
                    let _ = std::fs::remove_file(&doc.path);
                    report.documents_rejected += 1;
                }
            }
        }
        Ok(())
    }

    /// One document to its end: `Ok(document id)`, or the server's refusal.
    async fn upload(
        &self,
        doc: &OutgoingDocument,
        bytes: &[u8],
    ) -> CoreResult<Result<String, (ErrorCode, Option<String>)>> {
        let mut location = doc.location.clone();
        // Resuming: ask the server where it is before sending anything.
        let mut offset = None;
        loop {
            let token = self.access_token(None).await?;
            let step = match (&location, offset) {
                (None, _) => match self.create_upload(doc, &token).await? {
                    Ok(at) => {
                        self.store().set_upload_progress(&doc.id, Some(&at), 0)?;
                        location = Some(at);
                        Step::At(0)
                    }
                    Err(step) => step,
                },
                (Some(at), None) => self.head_upload(at, &token).await?,
                (Some(at), Some(from)) => {
                    #[allow(unused_mut)]
                    let mut end = (from as usize + UPLOAD_CHUNK).min(bytes.len());
                    #[cfg(feature = "fault-injection")]
                    if std::env::var("FAMILLE_CORE_FAULT").is_ok_and(|f| f == "cut_upload_midway") {
                        // However small the file, the cut falls in its middle.
                        end = end.min(from as usize + bytes.len().div_ceil(2));
                    }
                    let step = self
                        .patch_upload(at, &token, from, &bytes[from as usize..end])
                        .await?;
                    #[cfg(feature = "fault-injection")]
                    if matches!(step, Step::At(_))
                        && std::env::var("FAMILLE_CORE_FAULT")
                            .is_ok_and(|f| f == "cut_upload_midway")
                    {
                        // The network goes at mid-upload.
                        if let Step::At(reached) = step {
                            self.store()
                                .set_upload_progress(&doc.id, Some(at), reached)?;
                        }
                        return Err(Error::offline("connexion coupée pendant l'envoi"));
                    }
                    step
                }
            };
            match step {
                Step::At(reached) => {
                    if let Some(at) = &location {
                        self.store()
                            .set_upload_progress(&doc.id, Some(at), reached)?;
                    }
                    self.progress("document", reached as u64, doc.length as u64);
                    offset = Some(reached);
                }
                Step::Done(document) => return Ok(Ok(document)),
                Step::Restart => {
                    self.store().set_upload_progress(&doc.id, None, 0)?;
                    location = None;
                    offset = None;
                }
                Step::Reauthenticate => {
                    self.access_token(Some(&token)).await?;
                }
                Step::Refused(code, detail) => return Ok(Err((code, detail))),
            }
        }
    }

    /// tus creation: the upload's address.
    async fn create_upload(
        &self,
        doc: &OutgoingDocument,
        token: &str,
    ) -> CoreResult<Result<String, Step>> {
        let mut metadata = vec![
            format!("document_type {}", STANDARD.encode(&doc.document_type)),
            format!("filename {}", STANDARD.encode(&doc.filename)),
        ];
        if let Some(child) = &doc.child_id {
            metadata.push(format!("child_id {}", STANDARD.encode(child)));
        }
        let (status, headers, body) = self
            .api
            .raw(
                Method::POST,
                "/api/v1/uploads",
                token,
                &[
                    ("upload-length", doc.length.to_string()),
                    ("upload-metadata", metadata.join(",")),
                ],
                Vec::new(),
            )
            .await?;
        match status {
            201 => headers
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(|at| Ok(at.to_owned()))
                .ok_or_else(|| Error::offline("réponse d'envoi sans adresse")),
            401 => Ok(Err(Step::Reauthenticate)),
            s if s == 429 || s >= 500 => Err(Error::offline(format!("envoi impossible ({s})"))),
            _ => Ok(Err(refused(&body))),
        }
    }

    /// tus HEAD: how far the server got.
    async fn head_upload(&self, at: &str, token: &str) -> CoreResult<Step> {
        let (status, headers, _) = self
            .api
            .raw(Method::HEAD, at, token, &[], Vec::new())
            .await?;
        Ok(match status {
            200 => match document_id(&headers) {
                Some(document) => Step::Done(document),
                None => Step::At(header_i64(&headers, "upload-offset").unwrap_or(0)),
            },
            404 => Step::Restart,
            401 => Step::Reauthenticate,
            s => return Err(Error::offline(format!("reprise impossible ({s})"))),
        })
    }

    /// tus PATCH of one piece, with its checksum.
    async fn patch_upload(
        &self,
        at: &str,
        token: &str,
        from: i64,
        piece: &[u8],
    ) -> CoreResult<Step> {
        let checksum = format!("sha256 {}", STANDARD.encode(sha2::Sha256::digest(piece)));
        let (status, headers, body) = self
            .api
            .raw(
                Method::PATCH,
                at,
                token,
                &[
                    ("upload-offset", from.to_string()),
                    ("content-type", "application/offset+octet-stream".into()),
                    ("upload-checksum", checksum),
                ],
                piece.to_vec(),
            )
            .await?;
        Ok(match status {
            204 => match document_id(&headers) {
                Some(document) => Step::Done(document),
                None => Step::At(
                    header_i64(&headers, "upload-offset").unwrap_or(from + piece.len() as i64),
                ),
            },
            // Offset disagreement or a damaged piece: ask the server again.
            409 | 460 => self.head_upload(at, token).await?,
            401 => Step::Reauthenticate,
            404 => Step::Restart,
            s if s == 429 || s >= 500 => {
                return Err(Error::offline(format!("envoi interrompu ({s})")));
            }
            _ => refused(&body),
        })
    }
}

/// The server's refusal of a file, from its problem+json.
fn refused(problem: &Value) -> Step {
    Step::Refused(
        problem["code"]
            .as_str()
            .and_then(|c| c.parse().ok())
            .unwrap_or(ErrorCode::Unknown),
        problem["detail"].as_str().map(str::to_owned),
    )
}
