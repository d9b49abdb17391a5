//! `/api/v1/uploads`: tus 1.0 (core, creation, checksum, termination). A family sends
//! a document in pieces that survive a network cut or an app restart; when the last
//! byte arrives the file is checked from its bytes (JPEG, PNG or PDF only, its name
//! must not lie, no image bomb), stored under a key the server makes, and becomes a
//! document waiting for the services. A refused file leaves nothing behind.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use famille_model::ErrorCode;
use famille_model::api::{DocumentScope, Problem};
use famille_model::files::{FileKind, FileRefusal, UploadPurpose, check_file};
use famille_model::validate::FieldError;
use sha2::Digest;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::accounts::auth::Parent;
use crate::error::{AppError, AppResult};
use crate::input::ApiPath;
use crate::state::AppState;
use crate::store::uploads::{NewUpload, QuotaHit, StoredFile, UploadBounds, UploadRow};

const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,checksum,termination";
const CHECKSUMS: &str = "sha1,sha256";
/// An upload not finished after this is abandoned.
const UPLOAD_LIFETIME: Duration = Duration::days(7);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(options, create))
        .routes(routes!(head, patch, terminate))
}

use super::refused;

fn tus_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    response
}

/// Every tus request but OPTIONS names the protocol version.
fn check_version(headers: &HeaderMap) -> AppResult<()> {
    match headers.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) => Ok(()),
        _ => Err(refused(
            ErrorCode::TusVersionUnsupported,
            "Envoi refusé : l'application doit utiliser le protocole tus 1.0.0.",
        )),
    }
}

/// A tus header holding a number of bytes: absent, given twice, or anything but
/// digits (`-1`, `+5`, `1.5`) is a 400 naming it (tus 1.0.0 answers 400 there).
fn header_u64(headers: &HeaderMap, name: &str, display: &str) -> AppResult<u64> {
    let mut values = headers.get_all(name).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(if headers.contains_key(name) {
            AppError::KeyTwice(display.to_owned())
        } else {
            refused(ErrorCode::InvalidBody, format!("{display} manquant."))
        });
    };
    let text = value.to_str().unwrap_or_default().trim();
    text.parse()
        .ok()
        .filter(|_| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            refused(
                ErrorCode::InvalidBody,
                format!("{display} doit être un nombre d'octets (chiffres seulement)."),
            )
        })
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs.
fn metadata(headers: &HeaderMap) -> AppResult<Vec<(String, String)>> {
    let mut all = headers.get_all("upload-metadata").iter();
    let Some(raw) = all.next() else {
        return Ok(Vec::new());
    };
    if all.next().is_some() {
        return Err(AppError::KeyTwice("Upload-Metadata".to_owned()));
    }
    let raw = raw
        .to_str()
        .map_err(|_| refused(ErrorCode::InvalidBody, "Upload-Metadata illisible."))?;
    let mut pairs = Vec::new();
    for item in raw.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (key, value) = item.split_once(' ').unwrap_or((item, ""));
        let value = STANDARD
            .decode(value.trim())
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or_else(|| {
                refused(
                    ErrorCode::InvalidBody,
                    format!("Upload-Metadata : valeur de « {key} » illisible."),
                )
            })?;
        if crate::input::has_control_character(&value) {
            return Err(FieldError::new(key, "ce texte contient des caractères interdits").into());
        }
        if pairs.iter().any(|(k, _)| k == key) {
            return Err(AppError::KeyTwice(key.to_owned()));
        }
        pairs.push((key.to_owned(), famille_model::text::stored(&value)));
    }
    Ok(pairs)
}

/// What the server accepts.
#[utoipa::path(options, path = "/api/v1/uploads", tag = "documents",
    responses((status = 204, description = "Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm")))]
async fn options(State(state): State<AppState>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    h.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    h.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    h.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static(CHECKSUMS),
    );
    h.insert(
        "tus-max-size",
        HeaderValue::from(state.config.max_upload_bytes),
    );
    tus_headers(response)
}

