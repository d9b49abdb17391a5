//! Each kind's form as the apps draw it (fields, choices, proofs) and the check of
//! what a family filled in.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{AbsenceReason, Custody, FieldKind, ProofKind, RequestKind};
use crate::validate::{self, FieldError, Fields, Form};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
