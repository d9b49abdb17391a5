//! The family dossier: what parents fill in and agents check. Handlers are thin;
//! the checks and the composition live here.

pub mod http;

use famille_model::api::{
    AuthorizedPerson, AuthorizedPersonInput, Child, ChildConsents, ChildInput, ConsentsUpdate,
    Family, FamilySummary, Guardian, GuardianInput, HealthRecord, HealthRecordInput, Household,
    Quotient, Vaccination,
};
use famille_model::dossier::{ConsentAnswer, FamilyStatus};
use famille_model::validate::{self, FieldError};
use uuid::Uuid;

use crate::error::{AppError, AppResult, FieldErrors};
use crate::state::AppState;
use crate::store::audit::AuditAction;
use crate::store::families::FamilyRow;

const SHORT: usize = 200;
const LONG: usize = 2000;

fn check_household(h: &Household) -> AppResult<Household> {
    let mut e = FieldErrors::default();
    let line1 = e.take(validate::text("address.line1", &h.address.line1, SHORT));
    let line2 = e.take(validate::optional_text(
        "address.line2",
        h.address.line2.as_deref(),
        SHORT,
    ));
    let postal_code = e.take(validate::postal_code(
        "address.postal_code",
        &h.address.postal_code,
    ));
    let city = e.take(validate::text("address.city", &h.address.city, NAME_MAX));
    let phone = e.take(validate::optional_phone_fr("phone", h.phone.as_deref()));
    if h.dependent_children.is_some_and(|n| n > 20) {
        e.push(FieldError::new(
            "dependent_children",
            "20 enfants à charge au maximum",
        ));
    }
    e.finish(|| Household {
        address: famille_model::api::Address {
            line1: line1.unwrap_or_default(),
            line2: line2.flatten(),
            postal_code: postal_code.unwrap_or_default(),
            city: city.map(|c| c.to_uppercase()).unwrap_or_default(),
        },
        phone: phone.flatten(),
        situation: h.situation,
        dependent_children: h.dependent_children,
    })
}

const NAME_MAX: usize = validate::NAME_MAX_CHARS;

fn check_optional_email(field: &str, raw: Option<&str>) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => validate::email(field, v).map(Some),
    }
}

fn check_guardian(g: &GuardianInput) -> AppResult<GuardianInput> {
    let mut e = FieldErrors::default();
    let first_name = e.take(validate::name("first_name", &g.first_name));
    let last_name = e.take(validate::name("last_name", &g.last_name));
    let email = e.take(check_optional_email("email", g.email.as_deref()));
    let mobile = e.take(validate::optional_phone_fr(
        "mobile_phone",
        g.mobile_phone.as_deref(),
    ));
    let work = e.take(validate::optional_phone_fr(
        "work_phone",
        g.work_phone.as_deref(),
    ));
    e.finish(|| GuardianInput {
        first_name: first_name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default(),
        email: email.flatten(),
        mobile_phone: mobile.flatten(),
        work_phone: work.flatten(),
    })
}

fn check_child(state: &AppState, c: &ChildInput) -> AppResult<ChildInput> {
    let today = state.clock.now().date_naive();
    let mut e = FieldErrors::default();
    let first_name = e.take(validate::name("first_name", &c.first_name));
    let last_name = e.take(validate::name("last_name", &c.last_name));
    let birth_date = e.take(validate::child_birth_date(
        "birth_date",
        c.birth_date,
        today,
    ));
    let school = e.take(validate::optional_text(
        "school",
        c.school.as_deref(),
        SHORT,
    ));
    e.finish(|| ChildInput {
        first_name: first_name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default().to_uppercase(),
        birth_date: birth_date.unwrap_or(c.birth_date),
        school_level: c.school_level,
        school: school.flatten(),
    })
}

fn check_person(p: &AuthorizedPersonInput) -> AppResult<AuthorizedPersonInput> {
    let mut e = FieldErrors::default();
    let first_name = e.take(validate::name("first_name", &p.first_name));
    let last_name = e.take(validate::name("last_name", &p.last_name));
    let quality = e.take(validate::text("quality", &p.quality, NAME_MAX));
    let phone = e.take(validate::optional_phone_fr("phone", p.phone.as_deref()));
    let mobile = e.take(validate::optional_phone_fr(
        "mobile_phone",
        p.mobile_phone.as_deref(),
    ));
    let email = e.take(check_optional_email("email", p.email.as_deref()));
    if (p.may_pick_up || p.emergency_contact)
        && p.phone.as_deref().is_none_or(|v| v.trim().is_empty())
        && p.mobile_phone
            .as_deref()
            .is_none_or(|v| v.trim().is_empty())
    {
        e.push(FieldError::new(
            "mobile_phone",
            "un numéro de téléphone est nécessaire pour une personne qui récupère l'enfant ou à prévenir en cas d'urgence",
        ));
    }
    e.finish(|| AuthorizedPersonInput {
        first_name: first_name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default(),
        quality: quality.unwrap_or_default(),
        phone: phone.flatten(),
        mobile_phone: mobile.flatten(),
        email: email.flatten(),
        may_pick_up: p.may_pick_up,
        emergency_contact: p.emergency_contact,
    })
}

