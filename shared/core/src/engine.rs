//! The core in plain Rust: the calendar read from the local store with the queue
//! overlaid, the parent's intents (work offline), the session, and `sync()` (push
//! the queue in order, then pull the change feed). The uniffi layer (`ffi.rs`) is a
//! thin wrapper over this.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use famille_model::api::{
    Alert, Family, Mutation, MutationResults, MutationStatus, SyncPage, TokenResponse,
};
use famille_model::booking::{ReservationStatus, holds_place, is_young};
use famille_model::calendar_view::{
    Booked, CellFacts, calendar_session, missing_documents, shown_reservation,
};
use famille_model::push::{PushData, PushKind};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::client::{Api, CallError, SessionTokens, TokenStore};
use crate::error::{CoreError, CoreResult};
use crate::overlay::{Cell, Intent, overlay, target_session};
use crate::store::{Answer, Store};
use crate::views::*;

/// Mutations per request (the server takes 200 at most).
const PUSH_BATCH: usize = 100;
/// Bytes per upload request: small enough that a cut costs little.
const UPLOAD_CHUNK: usize = 128 * 1024;
/// Longest calendar the core assembles at once.
const MAX_CALENDAR_DAYS: i64 = 62;

/// Told how a long operation goes.
#[uniffi::export(with_foreign)]
pub trait ProgressListener: Send + Sync {
    /// `step`: "envoi", "réception"; `done` out of `total` (0 when unknown).
    fn on_progress(&self, step: String, done: u64, total: u64);
}

pub struct Engine {
    store: Mutex<Store>,
    data_dir: std::path::PathBuf,
    api: Api,
    tokens: Arc<dyn TokenStore>,
    progress: Option<Arc<dyn ProgressListener>>,
    /// One sync at a time; one token refresh at a time (a refresh token works once).
    sync_lock: tokio::sync::Mutex<()>,
    auth_lock: tokio::sync::Mutex<()>,
}

fn uuid(s: &str, what: &str) -> CoreResult<Uuid> {
    s.parse()
        .map_err(|_| CoreError::invalid(format!("identifiant de {what} invalide")))
}

fn header_i64(headers: &reqwest::header::HeaderMap, name: &str) -> Option<i64> {
    headers.get(name)?.to_str().ok()?.parse().ok()
}

fn parse_date(s: &str) -> CoreResult<NaiveDate> {
    s.parse()
        .map_err(|_| CoreError::invalid(format!("date invalide « {s} » (AAAA-MM-JJ)")))
}

impl Engine {
    pub fn open(
        data_dir: &Path,
        server_url: &str,
        tokens: Arc<dyn TokenStore>,
        progress: Option<Arc<dyn ProgressListener>>,
    ) -> CoreResult<Engine> {
        Ok(Engine {
            store: Mutex::new(Store::open(data_dir)?),
            data_dir: data_dir.to_owned(),
            api: Api::new(server_url),
            tokens,
            progress,
            sync_lock: tokio::sync::Mutex::new(()),
            auth_lock: tokio::sync::Mutex::new(()),
        })
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the store cannot leave SQLite half-written (every
        // write is a transaction), so a poisoned lock is safe to take over.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn progress(&self, step: &str, done: u64, total: u64) {
        if let Some(p) = &self.progress {
            p.on_progress(step.to_owned(), done, total);
        }
    }

    // ---- session ------------------------------------------------------------------

    fn save_tokens(&self, t: &TokenResponse) {
        self.tokens.save(SessionTokens {
            access_token: t.access_token.clone(),
            refresh_token: t.refresh_token.clone(),
            access_expires_at: Utc::now().timestamp() + t.expires_in,
        });
    }

    pub async fn login(&self, email: &str, password: &str) -> CoreResult<()> {
        let answer: TokenResponse = self
            .api
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(&json!({"email": email, "password": password, "remember_me": true})),
            )
            .await?;
        let email = email.trim().to_lowercase();
        {
            let mut store = self.store();
            // Another account on this phone: the previous family's data and intents go.
            if store.meta("account")?.is_some_and(|a| a != email) {
                store.clear_server_state()?;
                store.clear_queue()?;
            }
            store.set_meta("account", &email)?;
        }
        self.save_tokens(&answer);
        Ok(())
    }