/// Creates an upload. `Upload-Length` is required; `Upload-Metadata` names its
/// `purpose` (`document`, the default, or `attachment` for a message), for a
/// document its `document_type` (a code) and, for a child's document, `child_id`;
/// `filename` is optional (its extension must match the content). Either becomes,
/// once checked, what `Famille-Document-Id` names (an attachment's id is the
/// upload's).
#[utoipa::path(post, path = "/api/v1/uploads", tag = "documents", security(("bearer" = [])),
    params(("Upload-Length" = u64, Header), ("Upload-Metadata" = String, Header), ("Tus-Resumable" = String, Header)),
    responses((status = 201, description = "Location: the upload's address"),
        (status = 404, body = Problem), (status = 412, description = "`tus_version_unsupported`", body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem),
        (status = 429, description = "`quota_reached`: too many uploads in progress or documents today", body = Problem)))]
async fn create(
    State(state): State<AppState>,
    parent: Parent,
    headers: HeaderMap,
) -> AppResult<Response> {
    check_version(&headers)?;
    let length = header_u64(&headers, "upload-length", "Upload-Length")?;
    if length > state.config.max_upload_bytes {
        return Err(refused(
            ErrorCode::UploadTooLarge,
            format!(
                "Ce document est trop lourd ({} Mo au plus).",
                state.config.max_upload_bytes / (1024 * 1024)
            ),
        ));
    }
    if length == 0 {
        return Err(refused(ErrorCode::DamagedFile, "Le document est vide."));
    }
    let meta = metadata(&headers)?;
    let get = |k: &str| {
        meta.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let purpose = match get("purpose").filter(|p| !p.is_empty()) {
        None => UploadPurpose::Document,
        Some(p) => UploadPurpose::from_wire(p).ok_or_else(|| {
            FieldError::new(
                "purpose",
                "valeur inconnue (valeurs possibles : document, attachment)",
            )
        })?,
    };
    let (document_type_id, child_id) = match purpose {
        // A message's attachment: the family's, in no dossier slot.
        UploadPurpose::Attachment => (None, None),
        UploadPurpose::Document => {
            let (document_type_id, child_id) = document_slot(&state, &parent, &meta).await?;
            (Some(document_type_id), child_id)
        }
    };
    let filename = get("filename").and_then(famille_model::files::display_name);
    let id = Uuid::now_v7();
    let now = state.clock.now();
    state
        .db
        .uploads()
        .create_within(
            &NewUpload {
                id,
                family_id: parent.family_id,
                account_id: parent.account_id,
                child_id,
                document_type_id,
                filename: filename.as_deref(),
                length: i64::try_from(length).unwrap_or(i64::MAX),
                now,
                expires_at: now + UPLOAD_LIFETIME,
            },
            &BOUNDS,
            now - chrono::Duration::hours(24),
        )
        .await?
        .map_err(quota_reached)?;
    tokio::fs::File::create(part_path(&state, id))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut response = StatusCode::CREATED.into_response();
    let location = format!("/api/v1/uploads/{id}");
    response.headers_mut().insert(
        "location",
        HeaderValue::from_str(&location).expect("an id is a valid header"),
    );
    response
        .headers_mut()
        .insert("upload-offset", HeaderValue::from(0u64));
    Ok(tus_headers(response))
}

/// The dossier slot a document upload fills: its type (metadata `document_type`,
/// a code) and, for a child's document, the family's child (`child_id`).
async fn document_slot(
    state: &AppState,
    parent: &Parent,
    meta: &[(String, String)],
) -> AppResult<(Uuid, Option<Uuid>)> {
    let get = |k: &str| {
        meta.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let code = get("document_type").ok_or_else(|| {
        refused(
            ErrorCode::UnknownDocumentType,
            "Le type de document n'est pas indiqué.",
        )
    })?;
    let (document_type_id, scope) =
        state
            .db
            .uploads()
            .document_type(code)
            .await?
            .ok_or_else(|| {
                refused(
                    ErrorCode::UnknownDocumentType,
                    format!("Type de document inconnu : « {code} »."),
                )
            })?;
    let child_id = match (get("child_id").filter(|c| !c.is_empty()), scope) {
        (Some(child), _) => {
            let child: Uuid = child
                .parse()
                .map_err(|_| FieldError::new("child_id", "identifiant invalide"))?;
            // Another family's child is not found, and nothing is created.
            crate::families::child(state, parent.family_id, child).await?;
            Some(child)
        }
        (None, DocumentScope::Child) => return Err(super::child_required()),
        (None, _) => None,
    };
    Ok((document_type_id, child_id))
}

/// What one family may hold: 10 uploads in progress (a parent sends a few
/// documents; a hundred at once is a loop or an attack on the disk), 100 MiB
/// announced by them together, 30 documents in 24 hours (the agents read each).
pub const BOUNDS: UploadBounds = UploadBounds {
    in_flight: 10,
    bytes: 100 * 1024 * 1024,
    documents_per_day: 30,
};

/// The French words of a bound reached (429 `quota_reached`).
fn quota_reached(hit: QuotaHit) -> AppError {
    let detail = match hit {
        QuotaHit::InFlight => format!(
            "{} envois en cours au plus : terminez-en ou abandonnez-en un avant d'en commencer un autre.",
            BOUNDS.in_flight
        ),
        QuotaHit::Bytes => format!(
            "Les envois en cours dépassent {} Mo : terminez-les avant d'en commencer un autre.",
            BOUNDS.bytes / (1024 * 1024)
        ),
        QuotaHit::DocumentsPerDay => format!(
            "{} documents par jour au plus : réessayez demain, ou contactez les services.",
            BOUNDS.documents_per_day
        ),
    };
    refused(ErrorCode::QuotaReached, detail)
}

fn part_path(state: &AppState, id: Uuid) -> std::path::PathBuf {
    state.config.uploads_dir().join(format!("{id}.part"))
}

async fn family_upload(state: &AppState, parent: &Parent, id: Uuid) -> AppResult<UploadRow> {
    state
        .db
        .uploads()
        .get(id, parent.family_id)
        .await?
        .ok_or(AppError::NotFound)
}

fn offset_response(
    status: StatusCode,
    upload: &UploadRow,
    offset: i64,
    document: Option<Uuid>,
) -> Response {
    let mut response = status.into_response();
    let h = response.headers_mut();
    h.insert("upload-offset", HeaderValue::from(offset as u64));
    h.insert("upload-length", HeaderValue::from(upload.length as u64));
    if let Some(document) = document.or(upload.document_id) {
        h.insert(
            "famille-document-id",
            HeaderValue::from_str(&document.to_string()).expect("an id is a valid header"),
        );
    }
    tus_headers(response)
}

/// How far the upload got (resume from there).
#[utoipa::path(head, path = "/api/v1/uploads/{upload_id}", tag = "documents", security(("bearer" = [])),
    params(("upload_id" = Uuid, Path)),
    responses((status = 200, description = "Upload-Offset, Upload-Length; Famille-Document-Id once complete"), (status = 404, body = Problem)))]