fn check_health(
    state: &AppState,
    child_id: Uuid,
    h: &HealthRecordInput,
) -> AppResult<HealthRecord> {
    let today = state.clock.now().date_naive();
    let mut e = FieldErrors::default();
    let allergies = e.take(validate::optional_text(
        "allergies",
        h.allergies.as_deref(),
        LONG,
    ));
    let diet = e.take(validate::optional_text("diet", h.diet.as_deref(), SHORT));
    let doctor_name = e.take(validate::optional_text(
        "doctor_name",
        h.doctor_name.as_deref(),
        SHORT,
    ));
    let doctor_phone = e.take(validate::optional_phone_fr(
        "doctor_phone",
        h.doctor_phone.as_deref(),
    ));
    let pai_details = e.take(validate::optional_text(
        "pai_details",
        h.pai_details.as_deref(),
        LONG,
    ));
    let notes = e.take(validate::optional_text("notes", h.notes.as_deref(), LONG));
    if h.vaccinations.len() > 100 {
        e.push(FieldError::new(
            "vaccinations",
            "100 vaccinations au maximum",
        ));
    }
    let mut vaccinations = Vec::new();
    for (i, v) in h.vaccinations.iter().enumerate() {
        let vaccine = e.take(validate::text(
            &format!("vaccinations[{i}].vaccine"),
            &v.vaccine,
            SHORT,
        ));
        let date = e.take(validate::past_date(
            &format!("vaccinations[{i}].date"),
            v.date,
            today,
        ));
        if let (Some(vaccine), Some(date)) = (vaccine, date) {
            vaccinations.push(Vaccination { vaccine, date });
        }
    }
    e.finish(|| HealthRecord {
        child_id,
        allergies: allergies.flatten(),
        diet: diet.flatten(),
        doctor_name: doctor_name.flatten(),
        doctor_phone: doctor_phone.flatten(),
        pai: h.pai,
        pai_details: pai_details.flatten(),
        notes: notes.flatten(),
        vaccinations,
        updated_at: None,
    })
}

fn check_quotient(state: &AppState, q: &Quotient) -> AppResult<Quotient> {
    let mut e = FieldErrors::default();
    if q.value > 100_000 {
        e.push(FieldError::new(
            "value",
            "le quotient familial semble trop élevé",
        ));
    }
    e.take(validate::past_date(
        "date",
        q.date,
        state.clock.now().date_naive(),
    ));
    e.finish(|| q.clone())
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
        children: families.children(family_id).await?,
    })
}

/// The child, if it belongs to this family; otherwise "not found" (never "forbidden":
/// a foreign id must not even be confirmed to exist).
pub async fn child(state: &AppState, family_id: Uuid, child_id: Uuid) -> AppResult<Child> {
    state
        .db
        .families()
        .child(family_id, child_id)
        .await?
        .ok_or(AppError::NotFound)
}

// ---- parents' edits --------------------------------------------------------------

pub async fn update_household(
    state: &AppState,
    family_id: Uuid,
    h: &Household,
) -> AppResult<Family> {
    let h = check_household(h)?;
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
    let g = check_guardian(g)?;
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
    let g = check_guardian(g)?;
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
    let c = check_child(state, c)?;
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
    let c = check_child(state, c)?;
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
    let p = check_person(p)?;
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
    let p = check_person(p)?;
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
    let mut e = FieldErrors::default();
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
    let record = check_health(state, child_id, h)?;
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
    if query.chars().count() > NAME_MAX {
        return Err(FieldError::new("q", "recherche trop longue").into());
    }
    let hits = state.db.families().search(query, status, 50).await?;
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

pub async fn set_quotient(
    state: &AppState,
    family_id: Uuid,
    q: Option<&Quotient>,
) -> AppResult<Family> {
    let q = q.map(|q| check_quotient(state, q)).transpose()?;
    if !state
        .db
        .families()
        .update_quotient(family_id, q.as_ref(), state.clock.now())
        .await?
    {
        return Err(AppError::NotFound);
    }
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
