//! Démarches (the guide's « Mes démarches » menu): the kinds of request a family
//! makes, the fields and proofs each asks (served to the apps, which draw their
//! forms from them), the statuses a request goes through, and the absence's rule
//! (cancelled free before the cancellation deadline; after it, even the same
//! morning, an absence `Ab`, excused `AbE` once a medical certificate is validated
//! within the organisation's delay). Used by the server (authoritative) and the
//! phone (to check a request written offline).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::booking::{AttendanceCode, BookingRules};
use crate::validate::{self, FieldError, Fields, Form};

vocabulary! {
    /// The démarches of the guide's menu (besides « Envoyer un document »).
    RequestKind {
        ReportAbsence => "report_absence", "Signaler une absence";
        ReportMove => "report_move", "Signaler un déménagement";
        PaiRequest => "pai_request", "Demande de PAI";
        NewChild => "new_child", "Déclarer un nouvel enfant";
        SchoolEnrolment => "school_enrolment", "Inscrire un enfant à l'école";
        SituationChange => "situation_change", "Changement de situation familiale";
        EarlyChildhoodInfo => "early_childhood_info", "Demande d'informations petite enfance";
    }
}

vocabulary! {
    /// Where a request stands.
    RequestStatus {
        Submitted => "submitted", "Envoyée";
        InProgress => "in_progress", "En cours de traitement";
        Accepted => "accepted", "Acceptée";
        Refused => "refused", "Refusée";
        Cancelled => "cancelled", "Annulée";
    }
}

vocabulary! {
    /// Why a child is absent.
    AbsenceReason {
        Illness => "illness", "Maladie";
        Family => "family", "Raison familiale";
        Other => "other", "Autre";
    }
}

vocabulary! {
    /// What a field holds, so that an app draws the right input.
    FieldKind {
        /// One line of text.
        Text => "text", "Texte";
        /// A person's first or last name.
        Name => "name", "Nom";
        /// One of the family's children (its id).
        Child => "child", "Enfant";
        /// A French phone number.
        Phone => "phone", "Téléphone";
        /// Free text on several lines.
        LongText => "long_text", "Texte long";
        /// A day (`YYYY-MM-DD`).
        Date => "date", "Date";
        /// One of `choices`.
        Choice => "choice", "Choix";
        /// A postal code (5 digits).
        PostalCode => "postal_code", "Code postal";
        /// A school year, by its first year (2026 or 2026-2027).
        SchoolYear => "school_year", "Année scolaire";
    }
}

vocabulary! {
    /// Where the children live after a separation (the services may then split
    /// the bills between the parents).
    Custody {
        Alternating => "alternating", "Résidence alternée";
        OneParent => "one_parent", "Chez un des parents";
    }
}

vocabulary! {
    /// A proof a request asks for, sent as an attachment (`purpose: attachment`).
    ProofKind {
        MedicalCertificate => "medical_certificate", "Certificat médical";
        ProofOfAddress => "proof_of_address", "Justificatif de domicile";
        MedicalDocuments => "medical_documents", "Documents pour le médecin";
        FamilyRecordBook => "family_record_book", "Livret de famille";
        BirthCertificate => "birth_certificate", "Acte de naissance";
        Judgement => "judgement", "Extrait du jugement ou convention (résidence des enfants, autorité parentale)";
        VaccinationRecord => "vaccination_record", "Vaccinations obligatoires (carnet de santé)";
    }
}

/// One field of a request's form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldSpec {
    /// The key in the request's `fields`.
    pub name: String,
    /// French, as the form shows it.
    pub label: String,
    pub kind: FieldKind,
    pub required: bool,
    /// For a `choice`: the values and their French labels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<ChoiceSpec>,
}

/// One value of a `choice` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChoiceSpec {
    pub value: String,
    pub label: String,
}

/// A proof a request asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProofSpec {
    pub kind: ProofKind,
    pub label: String,
    /// Needed to submit (else it may come later, as the medical certificate of an
    /// absence within the organisation's delay).
    pub required: bool,
}

/// A kind of request as the apps draw it (`GET /api/v1/request-kinds`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestSpec {
    pub kind: RequestKind,
    pub label: String,
    /// One sentence saying what happens once the services accept it.
    pub description: String,
    /// The request is about one of the family's children (`child_id`).
    pub child_required: bool,
    /// Its fields hold health data (RGPD art. 9): never in a push, a mail, a log
    /// line or the change feed; read by agents on demand, audited.
    pub health: bool,
    pub fields: Vec<FieldSpec>,
    pub proofs: Vec<ProofSpec>,
}