async fn head(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let upload = family_upload(&state, &parent, id).await?;
    check_version(&headers)?;
    Ok(offset_response(
        StatusCode::OK,
        &upload,
        upload.received,
        None,
    ))
}

/// A piece's checksum (tus checksum extension), computed as its bytes arrive.
enum Checksum {
    Sha1(sha1::Sha1, Vec<u8>),
    Sha256(sha2::Sha256, Vec<u8>),
}

impl Checksum {
    fn from_header(header: &str) -> AppResult<Checksum> {
        let unreadable = || refused(ErrorCode::InvalidBody, "Upload-Checksum illisible.");
        let (algorithm, expected) = header.trim().split_once(' ').ok_or_else(unreadable)?;
        let expected = STANDARD.decode(expected.trim()).map_err(|_| unreadable())?;
        match algorithm {
            "sha1" => Ok(Checksum::Sha1(sha1::Sha1::new(), expected)),
            "sha256" => Ok(Checksum::Sha256(sha2::Sha256::new(), expected)),
            _ => Err(refused(
                ErrorCode::InvalidBody,
                format!("Somme de contrôle non prise en charge (acceptées : {CHECKSUMS})."),
            )),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Checksum::Sha1(h, _) => h.update(bytes),
            Checksum::Sha256(h, _) => h.update(bytes),
        }
    }

