//! Bookings: the phones' mutations (reserve, cancel, waitlist) and the children's
//! calendars. The rules themselves are pure functions of `famille_model::booking`;
//! the store applies them inside the booking transaction.

pub mod catalog_http;
pub mod http;
pub mod ical;

use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use famille_model::ErrorCode;
use famille_model::api::{
    Calendar, CalendarDay, Mutation, MutationResult, MutationResults, MutationStatus, Roster,
    RosterEntry,
};
use famille_model::booking::{AttendanceCode, is_young};
use famille_model::calendar::paris_date;
use famille_model::validate::FieldError;
use uuid::Uuid;

use crate::accounts::auth::Parent;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::audit::AuditAction;
use crate::store::bookings::{Actor, Affected, Outcome, Promotion, StaffOutcome};
use crate::store::catalog::missing_documents;
use famille_model::calendar_view::{Booked, CellFacts, calendar_session, shown_reservation};

/// At most this many mutations per call: a week offline is a few dozen.
pub const MAX_BATCH: usize = 200;
/// The longest calendar range served at once (a month view with its margins).
pub const MAX_CALENDAR_DAYS: i64 = 62;

/// The French sentence a parent reads for a mutation's code.
pub fn detail_fr(code: ErrorCode, extra: Option<&str>) -> String {
    match code {
        ErrorCode::SessionFull => "Il n'y a plus de place pour cette journée. Vous pouvez demander une place sur la liste d'attente.".to_owned(),
        ErrorCode::BookingClosed => "Les réservations ne sont pas ouvertes pour cette date, ou sont closes.".to_owned(),
        ErrorCode::CancelDeadlinePassed => "OUPS ! Vous n'avez pas annulé dans les délais : l'annulation est enregistrée mais la journée vous sera facturée.".to_owned(),
        ErrorCode::DocumentRequired => format!(
            "Document obligatoire à fournir : {}. Envoyez-le depuis « Mes démarches » ; dès sa validation vous pourrez réserver.",
            extra.unwrap_or("voir vos alertes")
        ),
        ErrorCode::NotEligible => "Cette activité n'est pas accessible à votre enfant (âge ou niveau scolaire).".to_owned(),
        ErrorCode::AlreadyBooked => "Votre enfant est déjà inscrit, ou sur liste d'attente, pour cette journée.".to_owned(),
        ErrorCode::DossierPending => "Votre dossier est en attente de validation par les services : vous pourrez réserver dès qu'il sera validé.".to_owned(),
        ErrorCode::PlacesAvailable => "Il reste des places : réservez directement cette journée.".to_owned(),
        ErrorCode::WaitlistUnavailable => "Cette activité ne propose pas de liste d'attente.".to_owned(),
        ErrorCode::InvalidMutation => "Cette action n'est pas reconnue par le serveur. Mettez l'application à jour.".to_owned(),
        _ => "Cette réservation ou cette journée est introuvable.".to_owned(),
    }
}

fn result(id: Uuid, outcome: &Outcome) -> MutationResult {
    MutationResult {
        id,
        status: if outcome.applied {
            MutationStatus::Applied
        } else {
            MutationStatus::Rejected
        },
        code: outcome.code.map(|c| c.as_str().to_owned()),
        detail: outcome
            .code
            .map(|c| detail_fr(c, outcome.detail.as_deref())),
        reservation_id: outcome.reservation_id,
    }
}