fn field(name: &str, label: &str, kind: FieldKind, required: bool) -> FieldSpec {
    FieldSpec {
        name: name.to_owned(),
        label: label.to_owned(),
        kind,
        required,
        choices: Vec::new(),
    }
}

fn choice<T: Copy>(
    name: &str,
    label: &str,
    required: bool,
    all: &[T],
    wire: impl Fn(T) -> (&'static str, &'static str),
) -> FieldSpec {
    FieldSpec {
        choices: all
            .iter()
            .map(|v| {
                let (value, label) = wire(*v);
                ChoiceSpec {
                    value: value.to_owned(),
                    label: label.to_owned(),
                }
            })
            .collect(),
        ..field(name, label, FieldKind::Choice, required)
    }
}

fn proof(kind: ProofKind, required: bool) -> ProofSpec {
    ProofSpec {
        kind,
        label: kind.label_fr().to_owned(),
        required,
    }
}

/// What each kind asks and does (issue 13; the guide's « Mes démarches »).
pub fn spec(kind: RequestKind) -> RequestSpec {
    use FieldKind as F;
    let child = || field("child_id", "Enfant", F::Child, true);
    let level = |name: &str, label: &str| {
        choice(name, label, true, crate::dossier::SchoolLevel::ALL, |l| {
            (l.as_str(), l.label_fr())
        })
    };
    let (description, child_required, health, fields, proofs) = match kind {
        RequestKind::ReportAbsence => (
            "Avant la date limite d'annulation, les journées réservées sont annulées sans frais ; \
             après, y compris le jour même, elles sont notées absentes, et ne sont pas facturées \
             si un certificat médical envoyé sous 8 jours est validé.",
            true,
            false,
            vec![
                child(),
                field("from", "Du", F::Date, true),
                field("to", "Jusqu'au (inclus)", F::Date, true),
                choice("reason", "Motif", true, AbsenceReason::ALL, |r| {
                    (r.as_str(), r.label_fr())
                }),
                field(
                    "comment",
                    "Précisions (n'indiquez pas la maladie)",
                    F::LongText,
                    false,
                ),
            ],
            vec![proof(ProofKind::MedicalCertificate, false)],
        ),
        RequestKind::ReportMove => (
            "Une fois la demande acceptée, l'adresse du dossier change à la date indiquée et \
             le tarif applicable est revu.",
            false,
            false,
            vec![
                field("line1", "Adresse", F::Text, true),
                field("line2", "Complément d'adresse", F::Text, false),
                field("postal_code", "Code postal", F::PostalCode, true),
                field("city", "Commune", F::Text, true),
                field("phone", "Téléphone du domicile", F::Phone, false),
                field("moving_on", "Date du déménagement", F::Date, true),
            ],
            vec![proof(ProofKind::ProofOfAddress, true)],
        ),
        RequestKind::PaiRequest => (
            "Une fois la demande acceptée, la fiche santé de l'enfant indique son PAI et sa \
             date de fin.",
            true,
            true,
            vec![
                child(),
                field(
                    "condition",
                    "Problème de santé (avec vos mots)",
                    F::LongText,
                    true,
                ),
                field(
                    "services",
                    "Temps concernés (cantine, périscolaire, centre de loisirs)",
                    F::Text,
                    false,
                ),
            ],
            vec![proof(ProofKind::MedicalDocuments, false)],
        ),
        RequestKind::NewChild => (
            "Une fois la demande acceptée, l'enfant est ajouté à votre dossier.",
            false,
            false,
            vec![
                field("first_name", "Prénom", F::Name, true),
                field("last_name", "Nom", F::Name, true),
                field("birth_date", "Date de naissance", F::Date, true),
                level("school_level", "Niveau scolaire"),
            ],
            vec![
                proof(ProofKind::BirthCertificate, false),
                proof(ProofKind::FamilyRecordBook, false),
            ],
        ),
        RequestKind::SchoolEnrolment => (
            "Une fois la demande acceptée, l'école et le niveau de l'enfant pour l'année sont \
             enregistrés.",
            true,
            false,
            vec![
                child(),
                field("school_year", "Année scolaire", F::SchoolYear, true),
                field("school", "École souhaitée", F::Text, true),
                level("school_level", "Niveau"),
                field(
                    "exemption_reason",
                    "Motif de dérogation (école hors secteur)",
                    F::LongText,
                    false,
                ),
            ],
            vec![
                proof(ProofKind::ProofOfAddress, true),
                proof(ProofKind::FamilyRecordBook, true),
                proof(ProofKind::VaccinationRecord, true),
            ],
        ),
        RequestKind::SituationChange => (
            "Une fois la demande acceptée, votre dossier est mis à jour ; après une séparation, \
             les services peuvent répartir les factures entre les parents.",
            false,
            false,
            vec![
                choice(
                    "situation",
                    "Nouvelle situation",
                    true,
                    crate::dossier::FamilySituation::ALL,
                    |s| (s.as_str(), s.label_fr()),
                ),
                field("since", "Depuis le", F::Date, true),
                choice(
                    "custody",
                    "Résidence des enfants",
                    false,
                    Custody::ALL,
                    |c| (c.as_str(), c.label_fr()),
                ),
                field("comment", "Précisions", F::LongText, false),
            ],
            vec![proof(ProofKind::Judgement, false)],
        ),
        RequestKind::EarlyChildhoodInfo => (
            "Le service petite enfance vous répond dans la messagerie de cette demande.",
            false,
            false,
            vec![
                field("subject", "Objet", F::Text, true),
                field("question", "Votre question", F::LongText, true),
                field(
                    "wished_from",
                    "Accueil souhaité à partir du",
                    F::Date,
                    false,
                ),
            ],
            Vec::new(),
        ),
    };
    RequestSpec {
        kind,
        label: kind.label_fr().to_owned(),
        description: description.to_owned(),
        child_required,
        health,
        fields,
        proofs,
    }
}

