//! Messages between families and the services (issue 13; the guide's MESSAGES tab):
//! a family opens a thread with a service or answers in one, from the phone's
//! queue (`send_message`, `read_thread`) or the routes; agents read their
//! services' inboxes, answer, assign and close; an agent may open a thread to a
//! family. A message from the services is a `message` notice (push, mail
//! fallback): the subject at most, never the body, and nothing of a sensitive
//! service's. The rules are the model's (`famille_model::messages`).

pub mod http;

use axum::response::{IntoResponse, Response};
use famille_model::ErrorCode;
use famille_model::api::{
    Service, ServiceInput, StaffService, StaffThread, StaffThreadSummary, Thread, ThreadSummary,
};
use famille_model::messages::{self, Side, ThreadStatus};
use famille_model::notice::{Event, Notice};
use famille_model::queue::Mutation;
use famille_model::validate::{self, FieldError};
use uuid::Uuid;

use crate::accounts::auth::Staff;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::audit::AuditAction;
use crate::store::feed::FeedEntry;
use crate::store::messages::{
    self as store, InboxFilter, NewMessageRow, SaveService, ServiceChange, ThreadRow,
};
use crate::store::queue::{Actor, Outcome};
use crate::store::{StoreResult, Tx, retrying};

/// Who may see a thread: one family, or agents of some services (all for an admin).
#[derive(Debug, Clone)]
pub enum Scope {
    Family(Uuid),
    Services(Option<Vec<Uuid>>),
}

impl Scope {
    /// An agent reads the inboxes of the services they belong to; an admin every
    /// inbox.
    pub async fn of_staff(state: &AppState, staff: Staff) -> AppResult<Scope> {
        if staff.role == famille_model::dossier::Role::Admin {
            return Ok(Scope::Services(None));
        }
        Ok(Scope::Services(Some(
            state.db.messages().agent_services(staff.account_id).await?,
        )))
    }

    fn sees(&self, row: &ThreadRow) -> bool {
        match self {
            Scope::Family(family_id) => row.family_id == *family_id,
            Scope::Services(None) => true,
            Scope::Services(Some(services)) => services.contains(&row.service_id),
        }
    }

    fn sees_service(&self, service_id: Uuid) -> bool {
        match self {
            Scope::Family(_) | Scope::Services(None) => true,
            Scope::Services(Some(services)) => services.contains(&service_id),
        }
    }

    fn side(&self) -> Side {
        match self {
            Scope::Family(_) => Side::Family,
            Scope::Services(_) => Side::Services,
        }
    }
}

/// Where a message goes.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Thread(Uuid),
    /// A new thread with `service` for `family_id`.
    New {
        family_id: Uuid,
        service: Uuid,
        subject: Option<&'a str>,
    },
}

/// A message as written (checked by the model before anything is stored).
pub struct Draft<'a> {
    pub author_id: Uuid,
    pub target: Target<'a>,
    pub body: &'a str,
    pub attachments: &'a [Uuid],
}

/// Why an attachment cannot go with a message, in French.
const ATTACHMENT_UNAVAILABLE: &str =
    "pièce jointe inconnue, pas encore reçue en entier, retirée ou déjà envoyée avec un message";

/// Where a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub thread_id: Uuid,
    pub message_id: Uuid,
}

/// Why a message was not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such thread or service for this caller (another family's reads the same).
    NotFound,
    Invalid(Vec<FieldError>),
    /// An attachment is not the family's, not finished, or already sent.
    Attachment(Uuid),
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> AppError {
        match r {
            Refusal::NotFound => AppError::NotFound,
            Refusal::Invalid(errors) => AppError::Invalid(errors),
            Refusal::Attachment(_) => FieldError::new("attachments", ATTACHMENT_UNAVAILABLE).into(),
        }
    }
}

impl Refusal {
    fn outcome(&self) -> Outcome {
        match self {
            Refusal::NotFound => Outcome::rejected(ErrorCode::NotFound),
            Refusal::Invalid(errors) => {
                let mut o = Outcome::rejected(ErrorCode::InvalidField);
                o.detail = Some(
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ; "),
                );
                o
            }
            Refusal::Attachment(_) => {
                let mut o = Outcome::rejected(ErrorCode::InvalidField);
                o.detail = Some(format!("attachments : {ATTACHMENT_UNAVAILABLE}"));
                o
            }
        }
    }
}