    pub fn is_logged_in(&self) -> bool {
        self.tokens.load().is_some()
    }

    /// Ends the session on the server (unregistering this phone's push token) and
    /// removes the family's data from the phone.
    pub async fn logout(&self, device_token: Option<String>) -> CoreResult<()> {
        if let Some(t) = self.tokens.load() {
            let mut body = json!({"refresh_token": t.refresh_token});
            if let Some(device) = device_token {
                body["device_token"] = json!(device);
            }
            // Offline, the session still ends here; the refresh token expires there.
            let _ = self
                .api
                .call::<Value>(Method::POST, "/api/v1/auth/logout", None, Some(&body))
                .await;
        }
        self.tokens.clear();
        let mut store = self.store();
        store.clear_server_state()?;
        store.clear_queue()?;
        let _ = std::fs::remove_dir_all(self.data_dir.join("outgoing"));
        Ok(())
    }

    /// A valid access token, refreshed when close to its end or when the server
    /// refused `rejected` (revoked early).
    async fn access_token(&self, rejected: Option<&str>) -> CoreResult<String> {
        let _one = self.auth_lock.lock().await;
        let tokens = self.tokens.load().ok_or(CoreError::SessionExpired)?;
        let expiring = tokens.access_expires_at <= Utc::now().timestamp() + 30;
        // Another task may have refreshed while this one waited: then it is new.
        if !expiring && rejected != Some(tokens.access_token.as_str()) {
            return Ok(tokens.access_token);
        }
        match self
            .api
            .call::<TokenResponse>(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(&json!({"refresh_token": tokens.refresh_token})),
            )
            .await
        {
            Ok(answer) => {
                self.save_tokens(&answer);
                Ok(answer.access_token)
            }
            Err(CallError::Status { status, .. }) if status == 401 || status == 403 => {
                // Expired or revoked: a new login is needed; the queue stays.
                self.tokens.clear();
                Err(CoreError::SessionExpired)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A call with the session; a 401 refreshes the access token once.
    async fn authed<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> CoreResult<T> {
        let token = self.access_token(None).await?;
        match self
            .api
            .call(method.clone(), path, Some(&token), body)
            .await
        {
            Err(CallError::Status { status: 401, .. }) => {
                let token = self.access_token(Some(&token)).await?;
                Ok(self.api.call(method, path, Some(&token), body).await?)
            }
            other => Ok(other?),
        }
    }

    pub async fn register_device(
        &self,
        platform: &str,
        token: &str,
        locale: &str,
    ) -> CoreResult<()> {
        self.authed::<Value>(
            Method::POST,
            "/api/v1/devices",
            Some(&json!({"platform": platform, "token": token, "locale": locale})),
        )
        .await?;
        Ok(())
    }

    // ---- reading ------------------------------------------------------------------

    pub fn family(&self) -> CoreResult<Option<Family>> {
        self.store().family()
    }

    pub fn children(&self) -> CoreResult<Vec<ChildView>> {
        Ok(self
            .family()?
            .map(|f| f.children.iter().map(ChildView::from).collect())
            .unwrap_or_default())
    }

    pub fn alerts(&self) -> CoreResult<Vec<AlertView>> {
        Ok(self
            .store()
            .alerts()?
            .into_iter()
            .map(AlertView::from)
            .collect())
    }

    pub fn documents(&self) -> CoreResult<Vec<DocumentView>> {
        Ok(self
            .store()
            .documents()?
            .into_iter()
            .map(DocumentView::from)
            .collect())
    }

    /// A child's calendar from the local store, with the unanswered intents overlaid.
    pub fn calendar(
        &self,
        child_id: Uuid,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> CoreResult<Vec<DayView>> {
        if to < from || (to - from).num_days() >= MAX_CALENDAR_DAYS {
            return Err(CoreError::invalid(format!(
                "période invalide : de {from} à {to} ({MAX_CALENDAR_DAYS} jours au plus)"
            )));
        }
        let store = self.store();
        let family = store
            .family()?
            .ok_or_else(|| CoreError::invalid("aucune donnée : synchronisez d'abord"))?;
        let child = family
            .children
            .iter()
            .find(|c| c.id == child_id)
            .ok_or_else(|| CoreError::invalid("enfant inconnu"))?;
        let dossier_pending = family.status.as_str() != "active";
        let activities: HashMap<Uuid, _> =
            store.activities()?.into_iter().map(|a| (a.id, a)).collect();
        let sessions = store.sessions_between(&from.to_string(), &to.to_string())?;
        let reservations = store.child_reservations(child_id)?;
        let documents: Vec<_> = store
            .documents()?
            .into_iter()
            .filter(|d| d.status == "validated")
            .collect();
        let queue = store.queue()?;
        drop(store);

        let reservation_session: HashMap<Uuid, Uuid> =
            reservations.iter().map(|r| (r.id, r.session_id)).collect();
        let intents: Vec<Intent<'_>> = queue
            .iter()
            .filter(|q| q.state != "rejected")
            .map(|q| Intent {
                mutation: &q.mutation,
            })
            .collect();
        // Which session each intent touches (a cancellation of a booking made
        // offline names the booking by its mutation id).
        let pending_session: HashMap<Uuid, Uuid> = intents
            .iter()
            .filter_map(|i| match *i.mutation {
                Mutation::Reserve { id, session_id, .. }
                | Mutation::JoinWaitlist { id, session_id, .. } => Some((id, session_id)),
                _ => None,
            })
            .collect();
        let mut by_session: HashMap<Uuid, Vec<Intent<'_>>> = HashMap::new();
        for intent in &intents {
            let session = target_session(intent.mutation, |r| {
                reservation_session
                    .get(&r)
                    .or(pending_session.get(&r))
                    .copied()
            });
            if let Some(s) = session {
                by_session.entry(s).or_default().push(*intent);
            }
        }

        let mut days: Vec<DayView> = (0..=(to - from).num_days())
            .map(|d| DayView {
                date: (from + Duration::days(d)).to_string(),
                cells: Vec::new(),
            })
            .collect();
        for session in sessions {
            let Some(activity) = activities.get(&session.activity_id) else {
                continue;
            };
            if !activity
                .eligibility
                .admits(child.birth_date, child.school_level, session.date)
            {
                continue;
            }
            let server: Vec<Booked> = reservations
                .iter()
                .filter(|r| r.session_id == session.id)
                .map(|r| Booked {
                    id: r.id,
                    status: r.status,
                    free_cancel_until: r.free_cancel_until,
                })
                .collect();
            let open = session.status == "open";
            let (bookings, pending) = match by_session.get(&session.id) {
                Some(intents) => overlay(
                    server,
                    intents,
                    Cell {
                        child_id,
                        session_id: session.id,
                        date: session.date,
                        rules: &activity.rules,
                        open,
                    },
                    now,
                ),
                None => (server, false),
            };
            let young = is_young(activity.age_split, child.birth_date, session.date);
            let missing = missing_documents(
                activity.required_documents.iter(),
                &documents,
                child_id,
                session.date,
            );
            let cell = calendar_session(CellFacts {
                session_id: session.id,
                activity_id: activity.id,
                activity: &activity.name,
                option: &session.option,
                venue: &activity.venue,
                date: session.date,
                open,
                rules: &activity.rules,
                full: if young {
                    session.full_young
                } else {
                    session.full_old
                },
                places_left: None,
                reservation: shown_reservation(bookings.into_iter()),
                dossier_pending,
                missing,
                now,
            });
            let index = (session.date - from).num_days() as usize;
            days[index].cells.push(CellView::new(cell, pending));
        }
        Ok(days)
    }

    pub fn calendar_str(&self, child_id: &str, from: &str, to: &str) -> CoreResult<Vec<DayView>> {
        self.calendar(
            uuid(child_id, "l'enfant")?,
            parse_date(from)?,
            parse_date(to)?,
            Utc::now(),
        )
    }

    pub fn queue(&self) -> CoreResult<Vec<QueueItem>> {
        Ok(self.store().queue()?.iter().map(QueueItem::from).collect())
    }

    pub fn dismiss_rejected(&self, mutation_id: &str) -> CoreResult<bool> {
        self.store().dismiss(uuid(mutation_id, "l'action")?)
    }

    // ---- intents (offline) -----------------------------------------------------------

    fn enqueue(&self, mutation: Mutation) -> CoreResult<String> {
        self.store().enqueue(&mutation, &Utc::now().to_rfc3339())?;
        Ok(mutation.id().to_string())
    }

    fn known_child_and_session(&self, child_id: Uuid, session_id: Uuid) -> CoreResult<()> {
        let store = self.store();
        let family = store
            .family()?
            .ok_or_else(|| CoreError::invalid("aucune donnée : synchronisez d'abord"))?;
        if !family.children.iter().any(|c| c.id == child_id) {
            return Err(CoreError::invalid("enfant inconnu"));
        }
        if store.session(session_id)?.is_none() {
            return Err(CoreError::invalid("journée inconnue"));
        }
        let live = store.child_reservations(child_id)?.into_iter().any(|r| {
            r.session_id == session_id
                && (holds_place(r.status) || r.status == ReservationStatus::Waitlisted)
        });
        let queued = store.queue()?.iter().any(|q| {
            q.state == "pending"
                && matches!(q.mutation, Mutation::Reserve { child_id: c, session_id: s, .. }
                    | Mutation::JoinWaitlist { child_id: c, session_id: s, .. } if c == child_id && s == session_id)
        });
        if live || queued {
            return Err(CoreError::Rejected {
                code: "already_booked".into(),
                detail: "Cet enfant est déjà inscrit (ou en attente) pour cette journée.".into(),
            });
        }
        Ok(())
    }

    /// Books a day (or joins its waitlist); works offline. Returns the mutation id.
    fn book(&self, child_id: &str, session_id: &str, waitlist: bool) -> CoreResult<String> {
        let (child_id, session_id) = (uuid(child_id, "l'enfant")?, uuid(session_id, "la journée")?);
        self.known_child_and_session(child_id, session_id)?;
        let id = Uuid::now_v7();
        self.enqueue(if waitlist {
            Mutation::JoinWaitlist {
                id,
                child_id,
                session_id,
            }
        } else {
            Mutation::Reserve {
                id,
                child_id,
                session_id,
            }
        })
    }

    /// Gives a place (or a waitlist entry) back; an intent never sent is simply
    /// withdrawn.
    fn release(&self, reservation_id: &str, waitlist: bool) -> CoreResult<String> {
        let reservation_id = uuid(reservation_id, "la réservation")?;
        if self.store().withdraw(reservation_id)? {
            return Ok(reservation_id.to_string());
        }
        let id = Uuid::now_v7();
        self.enqueue(if waitlist {
            Mutation::LeaveWaitlist { id, reservation_id }
        } else {
            Mutation::Cancel { id, reservation_id }
        })
    }

    pub fn reserve(&self, child_id: &str, session_id: &str) -> CoreResult<String> {
        self.book(child_id, session_id, false)
    }

    pub fn join_waitlist(&self, child_id: &str, session_id: &str) -> CoreResult<String> {
        self.book(child_id, session_id, true)
    }

    pub fn cancel(&self, reservation_id: &str) -> CoreResult<String> {
        self.release(reservation_id, false)
    }

    pub fn leave_waitlist(&self, reservation_id: &str) -> CoreResult<String> {
        self.release(reservation_id, true)
    }

    // ---- sync ------------------------------------------------------------------------

    /// Sends the queue in order, then pulls the change feed to the end, then the
    /// dossier and the alerts. A network failure keeps everything for the next try;
    /// a kill at any point loses no intent (the server applies a resent one once).
    pub async fn sync(&self) -> CoreResult<SyncReport> {
        let _one = self.sync_lock.lock().await;
        let mut report = SyncReport::default();
        let queued = self.store().pending_count()?;
        loop {
            let batch = self.store().to_send(PUSH_BATCH)?;
            if batch.is_empty() {
                break;
            }
            let ids: Vec<Uuid> = batch.iter().map(Mutation::id).collect();
            self.store().mark_attempt(&ids)?;
            let body = json!({ "mutations": batch });
            let answers = match self
                .authed::<MutationResults>(Method::POST, "/api/v1/mutations", Some(&body))
                .await
            {
                Ok(a) => a.results,
                // The whole batch refused (malformed): definitive, each is marked so
                // the queue is not wedged behind it.
                Err(CoreError::Rejected { code, detail }) => ids
                    .iter()
                    .map(|id| famille_model::api::MutationResult {
                        id: *id,
                        status: MutationStatus::Rejected,
                        code: Some(code.clone()),
                        detail: Some(detail.clone()),
                        reservation_id: None,
                    })
                    .collect(),
                Err(e) => {
                    self.note_failure()?;
                    return Err(e);
                }
            };
            if std::env::var("FAMILLE_CORE_FAULT").is_ok_and(|f| f == "abort_after_push") {
                // Fault injection for the crash test: killed after the server
                // answered, before the answer is recorded.
                std::process::abort();
            }
            let recorded: Vec<Answer<'_>> = answers
                .iter()
                .map(|r| Answer {
                    id: r.id,
                    applied: r.status == MutationStatus::Applied,
                    code: r.code.as_deref(),
                    detail: r.detail.as_deref(),
                })
                .collect();
            self.store().record_answers(&recorded)?;
            report.sent += answers.len() as u32;
            report.applied += answers
                .iter()
                .filter(|r| r.status == MutationStatus::Applied)
                .count() as u32;
            report.rejected += answers
                .iter()
                .filter(|r| r.status == MutationStatus::Rejected)
                .count() as u32;
            self.progress("envoi", report.sent as u64, queued);
        }

        if let Err(e) = self.push_uploads(&mut report).await {
            self.note_failure()?;
            return Err(e);
        }

        let mut cursor = self.store().cursor()?;
        loop {
            let page: SyncPage = match self
                .authed(Method::GET, &format!("/api/v1/sync?cursor={cursor}"), None)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    self.note_failure()?;
                    return Err(e);
                }
            };
            report.changes += page.changes.len() as u32;
            self.store().apply_page(&page.changes, page.cursor)?;
            cursor = page.cursor;
            self.progress("réception", report.changes as u64, 0);
            if !page.has_more {
                break;
            }
        }
        let family: Family = self.authed(Method::GET, "/api/v1/family", None).await?;
        let alerts: Vec<Alert> = self.authed(Method::GET, "/api/v1/alerts", None).await?;
        let mut store = self.store();
        store.save_family(&family)?;
        store.save_alerts(&alerts)?;
        store.forget_applied()?;
        store.set_meta("failures", "0")?;
        store.set_meta("last_sync_at", &Utc::now().to_rfc3339())?;
        report.cursor = cursor;
        Ok(report)
    }

    // ---- documents ---------------------------------------------------------------

    /// Prepares pages from the camera's JPEGs and, for several, one PDF of them.
    pub fn capture_document(
        &self,
        pages: &[Vec<u8>],
        options: &crate::capture::CaptureOptions,
    ) -> CoreResult<CapturedDocument> {
        let mut captured = Vec::with_capacity(pages.len());
        for (i, page) in pages.iter().enumerate() {
            captured.push(crate::capture::capture_page(page, options)?);
            self.progress("capture", i as u64 + 1, pages.len() as u64);
        }
        let (bytes, filename) = match captured.as_slice() {
            [one] => (one.jpeg.clone(), "document.jpg".to_owned()),
            _ => (
                crate::capture::assemble_pdf(&captured),
                "document.pdf".to_owned(),
            ),
        };
        Ok(CapturedDocument {
            bytes,
            filename,
            pages: captured,
        })
    }

    /// Queues a document to send (works offline): `sync()` uploads it, resuming where
    /// it stopped after a cut or a restart.
    pub fn send_document(
        &self,
        document_type: &str,
        child_id: Option<&str>,
        bytes: &[u8],
        filename: &str,
    ) -> CoreResult<String> {
        let kind = famille_model::files::check_file(bytes, Some(filename))
            .map_err(|e| CoreError::invalid(format!("Document refusé : {e}.")))?;
        if let Some(child) = child_id {
            let known = self
                .family()?
                .is_some_and(|f| f.children.iter().any(|c| c.id.to_string() == child));
            if !known {
                return Err(CoreError::invalid("enfant inconnu"));
            }
        }
        let id = Uuid::now_v7().to_string();
        let dir = self.data_dir.join("outgoing");
        std::fs::create_dir_all(&dir).map_err(|e| CoreError::Storage {
            detail: e.to_string(),
        })?;
        let path = dir.join(format!("{id}.{}", kind.extension()));
        std::fs::write(&path, bytes).map_err(|e| CoreError::Storage {
            detail: e.to_string(),
        })?;
        self.store().add_outgoing(
            &crate::store::OutgoingDocument {
                id: id.clone(),
                document_type: document_type.to_owned(),
                child_id: child_id.map(str::to_owned),
                filename: filename.to_owned(),
                path: path.display().to_string(),
                length: bytes.len() as i64,
                location: None,
                offset: 0,
                state: "pending".into(),
                code: None,
                detail: None,
                document_id: None,
            },
            &Utc::now().to_rfc3339(),
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

    pub fn forget_outgoing(&self, id: &str) -> CoreResult<bool> {
        self.store().forget_upload(id)
    }

    /// Sends the queued documents with tus, each from where it stopped.
    async fn push_uploads(&self, report: &mut SyncReport) -> CoreResult<()> {
        use base64::Engine as _;
        use base64::engine::general_purpose::STANDARD;
        use sha2::Digest;
        let pending = self.store().outgoing(true)?;
        for doc in pending {
            let bytes = std::fs::read(&doc.path).map_err(|e| CoreError::Storage {
                detail: e.to_string(),
            })?;
            let mut location = doc.location.clone();
            let mut offset = doc.offset;
            let mut chunks_sent = 0;
            loop {
                let token = self.access_token(None).await?;
                let Some(at) = location.clone() else {
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
                            &token,
                            &[
                                ("upload-length", doc.length.to_string()),
                                ("upload-metadata", metadata.join(",")),
                            ],
                            Vec::new(),
                        )
                        .await?;
                    match status {
                        201 => {
                            let at = headers
                                .get("location")
                                .and_then(|v| v.to_str().ok())
                                .ok_or_else(|| CoreError::offline("réponse d'envoi sans adresse"))?
                                .to_owned();
                            self.store().set_upload_progress(&doc.id, Some(&at), 0)?;
                            location = Some(at);
                            offset = 0;
                            continue;
                        }
                        401 => {
                            self.access_token(Some(&token)).await?;
                            continue;
                        }
                        s if s == 429 || s >= 500 => {
                            return Err(CoreError::offline(format!("envoi impossible ({s})")));
                        }
                        _ => {
                            self.reject_upload(&doc.id, &body)?;
                            report.documents_rejected += 1;
                            break;
                        }
                    }
                };
                if chunks_sent == 0 && doc.location.is_some() {
                    // Resuming: ask the server where it is.
                    let (status, headers, _) = self
                        .api
                        .raw(Method::HEAD, &at, &token, &[], Vec::new())
                        .await?;
                    match status {
                        200 => {
                            offset = header_i64(&headers, "upload-offset").unwrap_or(0);
                            if let Some(document) = headers
                                .get("famille-document-id")
                                .and_then(|v| v.to_str().ok())
                            {
                                self.store().finish_upload(
                                    &doc.id,
                                    "sent",
                                    None,
                                    None,
                                    Some(document),
                                )?;
                                report.documents_sent += 1;
                                break;
                            }
                        }
                        404 => {
                            // Expired on the server: start again.
                            self.store().set_upload_progress(&doc.id, None, 0)?;
                            location = None;
                            chunks_sent = 1;
                            continue;
                        }
                        401 => {
                            self.access_token(Some(&token)).await?;
                            continue;
                        }
                        s => return Err(CoreError::offline(format!("reprise impossible ({s})"))),
                    }
                }
                let end = (offset as usize + UPLOAD_CHUNK).min(bytes.len());
                let chunk = bytes[offset as usize..end].to_vec();
                let checksum = format!("sha256 {}", STANDARD.encode(sha2::Sha256::digest(&chunk)));
                let (status, headers, body) = self
                    .api
                    .raw(
                        Method::PATCH,
                        &at,
                        &token,
                        &[
                            ("upload-offset", offset.to_string()),
                            ("content-type", "application/offset+octet-stream".into()),
                            ("upload-checksum", checksum),
                        ],
                        chunk,
                    )
                    .await?;
                chunks_sent += 1;
                match status {
                    204 => {
                        offset = header_i64(&headers, "upload-offset").unwrap_or(end as i64);
                        self.store()
                            .set_upload_progress(&doc.id, Some(&at), offset)?;
                        self.progress("document", offset as u64, doc.length as u64);
                        if let Some(document) = headers
                            .get("famille-document-id")
                            .and_then(|v| v.to_str().ok())
                        {
                            self.store().finish_upload(
                                &doc.id,
                                "sent",
                                None,
                                None,
                                Some(document),
                            )?;
                            let _ = std::fs::remove_file(&doc.path);
                            report.documents_sent += 1;
                            break;
                        }
                        if std::env::var("FAMILLE_CORE_FAULT")
                            .is_ok_and(|f| f == "cut_upload_midway")
                        {
                            // Fault injection for the tests: the network goes at mid-upload.
                            return Err(CoreError::offline("connexion coupée pendant l'envoi"));
                        }
                    }
                    // Offset disagreement or a damaged piece: ask again and resend.
                    409 | 460 => {
                        location = Some(at.clone());
                        chunks_sent = 0;
                        let (_, headers, _) = self
                            .api
                            .raw(Method::HEAD, &at, &token, &[], Vec::new())
                            .await?;
                        offset = header_i64(&headers, "upload-offset").unwrap_or(offset);
                    }
                    401 => {
                        self.access_token(Some(&token)).await?;
                    }
                    404 => {
                        self.store().set_upload_progress(&doc.id, None, 0)?;
                        location = None;
                    }
                    s if s == 429 || s >= 500 => {
                        return Err(CoreError::offline(format!("envoi interrompu ({s})")));
                    }
                    _ => {
                        self.reject_upload(&doc.id, &body)?;
                        report.documents_rejected += 1;
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    fn reject_upload(&self, id: &str, problem: &Value) -> CoreResult<()> {
        self.store().finish_upload(
            id,
            "rejected",
            problem["code"].as_str(),
            problem["detail"].as_str(),
            None,
        )
    }

    fn note_failure(&self) -> CoreResult<()> {
        let store = self.store();
        let failures: u32 = store
            .meta("failures")?
            .and_then(|f| f.parse().ok())
            .unwrap_or(0);
        store.set_meta("failures", &(failures + 1).to_string())
    }

    /// When to try again after failures: 5 s, 10 s, 20 s… up to 5 minutes.
    pub fn retry_delay_seconds(&self) -> CoreResult<u64> {
        let failures: u32 = self
            .store()
            .meta("failures")?
            .and_then(|f| f.parse().ok())
            .unwrap_or(0);
        Ok(if failures == 0 {
            0
        } else {
            (5u64 << (failures - 1).min(6)).min(300)
        })
    }

    pub fn last_sync_at(&self) -> CoreResult<Option<String>> {
        self.store().meta("last_sync_at")
    }

    /// A push arrived: sync what it names and say what to show.
    pub async fn handle_push(&self, data: &HashMap<String, String>) -> CoreResult<PushDisplay> {
        let push = PushData::parse(data).map_err(|e| CoreError::invalid(e.to_string()))?;
        let synced = self.sync().await.is_ok();
        let mut display = PushDisplay {
            kind: push.kind.as_str().to_owned(),
            title: push.kind.label_fr().to_owned(),
            body: String::new(),
            target_id: push.id.to_string(),
            child_id: None,
            synced,
        };
        let store = self.store();
        match push.kind {
            PushKind::DocumentValidated | PushKind::DocumentRefused => {
                if let Some(d) = store.documents()?.into_iter().find(|d| d.id == push.id) {
                    display.child_id = d.child_id.map(|c| c.to_string());
                    display.body = match &d.refusal_reason {
                        Some(reason) if push.kind == PushKind::DocumentRefused => {
                            format!("{} refusé : {reason}", d.document_type)
                        }
                        _ => format!("{} validé.", d.document_type),
                    };
                }
            }
            PushKind::WaitlistPromoted
            | PushKind::BookingApproved
            | PushKind::BookingRefused
            | PushKind::SessionCancelled => {
                if let Some(r) = store.reservation(push.id)? {
                    display.child_id = Some(r.child_id.to_string());
                    if let Some(s) = store.session(r.session_id)? {
                        let activity = store
                            .activity(s.activity_id)?
                            .map(|a| a.name)
                            .unwrap_or_default();
                        display.body =
                            format!("{activity} — {} le {}", s.option, s.date.format("%d/%m/%Y"));
                    }
                }
            }
            PushKind::Alert | PushKind::InvoiceIssued | PushKind::Message => {}
        }
        Ok(display)
    }
}