/// Every kind, in the guide's order.
pub fn specs() -> Vec<RequestSpec> {
    RequestKind::ALL.iter().map(|k| spec(*k)).collect()
}

/// A request's fields as checked: each named field's text, trimmed and in NFC.
pub type CheckedFields = std::collections::BTreeMap<String, String>;

/// Checks a request's `fields` against its kind's spec (`today` in Europe/Paris):
/// required ones present; dates within the services' years; names without
/// invisible characters; choices among their values; postal codes of five digits
/// (spaces dropped); phones French; school years this one, the one before or the
/// next (« 2026 » or « 2026-2027 »); a child's id well formed (the server checks it
/// is the family's); no field the kind does not know. Values are returned trimmed,
/// in NFC, dates as `YYYY-MM-DD`, school years as their first year. Errors name
/// `fields.<name>`.
pub fn check_fields(
    kind: RequestKind,
    fields: &std::collections::BTreeMap<String, String>,
    today: NaiveDate,
) -> Form<CheckedFields> {
    let spec = spec(kind);
    let mut errors = Fields::default();
    let mut out = CheckedFields::new();
    for name in fields.keys() {
        if !spec.fields.iter().any(|f| &f.name == name) {
            errors.push(FieldError::new(
                &format!("fields.{name}"),
                "ce champ n'existe pas pour cette démarche",
            ));
        }
    }
    for f in &spec.fields {
        let path = format!("fields.{}", f.name);
        let raw = fields
            .get(&f.name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty());
        let Some(raw) = raw else {
            if f.required {
                errors.push(FieldError::new(&path, "ce champ est obligatoire"));
            }
            continue;
        };
        if let Some(value) = errors.take(check_value(f, &path, raw, today)) {
            out.insert(f.name.clone(), value);
        }
    }
    let date = |name: &str| out.get(name).and_then(|d| d.parse::<NaiveDate>().ok());
    if let (Some(from), Some(to)) = (date("from"), date("to")) {
        if to < from {
            errors.push(FieldError::new(
                "fields.to",
                "la date de fin précède la date de début",
            ));
        } else if (to - from).num_days() >= MAX_ABSENCE_DAYS {
            errors.push(FieldError::new(
                "fields.to",
                format!("{MAX_ABSENCE_DAYS} jours au plus par demande"),
            ));
        }
    }
    if let Some(born) = date("birth_date") {
        errors.take(validate::child_birth_date("fields.birth_date", born, today));
    }
    errors.finish(|| out)
}