/// Writes a message inside `tx`: checks it (the model's rule), opens the thread
/// when it is new, takes the attachments, enters the family's feed and, from the
/// services, notifies the family. A refusal writes nothing.
pub async fn write(
    tx: &mut Tx,
    scope: &Scope,
    draft: &Draft<'_>,
) -> StoreResult<Result<Written, Refusal>> {
    let opens = matches!(draft.target, Target::New { .. });
    let subject = match draft.target {
        Target::New { subject, .. } => subject,
        Target::Thread(_) => None,
    };
    let checked = match messages::message(subject, opens, draft.body, draft.attachments) {
        Ok(c) => c,
        Err(errors) => return Ok(Err(Refusal::Invalid(errors))),
    };
    let side = scope.side();
    // Attachments come from a family's uploads: an agent attaches none here.
    if side == Side::Services && !draft.attachments.is_empty() {
        return Ok(Err(Refusal::Invalid(vec![FieldError::new(
            "attachments",
            "les pièces jointes des services ne passent pas encore par ici",
        )])));
    }
    let (thread_id, family_id, service, sensitive, subject) = match draft.target {
        Target::Thread(id) => {
            let Some(row) = store::thread_for_update(tx, id).await? else {
                return Ok(Err(Refusal::NotFound));
            };
            if !scope.sees(&row) {
                return Ok(Err(Refusal::NotFound));
            }
            if let Some(id) =
                store::unavailable_attachment(tx, row.family_id, draft.attachments).await?
            {
                return Ok(Err(Refusal::Attachment(id)));
            }
            (
                row.id,
                row.family_id,
                row.service,
                row.sensitive,
                row.subject,
            )
        }
        Target::New {
            family_id, service, ..
        } => {
            if !scope.sees_service(service) {
                return Ok(Err(Refusal::NotFound));
            }
            let Some((name, sensitive)) = store::service(tx, service).await? else {
                return Ok(Err(Refusal::NotFound));
            };
            // Checked before the thread is opened: a refused message leaves nothing
            // (the queue commits its batch with the refusal logged).
            if let Some(id) =
                store::unavailable_attachment(tx, family_id, draft.attachments).await?
            {
                return Ok(Err(Refusal::Attachment(id)));
            }
            let subject = checked.subject.clone().unwrap_or_default();
            let id = Uuid::now_v7();
            store::open_thread(tx, id, family_id, service, &subject, side).await?;
            (id, family_id, name, sensitive, subject)
        }
    };
    let message_id = Uuid::now_v7();
    store::add_message(
        tx,
        &NewMessageRow {
            id: message_id,
            thread_id,
            family_id,
            side,
            author_id: draft.author_id,
            body: &checked.body,
            attachments: draft.attachments,
        },
    )
    .await?;
    tx.changed(FeedEntry::thread(family_id, thread_id));
    if side == Side::Services {
        tx.notify(Notice::new(
            family_id,
            Event::MessageReceived {
                thread_id,
                message_id,
                service,
                subject,
                sensitive,
            },
        ));
    }
    Ok(Ok(Written {
        thread_id,
        message_id,
    }))
}

/// Writes a message in its own transaction (the routes). A family writes at most
/// [`crate::ratelimit::Limits::messages_per_family`]'s pace (429 past it).
pub async fn send(state: &AppState, scope: &Scope, draft: &Draft<'_>) -> AppResult<Written> {
    if let Scope::Family(family_id) = scope {
        state
            .limits
            .messages_per_family
            .check(&family_id.to_string(), state.clock.now())?;
    }
    let written = retrying(|| async {
        let mut tx = state.db.begin_at(state.clock.now()).await?;
        let written = write(&mut tx, scope, draft).await?;
        if written.is_ok() {
            tx.commit().await?;
        }
        Ok(written)
    })
    .await?;
    Ok(written?)
}

