//! The French words of each notice. Pure, so each wording is tested once; no health
//! data and no document content ever goes into them (a refusal's reason stays in
//! the app, behind the parent's login).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use famille_model::push::PushKind;
use uuid::Uuid;

use crate::store::outbox::Notice;

const WEEKDAYS: [&str; 7] = [
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
];
const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

/// "mercredi 9 décembre".
pub fn fr_date(date: NaiveDate) -> String {
    format!(
        "{} {} {}",
        WEEKDAYS[date.weekday().num_days_from_monday() as usize],
        date.day(),
        MONTHS[date.month0() as usize]
    )
}

/// "9 décembre à 18:30", Paris time.
pub fn fr_instant(at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&chrono_tz::Europe::Paris);
    format!(
        "{} {} à {}",
        local.day(),
        MONTHS[local.month0() as usize],
        local.format("%H:%M")
    )
}

/// Which booking a notice is about, as a parent names it.
#[derive(Debug, Clone)]
pub struct BookingNames {
    pub family_id: Uuid,
    pub child: String,
    pub activity: String,
    pub option: String,
    pub date: NaiveDate,
}

fn notice(family_id: Uuid, kind: PushKind, ref_id: Uuid, title: &str, body: String) -> Notice {
    Notice {
        family_id,
        kind,
        ref_id,
        title: title.to_owned(),
        body,
    }
}

pub fn waitlist_promoted(
    reservation_id: Uuid,
    f: &BookingNames,
    free_cancel_until: Option<DateTime<Utc>>,
) -> Notice {
    let grace = free_cancel_until
        .map(|until| {
            format!(
                " Annulation sans frais possible jusqu'au {}.",
                fr_instant(until)
            )
        })
        .unwrap_or_default();
    notice(
        f.family_id,
        PushKind::WaitlistPromoted,
        reservation_id,
        "Une place s'est libérée",
        format!(
            "{} est inscrit(e) à « {} — {} » le {}.{grace}",
            f.child,
            f.activity,
            f.option,
            fr_date(f.date)
        ),
    )
}

pub fn booking_decided(reservation_id: Uuid, f: &BookingNames, approved: bool) -> Notice {
    if approved {
        notice(
            f.family_id,
            PushKind::BookingApproved,
            reservation_id,
            "Réservation acceptée",
            format!(
                "La réservation de {} à « {} » le {} est acceptée.",
                f.child,
                f.activity,
                fr_date(f.date)
            ),
        )
    } else {
        notice(
            f.family_id,
            PushKind::BookingRefused,
            reservation_id,
            "Réservation refusée",
            format!(
                "La réservation de {} à « {} » le {} n'a pas pu être acceptée.",
                f.child,
                f.activity,
                fr_date(f.date)
            ),
        )
    }
}

pub fn session_cancelled(reservation_id: Uuid, f: &BookingNames) -> Notice {
    notice(
        f.family_id,
        PushKind::SessionCancelled,
        reservation_id,
        "Séance annulée",
        format!(
            "« {} — {} » du {} est annulé(e) : la réservation de {} ne vous sera pas facturée.",
            f.activity,
            f.option,
            fr_date(f.date),
            f.child
        ),
    )
}

/// `child` is the child's first name for a per-child document.
pub fn document_decided(
    document_id: Uuid,
    family_id: Uuid,
    label: &str,
    child: Option<&str>,
    validated: bool,
) -> Notice {
    let whose = child.map(|c| format!(" de {c}")).unwrap_or_default();
    if validated {
        notice(
            family_id,
            PushKind::DocumentValidated,
            document_id,
            "Document validé",
            format!("{label}{whose} : validé par les services."),
        )
    } else {
        notice(
            family_id,
            PushKind::DocumentRefused,
            document_id,
            "Document refusé",
            format!(
                "{label}{whose} : refusé. Ouvrez le Portail Famille pour voir le motif et en déposer un autre."
            ),
        )
    }
}

/// A validated document ran out: the red banner is back.
pub fn document_expired(
    document_id: Uuid,
    family_id: Uuid,
    label: &str,
    child: Option<&str>,
) -> Notice {
    let whose = child.map(|c| format!(" de {c}")).unwrap_or_default();
    notice(
        family_id,
        PushKind::Alert,
        document_id,
        "Document à renouveler",
        format!(
            "{label}{whose} n'est plus valable : envoyez-en un nouveau depuis « Mes démarches »."
        ),
    )
}

/// The fallback mail of a notice: subject and text.
pub fn mail(title: &str, body: &str, organisation: &str) -> (String, String) {
    (
        format!("Portail Famille : {title}"),
        format!(
            "Bonjour,\n\n{body}\n\nRetrouvez le détail dans le Portail Famille.\n\n{organisation}\n\n\
             (Vous recevez cet e-mail car aucun téléphone n'est enregistré pour les notifications ; \
             vous pouvez le désactiver dans les préférences de votre compte.)\n"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn facts() -> BookingNames {
        BookingNames {
            family_id: Uuid::nil(),
            child: "Luc".into(),
            activity: "Mercredis".into(),
            option: "Journée complète".into(),
            date: NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
        }
    }

    #[test]
    fn dates_read_as_a_parent_says_them() {
        assert_eq!(
            fr_date(NaiveDate::from_ymd_opt(2026, 12, 9).unwrap()),
            "mercredi 9 décembre"
        );
        // 17:30 UTC in winter is 18:30 in Paris; in summer 19:30.
        assert_eq!(
            fr_instant(Utc.with_ymd_and_hms(2026, 12, 9, 17, 30, 0).unwrap()),
            "9 décembre à 18:30"
        );
        assert_eq!(
            fr_instant(Utc.with_ymd_and_hms(2027, 7, 9, 17, 30, 0).unwrap()),
            "9 juillet à 19:30"
        );
    }

    #[test]
    fn promotion_names_the_child_the_day_and_the_grace() {
        let until = Utc.with_ymd_and_hms(2026, 12, 8, 17, 30, 0).unwrap();
        let n = waitlist_promoted(Uuid::nil(), &facts(), Some(until));
        assert_eq!(n.kind, PushKind::WaitlistPromoted);
        assert_eq!(
            n.body,
            "Luc est inscrit(e) à « Mercredis — Journée complète » le mercredi 9 décembre. \
             Annulation sans frais possible jusqu'au 8 décembre à 18:30."
        );
        assert!(
            !waitlist_promoted(Uuid::nil(), &facts(), None)
                .body
                .contains("sans frais")
        );
    }

    #[test]
    fn a_refusal_keeps_its_reason_out_of_the_push() {
        let n = document_decided(
            Uuid::nil(),
            Uuid::nil(),
            "Carnet de vaccination",
            Some("Luc"),
            false,
        );
        assert_eq!(n.kind, PushKind::DocumentRefused);
        assert!(n.body.starts_with("Carnet de vaccination de Luc : refusé."));
        let v = document_decided(
            Uuid::nil(),
            Uuid::nil(),
            "Justificatif de domicile",
            None,
            true,
        );
        assert_eq!(
            v.body,
            "Justificatif de domicile : validé par les services."
        );
    }

    #[test]
    fn cancellation_says_it_is_not_billed() {
        let n = session_cancelled(Uuid::nil(), &facts());
        assert!(n.body.contains("ne vous sera pas facturée"), "{}", n.body);
        let (subject, text) = mail(&n.title, &n.body, "CDC");
        assert_eq!(subject, "Portail Famille : Séance annulée");
        assert!(text.contains(&n.body) && text.contains("CDC"));
    }
}