/// The longest absence one request reports (a term's holidays and more: longer is
/// a slip of the keyboard).
pub const MAX_ABSENCE_DAYS: i64 = 62;

fn check_value(
    f: &FieldSpec,
    path: &str,
    raw: &str,
    today: NaiveDate,
) -> Result<String, FieldError> {
    match f.kind {
        FieldKind::Text => validate::text(path, raw, 200),
        FieldKind::Name => validate::name(path, raw),
        FieldKind::LongText => validate::text(path, raw, 5_000),
        FieldKind::Date => raw
            .parse::<NaiveDate>()
            .map_err(|_| FieldError::new(path, "date attendue au format AAAA-MM-JJ"))
            .and_then(|d| validate::service_date(path, d))
            .map(|d| d.to_string()),
        FieldKind::Child => raw
            .parse::<uuid::Uuid>()
            .map(|id| id.to_string())
            .map_err(|_| FieldError::new(path, "enfant inconnu")),
        FieldKind::Phone => validate::phone_fr(path, raw),
        FieldKind::Choice => f
            .choices
            .iter()
            .find(|c| c.value == raw)
            .map(|c| c.value.clone())
            .ok_or_else(|| {
                let all: Vec<&str> = f.choices.iter().map(|c| c.label.as_str()).collect();
                FieldError::new(path, format!("choisissez parmi : {}", all.join(", ")))
            }),
        FieldKind::PostalCode => {
            let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
            validate::postal_code(path, &compact)
        }
        FieldKind::SchoolYear => {
            let first = match raw.split_once('-') {
                Some((a, b)) => a
                    .trim()
                    .parse::<i32>()
                    .ok()
                    .filter(|a| b.trim().parse::<i32>().ok() == Some(a + 1)),
                None => raw.parse::<i32>().ok(),
            };
            let first =
                first.ok_or_else(|| FieldError::new(path, "année attendue (2026 ou 2026-2027)"))?;
            crate::validate::school_year(path, Some(first), today).map(|y| y.to_string())
        }
    }
}

/// What the services may do with a request, and the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestAction {
    /// An agent takes it up (or asks a question in its thread).
    Start,
    Accept,
    Refuse,
    /// The family withdraws it.
    Cancel,
}

/// The status after `action`, or `None` when it is not possible: a decided or
/// cancelled request changes no more; a family cancels only what no agent decided.
pub fn transition(status: RequestStatus, action: RequestAction) -> Option<RequestStatus> {
    use RequestAction as A;
    use RequestStatus as S;
    match (status, action) {
        (S::Submitted, A::Start) => Some(S::InProgress),
        (S::Submitted | S::InProgress, A::Accept) => Some(S::Accepted),
        (S::Submitted | S::InProgress, A::Refuse) => Some(S::Refused),
        (S::Submitted | S::InProgress, A::Cancel) => Some(S::Cancelled),
        _ => None,
    }
}

/// What an absence does to one booked day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbsenceEffect {
    /// Before the free-cancellation deadline: cancelled, not billed.
    CancelFree,
    /// After it (even the same morning): absent (`Ab`), billed unless a medical
    /// certificate is validated in time, which makes it `AbE`.
    MarkAbsent,
}

/// The absence's rule for a booked day, reported at `now` (when the server
/// received it, not when an agent reads it): cancelled free while cancelling would
/// be (the booking rules' own deadline and a promoted family's grace,
/// [`BookingRules::cancellation_is_late`]: one decision for a cancellation and an
/// absence), marked absent after.
pub fn absence_effect(
    rules: &BookingRules,
    session: NaiveDate,
    now: DateTime<Utc>,
    free_until: Option<DateTime<Utc>>,
) -> AbsenceEffect {
    if rules.cancellation_is_late(session, now, free_until) {
        AbsenceEffect::MarkAbsent
    } else {
        AbsenceEffect::CancelFree
    }
}

/// The organisation's delay for a medical certificate, in days, by default.
pub const CERTIFICATE_DELAY_DAYS: i64 = 8;

/// Where the medical certificate of an absence stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateState {
    /// None sent.
    Missing,
    /// Sent on that day, not yet decided.
    Pending {
        sent_on: NaiveDate,
    },
    Validated {
        sent_on: NaiveDate,
    },
    Refused,
}