    fn matches(self) -> bool {
        match self {
            Checksum::Sha1(h, expected) => h.finalize()[..] == expected[..],
            Checksum::Sha256(h, expected) => h.finalize()[..] == expected[..],
        }
    }
}

/// Appends bytes at `Upload-Offset` (`application/offset+octet-stream`, optional
/// `Upload-Checksum`). The last piece completes the document.
#[utoipa::path(patch, path = "/api/v1/uploads/{upload_id}", tag = "documents", security(("bearer" = [])),
    params(("upload_id" = Uuid, Path), ("Upload-Offset" = u64, Header), ("Upload-Checksum" = Option<String>, Header)),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses((status = 204, description = "Upload-Offset: the new offset"), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem), (status = 460, body = Problem)))]
async fn patch(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    let upload = family_upload(&state, &parent, id).await?;
    check_version(&headers)?;
    if headers.get("content-type").and_then(|v| v.to_str().ok())
        != Some("application/offset+octet-stream")
    {
        return Err(refused(
            ErrorCode::UnsupportedMediaType,
            "Les morceaux d'un document s'envoient en application/offset+octet-stream.",
        ));
    }
    let offset =
        i64::try_from(header_u64(&headers, "upload-offset", "Upload-Offset")?).unwrap_or(i64::MAX);
    if offset != upload.received || upload.document_id.is_some() {
        return Err(refused(
            ErrorCode::UploadOffsetMismatch,
            format!(
                "Reprise au mauvais endroit : le serveur a reçu {} octets.",
                upload.received
            ),
        ));
    }
    let remaining = u64::try_from(upload.length - upload.received).unwrap_or(0);
    let mut checksum = headers
        .get("upload-checksum")
        .map(|v| Checksum::from_header(v.to_str().unwrap_or_default()))
        .transpose()?;
    // The piece goes to disk as it arrives (at its offset, so a piece received
    // twice overwrites itself). Cut short (the phone lost its network), what
    // arrived is kept when no checksum asks to judge the piece whole (tus 1.0.0).
    let path = part_path(&state, id);
    let written = {
        use http_body_util::BodyExt;
        use tokio::io::{AsyncSeekExt, AsyncWriteExt};
        let io = |e: std::io::Error| AppError::Internal(e.to_string());
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .await
            .map_err(io)?;
        file.seek(std::io::SeekFrom::Start(offset as u64))
            .await
            .map_err(io)?;
        let mut body = body;
        let mut written: u64 = 0;
        let mut cut = false;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else {
                cut = true;
                break;
            };
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            written += chunk.len() as u64;
            if written > remaining {
                return Err(refused(
                    ErrorCode::UploadTooLarge,
                    "Plus d'octets que la taille annoncée.",
                ));
            }
            if let Some(c) = checksum.as_mut() {
                c.update(&chunk);
            }
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.sync_data().await.map_err(io)?;
        if cut && checksum.is_some() {
            return Err(refused(
                ErrorCode::ChecksumMismatch,
                "Le morceau est arrivé incomplet : renvoyez-le.",
            ));
        }
        if checksum.take().is_some_and(|c| !c.matches()) {
            return Err(refused(
                ErrorCode::ChecksumMismatch,
                "Le morceau reçu est abîmé (somme de contrôle différente) : renvoyez-le.",
            ));
        }
        written
    };
    let new_offset = offset + written as i64;
    if !state.db.uploads().advance(id, offset, new_offset).await? {
        return Err(refused(
            ErrorCode::UploadOffsetMismatch,
            "Un autre envoi du même document est en cours.",
        ));
    }
    if new_offset < upload.length {
        return Ok(offset_response(
            StatusCode::NO_CONTENT,
            &upload,
            new_offset,
            None,
        ));
    }
    let document = finish(&state, &upload).await?;
    Ok(offset_response(
        StatusCode::NO_CONTENT,
        &upload,
        new_offset,
        Some(document),
    ))
}

