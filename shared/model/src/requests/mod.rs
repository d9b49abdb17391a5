//! Démarches (the guide's « Mes démarches » menu): the kinds of request a family
//! makes, the fields and proofs each asks (served to the apps, which draw their
//! forms from them), the statuses a request goes through, and the absence's rule
//! (cancelled free before the cancellation deadline; after it, even the same
//! morning, an absence `Ab`, excused `AbE` once a medical certificate is validated
//! within the organisation's delay). Used by the server (authoritative) and the
//! phone (to check a request written offline).

mod forms;

pub use forms::*;

use chrono::{DateTime, NaiveDate, Utc};

use crate::booking::{AttendanceCode, BookingRules};
use crate::validate;

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