/// Applies a batch in order, each mutation once, and answers each.
pub async fn apply_batch(
    state: &AppState,
    parent: Parent,
    raw: &[serde_json::Value],
) -> AppResult<MutationResults> {
    if raw.len() > MAX_BATCH {
        return Err(FieldError::new(
            "mutations",
            format!("{MAX_BATCH} actions au plus par envoi"),
        )
        .into());
    }
    let actor = Actor {
        family_id: parent.family_id,
        account_id: parent.account_id,
    };
    // Parse first: an unknown kind from a newer app is answered, the rest applied.
    let mut parsed: Vec<Result<Mutation, Uuid>> = Vec::with_capacity(raw.len());
    for (index, value) in raw.iter().enumerate() {
        match serde_json::from_value::<Mutation>(value.clone()) {
            Ok(m) => parsed.push(Ok(m)),
            Err(_) => {
                let id = value
                    .get("id")
                    .and_then(|v| v.as_str())
                    .and_then(|s| s.parse::<Uuid>().ok())
                    .ok_or_else(|| {
                        FieldError::new(
                            &format!("mutations[{index}].id"),
                            "identifiant manquant ou invalide",
                        )
                    })?;
                parsed.push(Err(id));
            }
        }
    }
    let valid: Vec<Mutation> = parsed
        .iter()
        .filter_map(|p| p.as_ref().ok().cloned())
        .collect();
    let mut outcomes = state
        .db
        .bookings()
        .apply_all(actor, &valid, state.clock.now(), state.push_enabled())
        .await?
        .into_iter();
    let mut results = Vec::with_capacity(raw.len());
    for entry in parsed {
        match entry {
            Ok(mutation) => {
                let outcome = outcomes
                    .next()
                    .ok_or_else(|| AppError::Internal("missing outcome".into()))?;
                if !outcome.promotions.is_empty() {
                    crate::notifications::wake(state);
                }
                results.push(result(mutation.id(), &outcome));
            }
            Err(id) => results.push(result(
                id,
                &Outcome {
                    applied: false,
                    code: Some(ErrorCode::InvalidMutation),
                    detail: None,
                    reservation_id: None,
                    promotions: Vec::new(),
                },
            )),
        }
    }
    Ok(MutationResults { results })
}

