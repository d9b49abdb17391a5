//! The forms of the family dossier, checked as a whole: each answers the normalised
//! value, or every field to fix (so a screen shows them all at once). The server
//! checks with them before it stores; the phone can say the same before sending.

use chrono::NaiveDate;
use uuid::Uuid;

use super::*;
use crate::api::{
    Address, AuthorizedPersonInput, ChildInput, GuardianInput, HealthRecord, HealthRecordInput,
    Household, Quotient, Vaccination,
};
use crate::dossier::SchoolYear;

const SHORT: usize = 200;
const LONG: usize = 2000;

/// The household card ("Informations du foyer"): normalised, or every field to fix.
pub fn household(h: &Household) -> Form<Household> {
    let mut e = Fields::default();
    let line1 = e.take(text("address.line1", &h.address.line1, SHORT));
    let line2 = e.take(optional_text(
        "address.line2",
        h.address.line2.as_deref(),
        SHORT,
    ));
    let postal_code = e.take(postal_code("address.postal_code", &h.address.postal_code));
    let city = e.take(text("address.city", &h.address.city, NAME_MAX));
    let phone = e.take(optional_phone_fr("phone", h.phone.as_deref()));
    if h.dependent_children.is_some_and(|n| n > 20) {
        e.push(FieldError::new(
            "dependent_children",
            "20 enfants à charge au maximum",
        ));
    }
    e.finish(|| Household {
        address: Address {
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

const NAME_MAX: usize = NAME_MAX_CHARS;

/// An e-mail that may be left empty.
pub fn optional_email(field: &str, raw: Option<&str>) -> Checked<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => email(field, v).map(Some),
    }
}

/// A guardian ("Parent 1", "Parent 2").
pub fn guardian(g: &GuardianInput) -> Form<GuardianInput> {
    let mut e = Fields::default();
    let first_name = e.take(name("first_name", &g.first_name));
    let last_name = e.take(name("last_name", &g.last_name));
    let email = e.take(optional_email("email", g.email.as_deref()));
    let mobile = e.take(optional_phone_fr("mobile_phone", g.mobile_phone.as_deref()));
    let work = e.take(optional_phone_fr("work_phone", g.work_phone.as_deref()));
    e.finish(|| GuardianInput {
        first_name: first_name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default(),
        email: email.flatten(),
        mobile_phone: mobile.flatten(),
        work_phone: work.flatten(),
    })
}

/// A child; `today` in Paris (a birth date may not be in the future).
pub fn child(c: &ChildInput, today: NaiveDate) -> Form<ChildInput> {
    let mut e = Fields::default();
    let first_name = e.take(name("first_name", &c.first_name));
    let last_name = e.take(name("last_name", &c.last_name));
    let birth_date = e.take(child_birth_date("birth_date", c.birth_date, today));
    let school = e.take(optional_text("school", c.school.as_deref(), SHORT));
    let school_year = e.take(school_year("school_year", c.school_year, today));
    e.finish(|| ChildInput {
        first_name: first_name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default().to_uppercase(),
        birth_date: birth_date.unwrap_or(c.birth_date),
        school_level: c.school_level,
        school_year: Some(school_year.unwrap_or(SchoolYear::of(today).0)),
        school: school.flatten(),
    })
}

/// The school year a level is declared for: this one (the default), the one before
/// (to correct it) or the next (a repeated year said in advance).
pub fn school_year(field: &str, year: Option<i32>, today: NaiveDate) -> Checked<i32> {
    let this = SchoolYear::of(today).0;
    match year {
        None => Ok(this),
        Some(y) if (this - 1..=this + 1).contains(&y) => Ok(y),
        Some(_) => Err(FieldError::new(
            field,
            format!(
                "l'année scolaire doit être {}, {} ou {}",
                SchoolYear(this - 1).label_fr(),
                SchoolYear(this).label_fr(),
                SchoolYear(this + 1).label_fr()
            ),
        )),
    }
}

/// An authorized person: one who picks the child up or is called in an
/// emergency needs a phone number.
pub fn authorized_person(p: &AuthorizedPersonInput) -> Form<AuthorizedPersonInput> {
    let mut e = Fields::default();
    let first_name = e.take(name("first_name", &p.first_name));
    let last_name = e.take(name("last_name", &p.last_name));
    let quality = e.take(text("quality", &p.quality, NAME_MAX));
    let phone = e.take(optional_phone_fr("phone", p.phone.as_deref()));
    let mobile = e.take(optional_phone_fr("mobile_phone", p.mobile_phone.as_deref()));
    let email = e.take(optional_email("email", p.email.as_deref()));
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

/// A child's health record (sensitive: what the services need, nothing more);
/// `today` in Paris (a vaccination is in the past).
pub fn health_record(
    child_id: Uuid,
    h: &HealthRecordInput,
    today: NaiveDate,
) -> Form<HealthRecord> {
    let mut e = Fields::default();
    let allergies = e.take(optional_text("allergies", h.allergies.as_deref(), LONG));
    let diet = e.take(optional_text("diet", h.diet.as_deref(), SHORT));
    let doctor_name = e.take(optional_text(
        "doctor_name",
        h.doctor_name.as_deref(),
        SHORT,
    ));
    let doctor_phone = e.take(optional_phone_fr("doctor_phone", h.doctor_phone.as_deref()));
    let pai_details = e.take(optional_text("pai_details", h.pai_details.as_deref(), LONG));
    let notes = e.take(optional_text("notes", h.notes.as_deref(), LONG));
    if h.vaccinations.len() > 100 {
        e.push(FieldError::new(
            "vaccinations",
            "100 vaccinations au maximum",
        ));
    }
    let mut vaccinations = Vec::new();
    for (i, v) in h.vaccinations.iter().enumerate() {
        let vaccine = e.take(text(
            &format!("vaccinations[{i}].vaccine"),
            &v.vaccine,
            SHORT,
        ));
        let date = e.take(past_date(&format!("vaccinations[{i}].date"), v.date, today));
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

/// A quotient familial entered by an agent; `today` in Paris.
pub fn quotient(q: &Quotient, today: NaiveDate) -> Form<Quotient> {
    let mut e = Fields::default();
    if q.value > 100_000 {
        e.push(FieldError::new(
            "value",
            "le quotient familial semble trop élevé",
        ));
    }
    e.take(past_date("date", q.date, today));
    e.finish(|| q.clone())
}

/// Days a deadline may lie before its session: a year (366). Beyond, the rule
/// would close or open every session for ever.
pub const MAX_RULE_DAYS: u32 = 366;

/// An activity's eligibility: each bound possible, each minimum at most its
/// maximum (an activity for 12 to 3 year olds admits nobody).
pub fn eligibility(field: &str, e: &crate::booking::Eligibility) -> Form<()> {
    let mut fields = Fields::default();
    for age in [e.min_age, e.max_age].into_iter().flatten() {
        if age > 25 {
            fields.push(FieldError::new(field, "un âge de 0 à 25 ans"));
        }
    }
    if let (Some(min), Some(max)) = (e.min_age, e.max_age)
        && min > max
    {
        fields.push(FieldError::new(
            &format!("{field}.min_age"),
            "l'âge minimum dépasse l'âge maximum",
        ));
    }
    if let (Some(min), Some(max)) = (e.min_level, e.max_level)
        && min.rank() > max.rank()
    {
        fields.push(FieldError::new(
            &format!("{field}.min_level"),
            "le niveau minimum est après le niveau maximum",
        ));
    }
    fields.finish(|| ())
}

/// An activity's booking rules: every deadline within [`MAX_RULE_DAYS`] of its
/// session, a day of the month from 1 to 31.
pub fn booking_rules(field: &str, r: &crate::booking::BookingRules) -> Form<()> {
    use crate::booking::{Opening, TimeRule};
    let mut fields = Fields::default();
    let mut check = |name: &str, rule: &TimeRule| match rule {
        TimeRule::DaysBefore { days, .. } if *days > MAX_RULE_DAYS => fields.push(FieldError::new(
            &format!("{field}.{name}.days"),
            format!("{MAX_RULE_DAYS} jours au plus"),
        )),
        TimeRule::DayOfPreviousMonth { day, .. } if !(1..=31).contains(day) => fields.push(
            FieldError::new(&format!("{field}.{name}.day"), "un jour de 1 à 31"),
        ),
        _ => {}
    };
    check("booking_deadline", &r.booking_deadline);
    check("cancellation_deadline", &r.cancellation_deadline);
    if let Opening::Relative { rule } = &r.opening {
        check("opening.rule", rule);
    }
    fields.finish(|| ())
}