/// A day marked absent: `AbE` (not billed) once a certificate sent within
/// `delay_days` after the absence's last day is validated; `Ab` (billed)
/// otherwise, a refused or late certificate included.
pub fn absence_code(
    certificate: CertificateState,
    last_day: NaiveDate,
    delay_days: i64,
) -> AttendanceCode {
    match certificate {
        CertificateState::Validated { sent_on }
            if certificate_in_time(last_day, sent_on, delay_days) =>
        {
            AttendanceCode::Excused
        }
        _ => AttendanceCode::Absent,
    }
}

/// Whether a medical certificate sent on `sent_on` still excuses an absence that
/// ended on `last_day` (within `delay_days` after it, Europe/Paris days).
pub fn certificate_in_time(last_day: NaiveDate, sent_on: NaiveDate, delay_days: i64) -> bool {
    last_day
        .checked_add_signed(chrono::Duration::days(delay_days))
        .is_none_or(|limit| sent_on <= limit)
}

/// A refusal's reason: said to the family, so required (one line or a few).
pub fn refusal_reason(raw: &str) -> validate::Checked<String> {
    validate::text("reason", raw, 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const LUC: &str = "0190a0a0-0000-7000-8000-000000000001";

    fn map(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    #[test]
    fn every_kind_has_a_french_form_and_its_proofs() {
        let all = specs();
        assert_eq!(all.len(), 7);
        for s in &all {
            assert!(
                !s.label.is_empty() && !s.description.is_empty(),
                "{:?}",
                s.kind
            );
            assert!(s.fields.iter().any(|f| f.required), "{:?}", s.kind);
            assert_eq!(
                s.child_required,
                s.fields
                    .iter()
                    .any(|f| f.kind == FieldKind::Child && f.required),
                "{:?}",
                s.kind
            );
            for f in &s.fields {
                assert_eq!(
                    f.kind == FieldKind::Choice,
                    !f.choices.is_empty(),
                    "{}",
                    f.name
                );
            }
        }
        let absence = spec(RequestKind::ReportAbsence);
        assert_eq!(
            absence.proofs,
            vec![proof(ProofKind::MedicalCertificate, false)]
        );
        assert!(spec(RequestKind::ReportMove).proofs[0].required);
        // Health data is flagged where it is asked, and only there.
        let health: Vec<RequestKind> = all.iter().filter(|s| s.health).map(|s| s.kind).collect();
        assert_eq!(health, vec![RequestKind::PaiRequest]);
    }

    #[test]
    fn fields_are_checked_against_the_kind() {
        let ok = check_fields(
            RequestKind::ReportAbsence,
            &map(&[
                ("child_id", LUC),
                ("from", "2026-12-02"),
                ("to", " 2026-12-04 "),
                ("reason", "illness"),
            ]),
            today(),
        )
        .unwrap();
        assert_eq!(ok["to"], "2026-12-04");
        let errors = check_fields(
            RequestKind::ReportAbsence,
            &map(&[
                ("child_id", LUC),
                ("from", "2026-12-04"),
                ("to", "2026-12-02"),
                ("reason", "grippe"),
                ("x", "1"),
            ]),
            today(),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["fields.x", "fields.reason", "fields.to"]);
        assert!(
            errors[1].message.contains("Maladie"),
            "French labels, not wire values"
        );
        let far = check_fields(
            RequestKind::ReportAbsence,
            &map(&[
                ("child_id", LUC),
                ("from", "+262142-01-01"),
                ("to", "2026-12-02"),
                ("reason", "illness"),
            ]),
            today(),
        )
        .unwrap_err();
        assert_eq!(far[0].field, "fields.from");
        let missing = check_fields(
            RequestKind::ReportMove,
            &map(&[("postal_code", "3336")]),
            today(),
        )
        .unwrap_err();
        assert!(missing.iter().any(|e| e.field == "fields.line1"));
        assert!(missing.iter().any(|e| e.field == "fields.postal_code"));
        let spaced = check_fields(
            RequestKind::ReportMove,
            &map(&[
                ("line1", "2 rue du Port"),
                ("postal_code", "33 360"),
                ("city", "Latresne"),
                ("moving_on", "2027-01-05"),
            ]),
            today(),
        )
        .unwrap();
        assert_eq!(spaced["postal_code"], "33360");
    }

    #[test]
    fn school_years_and_children_are_as_parents_type_them() {
        let enrol = |year: &str| {
            check_fields(
                RequestKind::SchoolEnrolment,
                &map(&[
                    ("child_id", LUC),
                    ("school_year", year),
                    ("school", "École du Bourg"),
                    ("school_level", "cp"),
                ]),
                today(),
            )
        };
        assert_eq!(enrol("2027-2028").unwrap()["school_year"], "2027");
        assert_eq!(enrol("2026").unwrap()["school_year"], "2026");
        assert_eq!(enrol("26").unwrap_err()[0].field, "fields.school_year");
        assert_eq!(
            enrol("2027-2029").unwrap_err()[0].field,
            "fields.school_year"
        );
        assert_eq!(enrol("2020").unwrap_err()[0].field, "fields.school_year");
        let born = |date: &str| {
            check_fields(
                RequestKind::NewChild,
                &map(&[
                    ("first_name", "Zoé"),
                    ("last_name", "TESTBO"),
                    ("birth_date", date),
                    ("school_level", "non_scolarise"),
                ]),
                today(),
            )
        };
        assert!(born("2026-10-01").is_ok());
        assert_eq!(
            born("2027-01-01").unwrap_err()[0].field,
            "fields.birth_date"
        );
        let hidden = check_fields(
            RequestKind::NewChild,
            &map(&[
                ("first_name", "Zo\u{200B}é"),
                ("last_name", "TESTBO"),
                ("birth_date", "2026-10-01"),
                ("school_level", "non_scolarise"),
            ]),
            today(),
        );
        assert_eq!(hidden.unwrap_err()[0].field, "fields.first_name");
    }

    #[test]
    fn a_decided_request_changes_no_more() {
        use RequestAction as A;
        use RequestStatus as S;
        assert_eq!(transition(S::Submitted, A::Start), Some(S::InProgress));
        assert_eq!(transition(S::InProgress, A::Accept), Some(S::Accepted));
        assert_eq!(transition(S::Submitted, A::Cancel), Some(S::Cancelled));
        for done in [S::Accepted, S::Refused, S::Cancelled] {
            for action in [A::Start, A::Accept, A::Refuse, A::Cancel] {
                assert_eq!(transition(done, action), None, "{done:?} {action:?}");
            }
        }
        assert_eq!(refusal_reason("  ").unwrap_err().field, "reason");
    }

    #[test]
    fn an_absence_after_the_deadline_even_the_same_morning_is_marked_absent() {
        let rules = BookingRules::days_before(1, 2);
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let deadline = rules.cancellation_deadline(day);
        let before = deadline - chrono::Duration::minutes(1);
        assert_eq!(
            absence_effect(&rules, day, before, None),
            AbsenceEffect::CancelFree
        );
        // The same as a cancellation at that instant: one decision.
        assert_eq!(
            absence_effect(&rules, day, deadline, None) == AbsenceEffect::MarkAbsent,
            rules.cancellation_is_late(day, deadline, None)
        );
        let same_morning = Utc.with_ymd_and_hms(2026, 12, 2, 6, 30, 0).unwrap();
        assert_eq!(
            absence_effect(&rules, day, same_morning, None),
            AbsenceEffect::MarkAbsent
        );
        // A family promoted from the waitlist keeps its grace.
        let grace = Some(same_morning + chrono::Duration::hours(1));
        assert_eq!(
            absence_effect(&rules, day, same_morning, grace),
            AbsenceEffect::CancelFree
        );
    }

    #[test]
    fn a_validated_certificate_in_time_excuses_the_absence() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let on = |d: i64| day + chrono::Duration::days(d);
        let code = |c| absence_code(c, day, CERTIFICATE_DELAY_DAYS);
        assert_eq!(
            code(CertificateState::Validated { sent_on: on(8) }),
            AttendanceCode::Excused
        );
        assert_eq!(
            code(CertificateState::Validated { sent_on: on(9) }),
            AttendanceCode::Absent,
            "late"
        );
        assert_eq!(
            code(CertificateState::Pending { sent_on: on(0) }),
            AttendanceCode::Absent
        );
        assert_eq!(code(CertificateState::Refused), AttendanceCode::Absent);
        assert_eq!(code(CertificateState::Missing), AttendanceCode::Absent);
        assert!(
            certificate_in_time(NaiveDate::MAX, NaiveDate::MAX, 8),
            "no overflow"
        );
    }
}