/// A child's calendar between two dates (inclusive), with the legend's states.
pub async fn calendar(
    state: &AppState,
    family_id: Uuid,
    child_id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> AppResult<Calendar> {
    let child = crate::families::child(state, family_id, child_id).await?;
    let now = state.clock.now();
    let from = from.unwrap_or_else(|| paris_date(now));
    let to = to.unwrap_or(from + Duration::days(6));
    if to < from {
        return Err(FieldError::new("to", "la date de fin précède la date de début").into());
    }
    if (to - from).num_days() >= MAX_CALENDAR_DAYS {
        return Err(FieldError::new(
            "to",
            format!("{MAX_CALENDAR_DAYS} jours au plus par calendrier"),
        )
        .into());
    }
    let family = state
        .db
        .families()
        .family(family_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let dossier_pending = family.status != "active";
    let catalog = state.db.catalog();
    let activities: HashMap<Uuid, _> = catalog
        .activities()
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let requirements = catalog.requirements().await?;
    let documents = catalog.valid_documents(family_id).await?;
    let sessions = catalog.sessions_between(from, to).await?;
    let reservations = state
        .db
        .bookings()
        .child_reservations(child_id, from, to)
        .await?;

    let mut days: Vec<CalendarDay> = Vec::new();
    let mut date = from;
    while date <= to {
        days.push(CalendarDay {
            date,
            sessions: Vec::new(),
        });
        date += Duration::days(1);
    }
    for session in sessions {
        let Some(activity) = activities.get(&session.activity_id) else {
            continue;
        };
        // Only the activities this child may attend are shown, as in the guide.
        if !activity
            .eligibility
            .admits(child.birth_date, child.school_level, session.date)
        {
            continue;
        }
        let reservation = shown_reservation(
            reservations
                .iter()
                .filter(|r| r.session_id == session.id)
                .map(|r| {
                    Ok::<_, crate::store::StoreError>(Booked {
                        id: r.id,
                        status: r.status()?,
                        free_cancel_until: r.free_cancel_until,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
                .into_iter(),
        );
        let missing = missing_documents(
            requirements.iter().filter(|r| r.activity_id == activity.id),
            &documents,
            child_id,
            session.date,
        );
        let young = is_young(activity.age_split, child.birth_date, session.date);
        let index = (session.date - from).num_days() as usize;
        days[index].sessions.push(calendar_session(CellFacts {
            session_id: session.id,
            activity_id: activity.id,
            activity: &activity.name,
            option: &session.option,
            venue: &activity.venue,
            date: session.date,
            open: session.status == "open",
            rules: &activity.rules,
            full: session.capacity.full(young),
            places_left: Some(session.capacity.places_left(young)),
            reservation,
            dossier_pending,
            missing,
            now,
        }));
    }
    Ok(Calendar {
        child_id,
        from,
        to,
        days,
    })
}

// ---- staff ---------------------------------------------------------------------------

fn staff_result(
    outcome: StaffOutcome,
    conflict: &'static str,
) -> AppResult<(Vec<Affected>, Vec<Promotion>)> {
    match outcome {
        StaffOutcome::Done {
            affected,
            promotions,
        } => Ok((affected, promotions)),
        StaffOutcome::NotFound => Err(AppError::NotFound),
        StaffOutcome::Conflict => Err(AppError::Conflict(conflict)),
    }
}

pub async fn decide_pending(
    state: &AppState,
    reservation_id: Uuid,
    approve: bool,
) -> AppResult<()> {
    let outcome = state
        .db
        .bookings()
        .decide_pending(
            reservation_id,
            approve,
            state.clock.now(),
            state.push_enabled(),
        )
        .await?;
    staff_result(
        outcome,
        "Cette réservation n'est pas en attente de validation.",
    )?;
    crate::notifications::wake(state);
    Ok(())
}

pub async fn cancel_session(state: &AppState, session_id: Uuid) -> AppResult<usize> {
    let outcome = state
        .db
        .bookings()
        .cancel_session(session_id, state.clock.now(), state.push_enabled())
        .await?;
    let (affected, _) = staff_result(outcome, "Cette journée est déjà annulée.")?;
    crate::notifications::wake(state);
    Ok(affected.len())
}

/// A session's list with allergy and PAI flags; the read is audited per child.
pub async fn roster(state: &AppState, staff: Uuid, session_id: Uuid) -> AppResult<Roster> {
    let (session, rows) = state
        .db
        .bookings()
        .roster(session_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let mut waitlist: Vec<(chrono::DateTime<chrono::Utc>, Uuid)> = rows
        .iter()
        .filter(|r| r.status.as_deref() == Some("waitlisted"))
        .filter_map(|r| Some((r.waitlisted_at?, r.child_id)))
        .collect();
    waitlist.sort();
    let mut entries = Vec::with_capacity(rows.len());
    for r in rows {
        state
            .db
            .audit()
            .record(
                staff,
                AuditAction::RosterRead,
                Some(r.family_id),
                Some(r.child_id),
                now,
            )
            .await?;
        entries.push(RosterEntry {
            reservation_id: r.reservation_id,
            child_id: r.child_id,
            family_id: r.family_id,
            first_name: r.first_name,
            last_name: r.last_name,
            birth_date: r.birth_date,
            status: r
                .status
                .as_deref()
                .map(crate::store::parse_stored)
                .transpose()?,
            waitlist_position: waitlist
                .iter()
                .position(|(_, c)| *c == r.child_id)
                .map(|p| p as u32 + 1),
            has_allergies: r.allergies.is_some_and(|a| !a.trim().is_empty()),
            pai: r.pai.unwrap_or(false),
            attendance: r
                .attendance
                .as_deref()
                .map(crate::store::parse_stored)
                .transpose()?,
        });
    }
    Ok(Roster {
        session_id,
        activity: session.activity,
        option: session.option,
        date: session.date,
        status: session.status,
        capacity: u32::try_from(session.capacity).unwrap_or(0),
        held: u32::try_from(session.held).unwrap_or(0),
        entries,
    })
}

pub async fn record_attendance(
    state: &AppState,
    staff: Uuid,
    session_id: Uuid,
    child_id: Uuid,
    code: AttendanceCode,
) -> AppResult<Roster> {
    let ok = state
        .db
        .bookings()
        .record_attendance(
            session_id,
            child_id,
            code.as_str(),
            staff,
            state.clock.now(),
        )
        .await?;
    if !ok {
        return Err(FieldError::new(
            "code",
            "« présent non inscrit » est réservé aux enfants sans réservation ; les autres codes demandent une réservation",
        )
        .into());
    }
    roster(state, staff, session_id).await
}

// ---- iCalendar feed -------------------------------------------------------------------

/// Creates or replaces the family's secret feed address.
pub async fn new_calendar_feed(state: &AppState, family_id: Uuid) -> AppResult<String> {
    let token = crate::accounts::tokens::random_token();
    let hash = crate::accounts::tokens::token_hash(&token);
    state
        .db
        .bookings()
        .set_calendar_feed(family_id, &hash, state.clock.now())
        .await?;
    Ok(format!(
        "{}/api/v1/calendar/{token}.ics",
        state.config.public_url
    ))
}

/// The feed's content, from a month ago to a year ahead.
pub async fn calendar_feed(state: &AppState, file: &str) -> AppResult<String> {
    let token = ical::token_from_file(file).ok_or(AppError::NotFound)?;
    let family_id = state
        .db
        .bookings()
        .calendar_feed_family(&crate::accounts::tokens::token_hash(token))
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let today = paris_date(now);
    let events = state
        .db
        .bookings()
        .feed_events(
            family_id,
            today - Duration::days(31),
            today + Duration::days(366),
        )
        .await?;
    Ok(ical::render(&state.config.organisation_name, &events, now))
}
