//! The phones' queue of intents: `POST /api/v1/mutations` applies a batch in order,
//! each intent once (idempotent by its id, replayed or concurrent), and answers
//! each. The queue knows no area: it reads each intent's kind, hands it to its area
//! inside one transaction with the log of its answer, and keeps that answer for a
//! phone that sends the id again.
//!
//! On SQLite, whose writers take turns anyway, a whole batch is one transaction (one
//! turn, one commit): if anything fails, nothing of it is kept and the phone sends
//! it again. On PostgreSQL each intent is its own transaction, so families booking
//! the same sessions only ever wait for one another's single booking.

pub mod http;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use famille_model::ErrorCode;
use famille_model::queue::{Mutation, MutationResult, MutationResults, MutationStatus};
use famille_model::validate::FieldError;
use uuid::Uuid;

use crate::accounts::auth::Parent;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::queue::{self as log, Actor, Outcome};
use crate::store::{StoreError, StoreResult, Tx, retrying};

/// At most this many intents per call: a week offline is a few dozen.
pub const MAX_BATCH: usize = 200;

/// How long a refusal stays in the idempotency log: past a phone offline for a
/// week and its retries. An intent sent again later is judged anew (it changed
/// nothing the first time).
pub const KEEP_REJECTED: chrono::Duration = chrono::Duration::days(30);

/// How long any answer stays: longer than a login lasts (90 days), after which a
/// phone's queue waits for the parent to log in again.
pub const KEEP_APPLIED: chrono::Duration = chrono::Duration::days(400);

/// An intent as received: understood, a kind this server knows with a field it
/// cannot read (why, in words), or only its id (a kind from a newer app).
enum Received {
    Intent(Mutation),
    Malformed(Uuid, String),
    Unknown(Uuid),
}

fn read(index: usize, value: &serde_json::Value) -> AppResult<Received> {
    let id = || {
        value
            .get("id")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<Uuid>().ok())
    };
    let known_kind = value
        .get("kind")
        .and_then(|k| k.as_str())
        .is_some_and(|k| k.parse::<famille_model::queue::IntentKind>().is_ok());
    match serde_json::from_value::<Mutation>(value.clone()) {
        Ok(m) => Ok(Received::Intent(m)),
        Err(e) if known_kind && let Some(id) = id() => Ok(Received::Malformed(id, e.to_string())),
        Err(_) => value
            .get("id")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<Uuid>().ok())
            .map(Received::Unknown)
            .ok_or_else(|| {
                FieldError::new(
                    &format!("mutations[{index}].id"),
                    "identifiant manquant ou invalide",
                )
                .into()
            }),
    }
}

/// Applies a batch in order, each intent once, and answers each in the same order.
#[tracing::instrument(skip_all, fields(count = raw.len()))]
pub async fn apply_batch(
    state: &AppState,
    parent: Parent,
    raw: &[serde_json::Value],
) -> AppResult<MutationResults> {
    if raw.len() > MAX_BATCH {
        return Err(AppError::Refused {
            code: ErrorCode::TooManyMutations,
            detail: Some(format!(
                "{MAX_BATCH} actions au plus par envoi : l'application envoie le reste ensuite."
            )),
        });
    }
    state.limits.intents_per_family.check_n(
        &parent.family_id.to_string(),
        u32::try_from(raw.len()).unwrap_or(u32::MAX),
        state.clock.now(),
    )?;
    let messages = raw
        .iter()
        .filter(|v| v.get("kind").and_then(|k| k.as_str()) == Some("send_message"))
        .count();
    if messages > 0 {
        state.limits.messages_per_family.check_n(
            &parent.family_id.to_string(),
            u32::try_from(messages).unwrap_or(u32::MAX),
            state.clock.now(),
        )?;
    }
    let actor = Actor {
        family_id: parent.family_id,
        account_id: parent.account_id,
    };
    let received = raw
        .iter()
        .enumerate()
        .map(|(i, v)| read(i, v))
        .collect::<AppResult<Vec<_>>>()?;
    let intents: Vec<&Mutation> = received
        .iter()
        .filter_map(|r| match r {
            Received::Intent(m) => Some(m),
            Received::Malformed(..) | Received::Unknown(_) => None,
        })
        .collect();
    let mut outcomes = apply(state, actor, &intents).await?.into_iter();
    let results = received
        .iter()
        .map(|r| match r {
            Received::Intent(m) => {
                let outcome = outcomes.next().expect("one outcome per intent");
                answer(m, &outcome)
            }
            Received::Malformed(id, why) => MutationResult {
                id: *id,
                status: MutationStatus::Rejected,
                code: Some(ErrorCode::InvalidField),
                billed: false,
                detail: Some(ErrorCode::InvalidField.detail_fr(Some(why))),
                reservation_id: None,
                thread_id: None,
            },
            Received::Unknown(id) => MutationResult {
                id: *id,
                status: MutationStatus::Rejected,
                code: Some(ErrorCode::InvalidMutation),
                billed: false,
                detail: Some(ErrorCode::InvalidMutation.label_fr().to_owned()),
                reservation_id: None,
                thread_id: None,
            },
        })
        .collect();
    Ok(MutationResults { results })
}

