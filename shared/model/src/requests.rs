//! Démarches (the guide's « Mes démarches » menu): the kinds of request a family
//! makes, the fields and proofs each asks (served to the apps, which draw their
//! forms from them), the statuses a request goes through, and the absence's rule
//! (cancelled free before the cancellation deadline; after it, even the same
//! morning, an absence `Ab`, excused `AbE` once a medical certificate is validated
//! within the organisation's delay). Used by the server (authoritative) and the
//! phone (to check a request written offline).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

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
        /// Free text on several lines.
        LongText => "long_text", "Texte long";
        /// A day (`YYYY-MM-DD`).
        Date => "date", "Date";
        /// One of `choices`.
        Choice => "choice", "Choix";
        /// A postal code (5 digits).
        PostalCode => "postal_code", "Code postal";
        /// A school year, by its first year (2026 for 2026-2027).
        SchoolYear => "school_year", "Année scolaire";
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
        Judgement => "judgement", "Jugement";
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
        ..field(name, label, FieldKind::Choice, true)
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
    let (description, child_required, fields, proofs) = match kind {
        RequestKind::ReportAbsence => (
            "Avant la date limite d'annulation, les journées sont annulées sans frais ; après, \
             même le matin même, elles sont notées absentes et ne sont pas facturées si un \
             certificat médical est validé.",
            true,
            vec![
                field("from", "Du", F::Date, true),
                field("to", "Au (inclus)", F::Date, true),
                choice("reason", "Motif", AbsenceReason::ALL, |r| {
                    (r.as_str(), r.label_fr())
                }),
                field("comment", "Précisions", F::LongText, false),
            ],
            vec![proof(ProofKind::MedicalCertificate, false)],
        ),
        RequestKind::ReportMove => (
            "Une fois acceptée, l'adresse du dossier change à la date indiquée (et les tarifs \
             des résidents suivent).",
            false,
            vec![
                field("address_line1", "Adresse", F::Text, true),
                field("address_line2", "Complément d'adresse", F::Text, false),
                field("postal_code", "Code postal", F::PostalCode, true),
                field("city", "Commune", F::Text, true),
                field("moving_on", "Date du déménagement", F::Date, true),
            ],
            vec![proof(ProofKind::ProofOfAddress, true)],
        ),
        RequestKind::PaiRequest => (
            "Une fois acceptée, la fiche santé de l'enfant indique son PAI et sa date de fin.",
            true,
            vec![field(
                "condition",
                "Le problème de santé, avec vos mots",
                F::LongText,
                true,
            )],
            vec![proof(ProofKind::MedicalDocuments, false)],
        ),
        RequestKind::NewChild => (
            "Une fois acceptée, l'enfant est ajouté à votre dossier.",
            false,
            vec![
                field("first_name", "Prénom", F::Text, true),
                field("last_name", "Nom", F::Text, true),
                field("birth_date", "Date de naissance", F::Date, true),
                choice(
                    "school_level",
                    "Niveau scolaire",
                    crate::dossier::SchoolLevel::ALL,
                    |l| (l.as_str(), l.label_fr()),
                ),
            ],
            vec![
                proof(ProofKind::BirthCertificate, false),
                proof(ProofKind::FamilyRecordBook, false),
            ],
        ),
        RequestKind::SchoolEnrolment => (
            "Une fois acceptée, l'école et le niveau de l'enfant pour l'année sont enregistrés.",
            true,
            vec![
                field("school_year", "Année scolaire", F::SchoolYear, true),
                field("school", "École souhaitée", F::Text, true),
                choice(
                    "school_level",
                    "Niveau",
                    crate::dossier::SchoolLevel::ALL,
                    |l| (l.as_str(), l.label_fr()),
                ),
            ],
            vec![
                proof(ProofKind::ProofOfAddress, true),
                proof(ProofKind::FamilyRecordBook, true),
            ],
        ),
        RequestKind::SituationChange => (
            "Une fois acceptée, votre dossier suit votre nouvelle situation (et, pour une \
             séparation, les services peuvent répartir les factures entre les parents).",
            false,
            vec![
                choice(
                    "situation",
                    "Nouvelle situation",
                    crate::dossier::FamilySituation::ALL,
                    |s| (s.as_str(), s.label_fr()),
                ),
                field("since", "Depuis le", F::Date, true),
                field("comment", "Précisions", F::LongText, false),
            ],
            vec![proof(ProofKind::Judgement, false)],
        ),
        RequestKind::EarlyChildhoodInfo => (
            "Le service petite enfance vous répond dans la conversation de la demande.",
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

/// Checks a request's `fields` against its kind's spec: required ones present,
/// dates, choices, postal codes and school years well formed, no field the kind
/// does not know. Errors name `fields.<name>`.
pub fn check_fields(
    kind: RequestKind,
    fields: &std::collections::BTreeMap<String, String>,
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
        let checked = match f.kind {
            FieldKind::Text => validate::text(&path, raw, 200),
            FieldKind::LongText => validate::text(&path, raw, 5_000),
            FieldKind::Date => raw
                .parse::<NaiveDate>()
                .map(|d| d.to_string())
                .map_err(|_| FieldError::new(&path, "date attendue au format AAAA-MM-JJ")),
            FieldKind::Choice => f
                .choices
                .iter()
                .find(|c| c.value == raw)
                .map(|c| c.value.clone())
                .ok_or_else(|| {
                    let all: Vec<&str> = f.choices.iter().map(|c| c.value.as_str()).collect();
                    FieldError::new(&path, format!("valeurs possibles : {}", all.join(", ")))
                }),
            FieldKind::PostalCode => validate::postal_code(&path, raw),
            FieldKind::SchoolYear => raw
                .parse::<i32>()
                .ok()
                .filter(|y| (2000..=2100).contains(y))
                .map(|y| y.to_string())
                .ok_or_else(|| FieldError::new(&path, "année attendue (2026 pour 2026-2027)")),
        };
        if let Some(value) = errors.take(checked) {
            out.insert(f.name.clone(), value);
        }
    }
    if kind == RequestKind::ReportAbsence
        && let (Some(from), Some(to)) = (out.get("from"), out.get("to"))
        && to < from
    {
        errors.push(FieldError::new("fields.to", "la fin précède le début"));
    }
    errors.finish(|| out)
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

/// The absence's rule for a booked day: cancelled free while `now` is before the
/// day's free-cancellation deadline, marked absent after.
pub fn absence_effect(now: DateTime<Utc>, free_cancel_until: DateTime<Utc>) -> AbsenceEffect {
    if now <= free_cancel_until {
        AbsenceEffect::CancelFree
    } else {
        AbsenceEffect::MarkAbsent
    }
}

/// The organisation's delay for a medical certificate, in days, by default.
pub const CERTIFICATE_DELAY_DAYS: i64 = 8;

/// Whether a medical certificate sent on `sent_on` still excuses an absence that
/// ended on `last_day` (within `delay_days` after it, Europe/Paris days).
pub fn certificate_in_time(last_day: NaiveDate, sent_on: NaiveDate, delay_days: i64) -> bool {
    sent_on <= last_day + chrono::Duration::days(delay_days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn map(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
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
        assert!(absence.child_required);
        assert_eq!(
            absence.proofs,
            vec![proof(ProofKind::MedicalCertificate, false)]
        );
        assert!(spec(RequestKind::ReportMove).proofs[0].required);
    }

    #[test]
    fn fields_are_checked_against_the_kind() {
        let ok = check_fields(
            RequestKind::ReportAbsence,
            &map(&[
                ("from", "2026-12-02"),
                ("to", " 2026-12-04 "),
                ("reason", "illness"),
            ]),
        )
        .unwrap();
        assert_eq!(ok["to"], "2026-12-04");
        let errors = check_fields(
            RequestKind::ReportAbsence,
            &map(&[
                ("from", "2026-12-04"),
                ("to", "2026-12-02"),
                ("reason", "grippe"),
                ("x", "1"),
            ]),
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["fields.x", "fields.reason", "fields.to"]);
        let missing =
            check_fields(RequestKind::ReportMove, &map(&[("postal_code", "3336")])).unwrap_err();
        assert!(missing.iter().any(|e| e.field == "fields.address_line1"));
        assert!(missing.iter().any(|e| e.field == "fields.postal_code"));
        let year = check_fields(
            RequestKind::SchoolEnrolment,
            &map(&[
                ("school_year", "26"),
                ("school", "École du Bourg"),
                ("school_level", "cp"),
            ]),
        )
        .unwrap_err();
        assert_eq!(year[0].field, "fields.school_year");
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
    }

    #[test]
    fn an_absence_after_the_deadline_even_the_same_morning_is_marked_absent() {
        let deadline = Utc.with_ymd_and_hms(2026, 12, 1, 22, 59, 0).unwrap();
        assert_eq!(
            absence_effect(deadline, deadline),
            AbsenceEffect::CancelFree
        );
        let same_morning = Utc.with_ymd_and_hms(2026, 12, 2, 6, 30, 0).unwrap();
        assert_eq!(
            absence_effect(same_morning, deadline),
            AbsenceEffect::MarkAbsent
        );
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        assert!(certificate_in_time(
            day,
            day + chrono::Duration::days(8),
            CERTIFICATE_DELAY_DAYS
        ));
        assert!(!certificate_in_time(
            day,
            day + chrono::Duration::days(9),
            CERTIFICATE_DELAY_DAYS
        ));
    }
}