/// Image checks decode whole pictures (up to [`famille_model::files::MAX_IMAGE_PIXELS`]
/// bytes each): two at a time, off the async threads, so that a morning of uploads
/// neither starves other requests nor adds up in memory.
static FILE_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

async fn check_off_thread(
    bytes: Vec<u8>,
    filename: Option<String>,
) -> AppResult<(Result<FileKind, FileRefusal>, Vec<u8>)> {
    let _permit = FILE_CHECKS
        .acquire()
        .await
        .map_err(|_| AppError::Internal("file checks closed".into()))?;
    tokio::task::spawn_blocking(move || (check_file(&bytes, filename.as_deref()), bytes))
        .await
        .map_err(|e| AppError::Internal(format!("file check task: {e}")))
}

/// The last byte is in: check the file, store it, make it a pending document. A
/// refused file is removed with its upload.
async fn finish(state: &AppState, upload: &UploadRow) -> AppResult<Uuid> {
    let path = part_path(state, upload.id);
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        // Another request finished this upload meanwhile (and removed its part).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let finished = state
                .db
                .uploads()
                .get(upload.id, upload.family_id)
                .await?
                .and_then(|u| u.document_id);
            return finished.ok_or_else(|| AppError::Internal(e.to_string()));
        }
        Err(e) => return Err(AppError::Internal(e.to_string())),
    };
    let (checked, bytes) = check_off_thread(bytes, upload.filename.clone()).await?;
    let kind = match checked {
        Ok(kind) => kind,
        Err(refusal) => {
            let _ = tokio::fs::remove_file(&path).await;
            state.db.uploads().delete(upload.id).await?;
            return Err(refused(refusal.code(), refusal.detail_fr()));
        }
    };
    let sha256 = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let key = format!(
        "families/{}/{}.{}",
        upload.family_id,
        Uuid::now_v7(),
        kind.extension()
    );
    let size = bytes.len() as i64;
    state
        .files
        .put(&key, bytes.into())
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let document = state
        .db
        .uploads()
        .complete(
            upload,
            &StoredFile {
                key: &key,
                content_type: kind.content_type(),
                size,
                sha256: &sha256,
            },
            state.clock.now(),
        )
        .await?;
    let document = match document {
        Ok(document) => document,
        Err(first) => {
            // Finished twice at once: the first document stands, this copy goes.
            let _ = state.files.delete(&key).await;
            return Ok(first);
        }
    };
    let _ = tokio::fs::remove_file(&path).await;
    Ok(document)
}

/// Abandons an upload (tus termination).
#[utoipa::path(delete, path = "/api/v1/uploads/{upload_id}", tag = "documents", security(("bearer" = [])),
    params(("upload_id" = Uuid, Path)),
    responses((status = 204, description = "Abandonné"), (status = 404, body = Problem)))]
async fn terminate(
    State(state): State<AppState>,
    parent: Parent,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let upload = family_upload(&state, &parent, id).await?;
    check_version(&headers)?;
    if upload.document_id.is_none() {
        let _ = tokio::fs::remove_file(part_path(&state, id)).await;
    }
    // A finished attachment no message took is withdrawn with it (a document
    // stays: the services have it).
    if let Some(key) = state
        .db
        .messages()
        .remove_free_attachment(id, parent.family_id)
        .await?
    {
        let _ = state.files.delete(&key).await;
    }
    state.db.uploads().delete(id).await?;
    Ok(tus_headers(StatusCode::NO_CONTENT.into_response()))
}