/// Applies intents in order, each once, for `actor` (the batch route; the demo and
/// the benchmarks).
pub async fn apply(
    state: &AppState,
    actor: Actor,
    intents: &[&Mutation],
) -> StoreResult<Vec<Outcome>> {
    let now = state.clock.now();
    if state.db.is_sqlite() {
        retrying(|| apply_in_one(state, actor, intents, now)).await
    } else {
        let mut outcomes = Vec::with_capacity(intents.len());
        for intent in intents {
            outcomes.push(apply_alone(state, actor, intent, now).await?);
        }
        Ok(outcomes)
    }
}

/// The whole batch in one transaction (SQLite).
async fn apply_in_one(
    state: &AppState,
    actor: Actor,
    intents: &[&Mutation],
    now: DateTime<Utc>,
) -> StoreResult<Vec<Outcome>> {
    let mut tx = state.db.begin_at(now).await?;
    let ids: Vec<Uuid> = intents.iter().map(|m| m.id()).collect();
    let mut logged = log::known(&mut tx, &ids).await?;
    let mut outcomes = Vec::with_capacity(intents.len());
    let mut seen = HashSet::new();
    for intent in intents {
        // A repeated id within the batch gets the answer logged by its first copy.
        let maybe_logged = logged.contains(&intent.id()) || !seen.insert(intent.id());
        outcomes.push(
            apply_one(
                &mut tx,
                actor,
                intent,
                maybe_logged,
                state.config.unpaid_block_cents,
            )
            .await?,
        );
        logged.insert(intent.id());
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// One intent in its own transaction (PostgreSQL), run again when a concurrent
/// transaction changed what it read.
async fn apply_alone(
    state: &AppState,
    actor: Actor,
    intent: &Mutation,
    now: DateTime<Utc>,
) -> StoreResult<Outcome> {
    let applied = retrying(|| async move {
        let mut tx = state.db.begin_at(now).await?;
        let outcome = apply_one(
            &mut tx,
            actor,
            intent,
            true,
            state.config.unpaid_block_cents,
        )
        .await?;
        tx.commit().await?;
        Ok(outcome)
    })
    .await;
    match applied {
        // Another request applied the same id first; its answer is ours.
        Err(StoreError::Duplicate(_)) => state
            .db
            .queue()
            .logged(actor, intent.id())
            .await?
            .ok_or_else(|| StoreError::Corrupt("a logged intent vanished".into())),
        other => other,
    }
}

/// An intent inside `tx`: its logged answer if it was applied before, else its area
/// applies it and the answer is logged.
async fn apply_one(
    tx: &mut Tx,
    actor: Actor,
    intent: &Mutation,
    maybe_logged: bool,
    unpaid_block_cents: Option<i64>,
) -> StoreResult<Outcome> {
    if maybe_logged && let Some(outcome) = log::logged(tx, actor, intent.id()).await? {
        return Ok(outcome);
    }
    let outcome = match intent {
        Mutation::Reserve { .. }
        | Mutation::Cancel { .. }
        | Mutation::JoinWaitlist { .. }
        | Mutation::LeaveWaitlist { .. } => {
            crate::bookings::apply(tx, actor, intent, unpaid_block_cents).await?
        }
        Mutation::SendMessage { .. } | Mutation::ReadThread { .. } => {
            crate::messages::apply(tx, actor, intent).await?
        }
    };
    log::log(tx, actor, intent.id(), intent.kind().as_str(), &outcome).await?;
    Ok(outcome)
}

/// The wire answer of an outcome, with the French sentence of its code; what it
/// created or changed named by its kind (a reservation, a thread).
fn answer(intent: &Mutation, outcome: &Outcome) -> MutationResult {
    let is_thread = matches!(
        intent,
        Mutation::SendMessage { .. } | Mutation::ReadThread { .. }
    );
    MutationResult {
        id: intent.id(),
        status: outcome.status,
        code: outcome.code,
        billed: outcome.billed,
        detail: outcome.code.map(|c| c.detail_fr(outcome.detail.as_deref())),
        reservation_id: outcome.ref_id.filter(|_| !is_thread),
        thread_id: outcome.ref_id.filter(|_| is_thread),
    }
}
