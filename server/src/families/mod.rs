//! The family dossier: what parents fill in and agents check. Handlers are thin;
//! the checks and the composition live here.

pub mod http;

use famille_model::api::{
    AuthorizedPerson, AuthorizedPersonInput, Child, ChildConsents, ChildInput, ConsentsUpdate,
    Family, FamilySummary, Guardian, GuardianInput, HealthRecord, HealthRecordInput, Household,
    Quotient,
};
use famille_model::calendar::paris_date;
use famille_model::dossier::{ConsentAnswer, FamilyStatus};
use famille_model::validate::{self, FieldError};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::audit::AuditAction;
use crate::store::families::FamilyRow;

/// Today in Paris, by the server's clock.
fn today(state: &AppState) -> chrono::NaiveDate {
    famille_model::calendar::paris_date(state.clock.now())
}

// ---- reading ---------------------------------------------------------------------

async fn family_row(state: &AppState, family_id: Uuid) -> AppResult<FamilyRow> {
    state
        .db
        .families()
        .family(family_id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn family(state: &AppState, family_id: Uuid) -> AppResult<Family> {
    let row = family_row(state, family_id).await?;
    let families = state.db.families();
    Ok(Family {
        id: row.id,
        number: row.number,
        status: row.status,
        address: row.address(),
        phone: row.phone.clone(),
        situation: row
            .situation
            .as_deref()
            .map(crate::store::parse_stored)
            .transpose()?,
        dependent_children: row.dependent_children.and_then(|n| u8::try_from(n).ok()),
        quotient: row.quotient()?,
        guardians: families.guardians(family_id).await?,
        children: families
            .children(family_id, paris_date(state.clock.now()))
            .await?,
        unpaid_rule: unpaid_rule(state, &row),
    })
}

/// The organisation's unpaid-invoices rule as it applies to this family.
pub fn unpaid_rule(
    state: &AppState,
    row: &FamilyRow,
) -> Option<famille_model::payments::UnpaidRule> {
    state
        .config
        .unpaid_block_cents
        .map(|threshold_cents| famille_model::payments::UnpaidRule {
            threshold_cents,
            lifted: row.unpaid_block_lifted,
        })
}

/// Whether unpaid invoices past due block this family's new bookings today.
pub async fn unpaid_blocked(state: &AppState, row: &FamilyRow) -> AppResult<bool> {
    let Some(rule) = unpaid_rule(state, row) else {
        return Ok(false);
    };
    let invoices = state.db.billing().family_invoices(row.id).await?;
    let overdue = famille_model::payments::overdue_cents(&invoices, today(state));
    Ok(famille_model::payments::unpaid_blocks(overdue, Some(&rule)))
}

/// An agent lifts (or restores) the unpaid-invoices rule for a family.
pub async fn set_unpaid_block_lifted(
    state: &AppState,
    family_id: Uuid,
    lifted: bool,
) -> AppResult<()> {
    if !state
        .db
        .families()
        .set_unpaid_block_lifted(family_id, lifted)
        .await?
    {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// `NotFound` unless the family exists (the services' routes on a family's id).
pub async fn exists(state: &AppState, family_id: Uuid) -> AppResult<()> {
    family_row(state, family_id).await.map(|_| ())
}

/// The child, if it belongs to this family; otherwise "not found" (never "forbidden":
/// a foreign id must not even be confirmed to exist).
pub async fn child(state: &AppState, family_id: Uuid, child_id: Uuid) -> AppResult<Child> {
    state
        .db
        .families()
        .child(family_id, child_id, paris_date(state.clock.now()))
        .await?
        .ok_or(AppError::NotFound)
}

// ---- parents' edits --------------------------------------------------------------

pub async fn update_household(
    state: &AppState,
    family_id: Uuid,
    h: &Household,
) -> AppResult<Family> {
    let h = validate::household(h)?;
    if !state
        .db
        .families()
        .update_household(family_id, &h, state.clock.now())
        .await?
    {
        return Err(AppError::NotFound);
    }
    family(state, family_id).await
}

pub async fn add_guardian(
    state: &AppState,
    family_id: Uuid,
    g: &GuardianInput,
) -> AppResult<Guardian> {
    let g = validate::guardian(g)?;
    let id = Uuid::now_v7();
    match state
        .db
        .families()
        .insert_guardian(family_id, id, &g)
        .await?
    {
        Some(_) => guardian(state, family_id, id).await,
        None => Err(AppError::Conflict(
            "Un dossier compte deux responsables légaux au plus.",
        )),
    }
}

pub async fn update_guardian(
    state: &AppState,
    family_id: Uuid,
    id: Uuid,
    g: &GuardianInput,
) -> AppResult<Guardian> {
    guardian(state, family_id, id).await?;
    let g = validate::guardian(g)?;
    state
        .db
        .families()
        .update_guardian(family_id, id, &g)
        .await?;
    guardian(state, family_id, id).await
}

async fn guardian(state: &AppState, family_id: Uuid, id: Uuid) -> AppResult<Guardian> {
    state
        .db
        .families()
        .guardians(family_id)
        .await?
        .into_iter()
        .find(|g| g.id == id)
        .ok_or(AppError::NotFound)
}

pub async fn add_child(state: &AppState, family_id: Uuid, c: &ChildInput) -> AppResult<Child> {
    let c = validate::child(c, today(state))?;
    let id = Uuid::now_v7();
    state
        .db
        .families()
        .insert_child(family_id, id, &c, state.clock.now())
        .await?;
    child(state, family_id, id).await
}

pub async fn update_child(
    state: &AppState,
    family_id: Uuid,
    id: Uuid,
    c: &ChildInput,
) -> AppResult<Child> {
    child(state, family_id, id).await?;
    let c = validate::child(c, today(state))?;
    state
        .db
        .families()
        .update_child(family_id, id, &c, state.clock.now())
        .await?;
    child(state, family_id, id).await
}

pub async fn confirm_child_data(state: &AppState, family_id: Uuid, id: Uuid) -> AppResult<Child> {
    if !state
        .db
        .families()
        .confirm_child_data(family_id, id, state.clock.now())
        .await?
    {
        return Err(AppError::NotFound);
    }
    child(state, family_id, id).await
}

pub async fn authorized_persons(
    state: &AppState,
    family_id: Uuid,
    child_id: Uuid,
) -> AppResult<Vec<AuthorizedPerson>> {
    child(state, family_id, child_id).await?;
    Ok(state.db.families().authorized_persons(child_id).await?)
}

pub async fn add_authorized_person(
    state: &AppState,
    family_id: Uuid,
    child_id: Uuid,
    p: &AuthorizedPersonInput,
) -> AppResult<AuthorizedPerson> {
    child(state, family_id, child_id).await?;
    let p = validate::authorized_person(p)?;
    if state
        .db
        .families()
        .authorized_persons(child_id)
        .await?
        .len()
        >= 20
    {
        return Err(AppError::Conflict(
            "20 personnes autorisées au plus par enfant.",
        ));
    }
    let id = Uuid::now_v7();
    state
        .db
        .families()
        .insert_authorized_person(child_id, id, &p, state.clock.now())
        .await?;
    authorized_person(state, child_id, id).await
}

async fn authorized_person(
    state: &AppState,
    child_id: Uuid,
    id: Uuid,
) -> AppResult<AuthorizedPerson> {
    state
        .db
        .families()
        .authorized_persons(child_id)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or(AppError::NotFound)
}

pub async fn update_authorized_person(
    state: &AppState,
    family_id: Uuid,
    child_id: Uuid,
    id: Uuid,
    p: &AuthorizedPersonInput,
) -> AppResult<AuthorizedPerson> {
    child(state, family_id, child_id).await?;
    authorized_person(state, child_id, id).await?;
    let p = validate::authorized_person(p)?;
    state
        .db
        .families()
        .update_authorized_person(child_id, id, &p)
        .await?;
    authorized_person(state, child_id, id).await
}

pub async fn delete_authorized_person(
    state: &AppState,
    family_id: Uuid,
    child_id: Uuid,
    id: Uuid,
) -> AppResult<()> {
    child(state, family_id, child_id).await?;
    if state
        .db
        .families()
        .delete_authorized_person(child_id, id)
        .await?
    {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

pub async fn consents(
    state: &AppState,
    family_id: Uuid,
    child_id: Uuid,
) -> AppResult<ChildConsents> {
    child(state, family_id, child_id).await?;
    Ok(ChildConsents {
        child_id,
        consents: state.db.families().child_consents(child_id).await?,
    })
}

pub async fn set_consents(
    state: &AppState,
    family_id: Uuid,
    child_id: Uuid,
    update: &ConsentsUpdate,
) -> AppResult<ChildConsents> {
    child(state, family_id, child_id).await?;
    let known: Vec<Uuid> = state
        .db
        .families()
        .consent_types()
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let mut e = validate::Fields::default();
    let mut answers: Vec<(Uuid, ConsentAnswer)> = Vec::new();
    for (i, a) in update.answers.iter().enumerate() {
        if !known.contains(&a.consent_type_id) {
            e.push(FieldError::new(
                &format!("answers[{i}].consent_type_id"),
                "cette autorisation n'existe pas",
            ));
        } else if answers.iter().any(|(id, _)| *id == a.consent_type_id) {
            e.push(FieldError::new(
                &format!("answers[{i}].consent_type_id"),
                "cette autorisation est en double",
            ));
        } else {
            answers.push((a.consent_type_id, a.answer));
        }
    }
    e.finish(|| ())?;
    state
        .db
        .families()
        .set_child_consents(child_id, &answers, state.clock.now())
        .await?;
    consents(state, family_id, child_id).await
}

pub async fn health_record(
    state: &AppState,
    family_id: Uuid,
    child_id: Uuid,
) -> AppResult<HealthRecord> {
    child(state, family_id, child_id).await?;
    Ok(state.db.families().health_record(child_id).await?)
}

pub async fn put_health_record(
    state: &AppState,
    actor: Uuid,
    family_id: Uuid,
    child_id: Uuid,
    h: &HealthRecordInput,
) -> AppResult<HealthRecord> {
    child(state, family_id, child_id).await?;
    let record = validate::health_record(child_id, h, today(state))?;
    let now = state.clock.now();
    state.db.families().put_health_record(&record, now).await?;
    state
        .db
        .audit()
        .record(
            actor,
            AuditAction::HealthRecordUpdated,
            Some(family_id),
            Some(child_id),
            now,
        )
        .await?;
    Ok(state.db.families().health_record(child_id).await?)
}

// ---- staff -------------------------------------------------------------------------

pub async fn search(
    state: &AppState,
    query: &str,
    status: Option<FamilyStatus>,
) -> AppResult<Vec<FamilySummary>> {
    if query.chars().count() > validate::NAME_MAX_CHARS {
        return Err(FieldError::new("q", "recherche trop longue").into());
    }
    let hits = state
        .db
        .families()
        .search(query, status, 50, paris_date(state.clock.now()))
        .await?;
    hits.into_iter()
        .map(|hit| {
            Ok(FamilySummary {
                id: hit.family.id,
                number: hit.family.number,
                status: hit.family.status,
                name: hit
                    .guardians
                    .iter()
                    .map(|g| format!("{} {}", g.last_name.to_uppercase(), g.first_name))
                    .collect::<Vec<_>>()
                    .join(" et "),
                city: hit.family.city.clone(),
                children: hit.children.iter().map(|c| c.first_name.clone()).collect(),
            })
        })
        .collect()
}

pub async fn validate_family(state: &AppState, staff: Uuid, family_id: Uuid) -> AppResult<Family> {
    let row = family_row(state, family_id).await?;
    if row.status == FamilyStatus::Active {
        return Err(AppError::AlreadyValidated);
    }
    if !state
        .db
        .families()
        .validate(family_id, staff, state.clock.now())
        .await?
    {
        return Err(AppError::AlreadyValidated);
    }
    family(state, family_id).await
}

/// Sets the dossier's quotient: a QF record from its date, open-ended (the
/// previous one ends the day before), or `None`: the open records end yesterday.
/// The records are the billing's truth (`crate::billing`); the dossier shows the
/// latest.
pub async fn set_quotient(
    state: &AppState,
    family_id: Uuid,
    q: Option<&Quotient>,
) -> AppResult<Family> {
    let q = q.map(|q| validate::quotient(q, today(state))).transpose()?;
    family_row(state, family_id).await?;
    crate::billing::replace_quotient(state, family_id, q.as_ref()).await?;
    family(state, family_id).await
}

/// A staff read of a health record: written to the audit log before it is answered.
pub async fn staff_health_record(
    state: &AppState,
    staff: Uuid,
    child_id: Uuid,
) -> AppResult<HealthRecord> {
    let family_id = state
        .db
        .families()
        .family_of_child(child_id)
        .await?
        .ok_or(AppError::NotFound)?;
    state
        .db
        .audit()
        .record(
            staff,
            AuditAction::HealthRecordRead,
            Some(family_id),
            Some(child_id),
            state.clock.now(),
        )
        .await?;
    Ok(state.db.families().health_record(child_id).await?)
}

/// How a family is addressed on its invoices and certificates: its guardians'
/// names (« DURAND Zoé et DURAND Paul ») and its address lines.
pub async fn letterhead(state: &AppState, family_id: Uuid) -> AppResult<(String, Vec<String>)> {
    let families = state.db.families();
    let names = families
        .guardians(family_id)
        .await?
        .iter()
        .map(|g| format!("{} {}", g.last_name, g.first_name))
        .collect::<Vec<_>>()
        .join(" et ");
    let address = families
        .family(family_id)
        .await?
        .and_then(|f| f.address())
        .map(|a| {
            std::iter::once(a.line1)
                .chain(a.line2)
                .chain(std::iter::once(format!("{} {}", a.postal_code, a.city)))
                .collect()
        })
        .unwrap_or_default();
    Ok((names, address))
}