/// Moves the reader's mark up to `up_to` (never past now nor the newest message,
/// never back: `famille_model::messages::read_mark`) inside
/// `tx`; the family's feed carries the change (the other side's "lu").
pub async fn mark_read(
    tx: &mut Tx,
    scope: &Scope,
    thread_id: Uuid,
    up_to: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Result<(), Refusal>> {
    let Some(row) = store::thread_for_update(tx, thread_id).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    if !scope.sees(&row) {
        return Ok(Err(Refusal::NotFound));
    }
    let side = scope.side();
    let current = match side {
        Side::Family => row.family_read_up_to,
        Side::Services => row.services_read_up_to,
    };
    let mark = messages::read_mark(current, up_to.min(tx.now()), row.last_message_at);
    if Some(mark) != current {
        store::mark_read(tx, thread_id, side, mark).await?;
        tx.changed(FeedEntry::thread(row.family_id, thread_id));
    }
    Ok(Ok(()))
}

/// [`mark_read`] in its own transaction (the routes).
pub async fn read(
    state: &AppState,
    scope: &Scope,
    thread_id: Uuid,
    up_to: chrono::DateTime<chrono::Utc>,
) -> AppResult<()> {
    let done = retrying(|| async {
        let mut tx = state.db.begin_at(state.clock.now()).await?;
        let done = mark_read(&mut tx, scope, thread_id, up_to).await?;
        tx.commit().await?;
        Ok(done)
    })
    .await?;
    Ok(done?)
}

/// A queued intent of messages (`send_message`, `read_thread`), inside the
/// queue's transaction.
pub async fn apply(tx: &mut Tx, actor: Actor, intent: &Mutation) -> StoreResult<Outcome> {
    let scope = Scope::Family(actor.family_id);
    match intent {
        Mutation::SendMessage {
            thread_id,
            service,
            subject,
            body,
            uploads,
            ..
        } => {
            let target = match (thread_id, service) {
                (Some(id), None) => Target::Thread(*id),
                (None, Some(service)) => Target::New {
                    family_id: actor.family_id,
                    service: *service,
                    subject: subject.as_deref(),
                },
                (Some(_), Some(_)) => {
                    return Ok(Refusal::Invalid(vec![FieldError::new(
                        "service",
                        "une réponse dans une conversation ne nomme pas de service",
                    )])
                    .outcome());
                }
                (None, None) => {
                    return Ok(Refusal::Invalid(vec![FieldError::new(
                        "thread_id",
                        "indiquez la conversation, ou le service pour en commencer une",
                    )])
                    .outcome());
                }
            };
            let draft = Draft {
                author_id: actor.account_id,
                target,
                body,
                attachments: uploads,
            };
            Ok(match write(tx, &scope, &draft).await? {
                Ok(w) => Outcome::applied(Some(w.thread_id)),
                Err(refusal) => refusal.outcome(),
            })
        }
        Mutation::ReadThread {
            thread_id, up_to, ..
        } => Ok(match mark_read(tx, &scope, *thread_id, *up_to).await? {
            Ok(()) => Outcome::applied(Some(*thread_id)),
            Err(refusal) => refusal.outcome(),
        }),
        _ => Ok(Outcome::rejected(ErrorCode::InvalidMutation)),
    }
}

/// A thread as its family sees it.
pub async fn family_thread(state: &AppState, family_id: Uuid, id: Uuid) -> AppResult<Thread> {
    let messages = state.db.messages();
    let row = messages
        .thread_row(id, Some(family_id))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(messages.thread(&row, Side::Family).await?)
}

pub async fn family_threads(state: &AppState, family_id: Uuid) -> AppResult<Vec<ThreadSummary>> {
    Ok(state.db.messages().family_threads(family_id).await?)
}

pub async fn services(state: &AppState) -> AppResult<Vec<Service>> {
    Ok(state.db.messages().services().await?)
}

/// A thread as an agent of its service reads it.
pub async fn staff_thread(state: &AppState, scope: &Scope, id: Uuid) -> AppResult<StaffThread> {
    let messages = state.db.messages();
    let row = visible(state, scope, id).await?;
    let thread = messages.thread(&row, Side::Services).await?;
    let family = state
        .db
        .billing()
        .family_names(&[row.family_id])
        .await?
        .remove(&row.family_id)
        .unwrap_or_default();
    Ok(StaffThread {
        family_id: row.family_id,
        family,
        assigned_to: row.assigned_to,
        family_read_up_to: row.family_read_up_to,
        thread,
    })
}

async fn visible(state: &AppState, scope: &Scope, id: Uuid) -> AppResult<ThreadRow> {
    state
        .db
        .messages()
        .thread_row(id, None)
        .await?
        .filter(|row| scope.sees(row))
        .ok_or(AppError::NotFound)
}

/// An inbox page for the agent's services (`service` narrows to one of them).
pub struct InboxQuery {
    pub service: Option<Uuid>,
    pub status: Option<ThreadStatus>,
    pub mine: bool,
    pub family_id: Option<Uuid>,
    pub limit: i64,
    pub offset: i64,
}

pub async fn inbox(
    state: &AppState,
    staff: Staff,
    q: &InboxQuery,
) -> AppResult<Vec<StaffThreadSummary>> {
    let scope = Scope::of_staff(state, staff).await?;
    let services: Option<Vec<Uuid>> = match (q.service, scope) {
        (Some(one), scope) if scope.sees_service(one) => Some(vec![one]),
        (Some(_), _) => Some(Vec::new()),
        (None, Scope::Services(s)) => s,
        (None, Scope::Family(_)) => Some(Vec::new()),
    };
    Ok(state
        .db
        .messages()
        .inbox(&InboxFilter {
            services: services.as_deref(),
            status: q.status,
            assigned_to: q.mine.then_some(staff.account_id),
            family_id: q.family_id,
            limit: q.limit,
            offset: q.offset,
        })
        .await?)
}

/// Assigns a thread to an agent of its service, or back to the service (`None`).
pub async fn assign(
    state: &AppState,
    staff: Staff,
    id: Uuid,
    account_id: Option<Uuid>,
) -> AppResult<()> {
    let scope = Scope::of_staff(state, staff).await?;
    let row = visible(state, &scope, id).await?;
    if let Some(agent) = account_id
        && !state.db.messages().is_agent(row.service_id, agent).await?
    {
        return Err(FieldError::new(
            "account_id",
            "cet agent n'appartient pas au service de la conversation",
        )
        .into());
    }
    let mut tx = state.db.begin_at(state.clock.now()).await?;
    store::assign(&mut tx, id, account_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Closes (or reopens) a thread; a new message reopens it anyway.
pub async fn set_status(
    state: &AppState,
    staff: Staff,
    id: Uuid,
    status: ThreadStatus,
) -> AppResult<()> {
    let scope = Scope::of_staff(state, staff).await?;
    let row = visible(state, &scope, id).await?;
    let mut tx = state.db.begin_at(state.clock.now()).await?;
    store::set_status(&mut tx, id, status).await?;
    tx.changed(FeedEntry::thread(row.family_id, id));
    tx.commit().await?;
    Ok(())
}

/// An attachment's bytes, for the thread's family or an agent of its service (the
/// agent's read is audited: a family's files may be health documents).
pub async fn attachment(
    state: &AppState,
    scope: &Scope,
    reader: Uuid,
    thread_id: Uuid,
    attachment_id: Uuid,
) -> AppResult<Response> {
    let row = visible(state, scope, thread_id).await?;
    let file = state
        .db
        .messages()
        .attachment(thread_id, attachment_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if matches!(scope, Scope::Services(_)) {
        state
            .db
            .audit()
            .record(
                reader,
                AuditAction::AttachmentRead,
                Some(row.family_id),
                None,
                state.clock.now(),
            )
            .await?;
    }
    let bytes = state
        .files
        .get(&file.file_key)
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, file.content_type),
            (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
            (axum::http::header::CONTENT_DISPOSITION, "inline".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// The services' list with their agents.
pub async fn staff_services(state: &AppState) -> AppResult<Vec<StaffService>> {
    Ok(state.db.messages().staff_services().await?)
}

/// Creates (`id` None) or changes a service; what `input` leaves out stays as it
/// was. Its name is unique (a family picks it in a list).
pub async fn save_service(
    state: &AppState,
    id: Option<Uuid>,
    input: &ServiceInput,
) -> AppResult<Uuid> {
    let name = validate::name("name", &input.name)?;
    let (service_id, create) = match id {
        Some(id) => (id, false),
        None => (Uuid::now_v7(), true),
    };
    let agents = input.agents.as_ref().map(|a| {
        let mut a = a.clone();
        a.sort();
        a.dedup();
        a
    });
    let change = ServiceChange {
        id: service_id,
        create,
        name: &name,
        sensitive: input.sensitive,
        agents: agents.as_deref(),
    };
    match state
        .db
        .messages()
        .save_service(&change, state.clock.now())
        .await?
    {
        SaveService::Saved => Ok(service_id),
        SaveService::NotFound => Err(AppError::NotFound),
        SaveService::NameTaken => {
            Err(FieldError::new("name", "un autre service porte déjà ce nom").into())
        }
        SaveService::UnknownAgent(a) => {
            Err(FieldError::new("agents", format!("{a} n'est pas un compte des services")).into())
        }
    }
}

/// Files attached to no message after 30 days (a phone that never sent its
/// message) are removed with their bytes. Returns how many.
pub async fn sweep_orphan_attachments(state: &AppState) -> AppResult<usize> {
    let older_than = state.clock.now() - chrono::Duration::days(30);
    let keys = state
        .db
        .messages()
        .take_orphan_attachments(older_than)
        .await?;
    for key in &keys {
        let _ = state.files.delete(key).await;
    }
    Ok(keys.len())
}
