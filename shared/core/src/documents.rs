//! Documents from the phone: pages prepared from the camera (`capture`), queued to
//! send (works offline), and sent by `sync()` with tus 1.0, each resumed from where
//! it stopped after a cut or a restart. A file leaves the phone's folder once the
//! server has it, or once the parent dismissed its refusal.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use famille_model::ErrorCode;
use famille_model::files::UploadPurpose;
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

/// Bytes per upload request at first: small enough that a cut costs little.
pub const FIRST_PIECE: i64 = 128 * 1024;
/// The smallest piece: halved down to this after requests that took too long.
pub const SMALLEST_PIECE: i64 = 8 * 1024;
/// How long one piece may take to go (its answer included). A piece that takes
/// longer is sent again in halves: at 5 kB/s a 128 KiB piece never fits, a 64 KiB
/// one does.
pub const PIECE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// How long the answer to the last piece may take: the server checks the whole file
/// (decodes a picture, reads a PDF's structure) before it answers.
pub const FINISH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// [`PIECE_TIMEOUT`]; in tests built with `fault-injection`,
/// `FAMILLE_CORE_PIECE_TIMEOUT_MS` shortens it (a slow uplink in seconds, not minutes).
fn piece_timeout() -> std::time::Duration {
    #[cfg(feature = "fault-injection")]
    if let Some(ms) = std::env::var("FAMILLE_CORE_PIECE_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return std::time::Duration::from_millis(ms);
    }
    PIECE_TIMEOUT
}

/// The server's limit, in bytes, until it said its own (`Tus-Max-Size`).
pub const DEFAULT_UPLOAD_LIMIT: u64 = 10 * 1024 * 1024;

/// Settings tried in turn when a capture is over the limit: JPEG quality and long
/// side of each page (a page of text stays legible at 1,300 px and quality 45).
const LIGHTER: [(u8, u32); 4] = [(65, 2000), (55, 1600), (45, 1600), (45, 1300)];

/// The refusal of a document over the server's limit, in French, with the limit.
fn too_heavy(size: Option<u64>, limit: u64, pages: Option<usize>) -> Error {
    let mb = |b: u64| format!("{:.1}", b as f64 / (1024.0 * 1024.0)).replace('.', ",");
    let (what, advice) = match (size, pages) {
        (Some(size), _) => (
            format!("Ce document pèse {} Mo", mb(size)),
            "Réduisez-le (moins de pages, une résolution plus basse) avant de l'envoyer.",
        ),
        (None, Some(1)) => (
            "Cette page pèse trop, même allégée".to_owned(),
            "Reprenez la photo avec l'aspect « document ».",
        ),
        (None, Some(pages)) => (
            format!("Ces {pages} pages pèsent trop, même allégées"),
            "Envoyez-les en plusieurs documents (moins de pages chacun).",
        ),
        (None, None) => (
            "Ce document est trop lourd".to_owned(),
            "Réduisez-le avant de l'envoyer.",
        ),
    };
    Error::Rejected {
        code: ErrorCode::UploadTooLarge,
        detail: format!(
            "{what} : le portail accepte {} Mo au plus. {advice}",
            mb(limit)
        ),
    }
}

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
    /// The piece took longer than [`PIECE_TIMEOUT`]: send smaller ones.
    TooSlow(reqwest::Error),
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
        let limit = self.upload_limit();
        // Fitted under the server's limit: the parent's settings first, then
        // lighter ones (quality, then size per page), as far as a page stays legible.
        let mut attempt = *options;
        for (step, (quality, side)) in std::iter::once((options.jpeg_quality, options.max_side))
            .chain(LIGHTER.iter().copied())
            .enumerate()
        {
            attempt.jpeg_quality = quality.min(options.jpeg_quality);
            attempt.max_side = side.min(options.max_side);
            if step > 0
                && attempt.jpeg_quality == options.jpeg_quality
                && attempt.max_side == options.max_side
            {
                continue;
            }
            let mut captured = Vec::with_capacity(pages.len());
            for (i, page) in pages.iter().enumerate() {
                captured.push(capture_page(page, &attempt)?);
                self.progress("capture", i as u64 + 1, pages.len() as u64);
            }
            let (bytes, filename) = match captured.as_slice() {
                [one] => (one.jpeg.clone(), "document.jpg".to_owned()),
                _ => (assemble_pdf(&captured), "document.pdf".to_owned()),
            };
            if bytes.len() as u64 <= limit {
                return Ok(CapturedDocument {
                    bytes,
                    filename,
                    pages: captured,
                });
            }
        }
        Err(too_heavy(None, limit, Some(pages.len())))
    }

    /// The largest document the server takes (its `Tus-Max-Size`, learnt at sync),
    /// 10 MiB until learnt.
    pub fn upload_limit(&self) -> u64 {
        self.store()
            .meta("max_upload_bytes")
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_UPLOAD_LIMIT)
    }

    /// Asks the server what it takes (tus OPTIONS), kept for captures offline.
    pub(crate) async fn learn_upload_limit(&self) -> CoreResult<()> {
        let (_, headers, _) = self
            .api
            .raw(Method::OPTIONS, "/api/v1/uploads", "", &[], Vec::new())
            .await?;
        if let Some(max) = header_i64(&headers, "tus-max-size").filter(|m| *m > 0) {
            self.store()
                .set_meta("max_upload_bytes", &max.to_string())?;
        }
        Ok(())
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
        self.queue_upload(
            UploadPurpose::Document,
            document_type,
            child_id,
            bytes,
            filename,
        )
    }

    /// Queues an upload (a document, or a message's attachment) after checking
    /// its bytes; its local id.
    pub(crate) fn queue_upload(
        &self,
        purpose: UploadPurpose,
        document_type: &str,
        child_id: Option<&str>,
        bytes: &[u8],
        filename: &str,
    ) -> CoreResult<String> {
        let limit = self.upload_limit();
        if bytes.len() as u64 > limit {
            return Err(too_heavy(Some(bytes.len() as u64), limit, None));
        }
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
                purpose,
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
                piece: FIRST_PIECE,
            },
            &self.now().to_rfc3339(),
        )?;
        Ok(id)
    }

    /// The documents sent from the phone (a message's attachments show in their
    /// message).
    pub fn outgoing_documents(&self) -> CoreResult<Vec<OutgoingView>> {
        Ok(self
            .store()
            .outgoing(false)?
            .into_iter()
            .filter(|d| d.purpose == UploadPurpose::Document)
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
        let mut piece = doc.piece.clamp(SMALLEST_PIECE, FIRST_PIECE);
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
                // An offset outside the file is no answer to resume from.
                (Some(_), Some(from)) if from < 0 || from as usize > bytes.len() => Step::Restart,
                (Some(at), Some(from)) => {
                    #[allow(unused_mut)]
                    let mut end = (from as usize + piece as usize).min(bytes.len());
                    #[cfg(feature = "fault-injection")]
                    if std::env::var("FAMILLE_CORE_FAULT").is_ok_and(|f| f == "cut_upload_midway") {
                        // However small the file, the cut falls in its middle.
                        end = end.min(from as usize + bytes.len().div_ceil(2));
                    }
                    let started = std::time::Instant::now();
                    let last = end == bytes.len();
                    let step = self
                        .patch_upload(at, &token, from, &bytes[from as usize..end], last)
                        .await?;
                    // Quick again (the train left the tunnel): pieces grow back.
                    if matches!(step, Step::At(_))
                        && piece < FIRST_PIECE
                        && started.elapsed() < piece_timeout() / 4
                    {
                        piece = (piece * 2).min(FIRST_PIECE);
                        self.store().set_upload_piece(&doc.id, piece)?;
                    }
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
                Step::TooSlow(cause) => {
                    if piece <= SMALLEST_PIECE {
                        return Err(Error::Offline {
                            detail: "réseau trop lent pour envoyer le document".to_owned(),
                            source: Some(cause),
                        });
                    }
                    // Halved, kept for the next sync, and the server asked where
                    // it stands (it keeps nothing of a piece cut short).
                    piece = (piece / 2).max(SMALLEST_PIECE);
                    self.store().set_upload_piece(&doc.id, piece)?;
                    offset = None;
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
            format!("purpose {}", STANDARD.encode(doc.purpose.as_str())),
            format!("filename {}", STANDARD.encode(&doc.filename)),
        ];
        if doc.purpose == UploadPurpose::Document {
            metadata.push(format!(
                "document_type {}",
                STANDARD.encode(&doc.document_type)
            ));
        }
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
        last: bool,
    ) -> CoreResult<Step> {
        let checksum = format!("sha256 {}", STANDARD.encode(sha2::Sha256::digest(piece)));
        let answer = self
            .api
            .raw_within(
                Method::PATCH,
                at,
                token,
                &[
                    ("upload-offset", from.to_string()),
                    ("content-type", "application/offset+octet-stream".into()),
                    ("upload-checksum", checksum),
                ],
                piece.to_vec(),
                // The last piece's answer waits for the server to check the whole
                // file: silence then is not a slow uplink.
                Some(if last {
                    FINISH_TIMEOUT
                } else {
                    piece_timeout()
                }),
            )
            .await;
        let (status, headers, body) = match answer {
            // Silence while sending (not a failed connection: that is offline).
            Err(crate::client::CallError::Network(e)) if e.is_timeout() && !e.is_connect() => {
                return Ok(Step::TooSlow(e));
            }
            other => other?,
        };
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
