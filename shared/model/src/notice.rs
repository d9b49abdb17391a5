//! What a family is told about: a typed value (what happened, to which family), and
//! its French words, composed here and only here. The server writes notices to its
//! outbox in the transaction of the change; the push carries only the kind and the
//! id ([`crate::push`]), the title and body go in the notification.
//!
//! No health data and no document content ever goes into a notice (a refusal's
//! reason stays in the app, behind the parent's login).

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::fr;
use crate::push::PushKind;

/// Which booking a notice is about, as a parent names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingNames {
    pub reservation_id: Uuid,
    /// The child's first name.
    pub child: String,
    pub activity: String,
    pub option: String,
    pub date: NaiveDate,
}

/// Which document a notice is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentNames {
    pub document_id: Uuid,
    /// The document type's label ("Carnet de vaccination").
    pub label: String,
    /// The child's first name, for a child's document.
    pub child: Option<String>,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A place freed on the waitlist is the child's; free cancellation until the
    /// grace's end when the promotion came after the deadline.
    WaitlistPromoted {
        booking: BookingNames,
        free_cancel_until: Option<DateTime<Utc>>,
        /// The place is held until the services approve it.
        awaiting_approval: bool,
    },
    BookingApproved {
        booking: BookingNames,
    },
    BookingRefused {
        booking: BookingNames,
    },
    SessionCancelled {
        booking: BookingNames,
    },
    DocumentValidated {
        document: DocumentNames,
    },
    DocumentRefused {
        document: DocumentNames,
    },
    /// A validated document ran out: the red banner is back.
    DocumentExpired {
        document: DocumentNames,
    },
    /// An invoice was issued (never its lines: only its month and total).
    InvoiceIssued {
        invoice_id: Uuid,
        /// The first day of the invoice's month.
        period: NaiveDate,
        total_cents: i64,
    },
    /// An online payment went through (the amount the bank took, never the card).
    PaymentConfirmed {
        invoice_id: Uuid,
        /// The invoice's number.
        number: String,
        paid_cents: i64,
    },
    /// The tax certificate of a year is ready (in January).
    CertificateReady {
        certificate_id: Uuid,
        year: i32,
    },
    /// The services wrote in a thread. Never the message's body; for a sensitive
    /// service (social, health), not even the service's name nor the subject.
    MessageReceived {
        thread_id: Uuid,
        /// The notice's reference: each message is told (and mailed) once.
        message_id: Uuid,
        service: String,
        subject: String,
        sensitive: bool,
    },
    /// The family's QF runs out soon: the services ask for a new attestation.
    QuotientExpiring {
        family_id: Uuid,
        valid_until: NaiveDate,
    },
}

/// An event, for one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub family_id: Uuid,
    pub event: Event,
}

impl Notice {
    pub fn new(family_id: Uuid, event: Event) -> Notice {
        Notice { family_id, event }
    }

    pub fn kind(&self) -> PushKind {
        match &self.event {
            Event::WaitlistPromoted { .. } => PushKind::WaitlistPromoted,
            Event::BookingApproved { .. } => PushKind::BookingApproved,
            Event::BookingRefused { .. } => PushKind::BookingRefused,
            Event::SessionCancelled { .. } => PushKind::SessionCancelled,
            Event::DocumentValidated { .. } => PushKind::DocumentValidated,
            Event::DocumentRefused { .. } => PushKind::DocumentRefused,
            Event::DocumentExpired { .. } | Event::QuotientExpiring { .. } => PushKind::Alert,
            Event::InvoiceIssued { .. } => PushKind::InvoiceIssued,
            Event::PaymentConfirmed { .. } => PushKind::PaymentConfirmed,
            Event::CertificateReady { .. } => PushKind::CertificateReady,
            Event::MessageReceived { .. } => PushKind::Message,
        }
    }

    /// What the phone syncs and opens: the reservation or the document.
    pub fn ref_id(&self) -> Uuid {
        match &self.event {
            Event::WaitlistPromoted { booking, .. }
            | Event::BookingApproved { booking }
            | Event::BookingRefused { booking }
            | Event::SessionCancelled { booking } => booking.reservation_id,
            Event::DocumentValidated { document }
            | Event::DocumentRefused { document }
            | Event::DocumentExpired { document } => document.document_id,
            Event::InvoiceIssued { invoice_id, .. }
            | Event::PaymentConfirmed { invoice_id, .. } => *invoice_id,
            Event::QuotientExpiring { family_id, .. } => *family_id,
            Event::CertificateReady { certificate_id, .. } => *certificate_id,
            Event::MessageReceived { message_id, .. } => *message_id,
        }
    }

    pub fn title(&self) -> &'static str {
        match &self.event {
            Event::WaitlistPromoted { .. } => "Une place s'est libérée",
            Event::BookingApproved { .. } => "Réservation acceptée",
            Event::BookingRefused { .. } => "Réservation refusée",
            Event::SessionCancelled { .. } => "Séance annulée",
            Event::DocumentValidated { .. } => "Document validé",
            Event::DocumentRefused { .. } => "Document refusé",
            Event::DocumentExpired { .. } => "Document à renouveler",
            Event::InvoiceIssued { .. } => "Nouvelle facture",
            Event::PaymentConfirmed { .. } => "Paiement enregistré",
            Event::CertificateReady { .. } => "Attestation fiscale disponible",
            Event::QuotientExpiring { .. } => "Quotient familial à mettre à jour",
            Event::MessageReceived { .. } => "Nouveau message",
        }
    }

    pub fn body(&self) -> String {
        match &self.event {
            Event::WaitlistPromoted {
                booking: b,
                awaiting_approval: true,
                ..
            } => format!(
                "Une place s'est libérée pour {} à « {} — {} » le {} : elle lui est gardée en attendant la validation des services.",
                b.child,
                b.activity,
                b.option,
                fr::day(b.date)
            ),
            Event::WaitlistPromoted {
                booking: b,
                free_cancel_until,
                ..
            } => {
                let grace = free_cancel_until
                    .map(|until| {
                        format!(
                            " Annulation sans frais possible jusqu'au {}.",
                            fr::instant(until)
                        )
                    })
                    .unwrap_or_default();
                format!(
                    "{} est inscrit(e) à « {} — {} » le {}.{grace}",
                    b.child,
                    b.activity,
                    b.option,
                    fr::day(b.date)
                )
            }
            Event::BookingApproved { booking: b } => format!(
                "La réservation de {} à « {} » le {} est acceptée.",
                b.child,
                b.activity,
                fr::day(b.date)
            ),
            Event::BookingRefused { booking: b } => format!(
                "La réservation de {} à « {} » le {} n'a pas pu être acceptée.",
                b.child,
                b.activity,
                fr::day(b.date)
            ),
            Event::SessionCancelled { booking: b } => format!(
                "« {} — {} » du {} est annulé(e) : la réservation de {} ne vous sera pas facturée.",
                b.activity,
                b.option,
                fr::day(b.date),
                b.child
            ),
            Event::DocumentValidated { document: d } => {
                format!("{}{} : validé par les services.", d.label, whose(d))
            }
            Event::DocumentRefused { document: d } => format!(
                "{}{} : refusé. Ouvrez le Portail Famille pour voir le motif et en déposer un autre.",
                d.label,
                whose(d)
            ),
            Event::DocumentExpired { document: d } => format!(
                "{}{} n'est plus valable : envoyez-en un nouveau depuis « Mes démarches ».",
                d.label,
                whose(d)
            ),
            Event::InvoiceIssued {
                period,
                total_cents,
                ..
            } => format!(
                "Votre facture {} est disponible : {}",
                fr::of_month(*period),
                fr::euros(*total_cents)
            ),
            Event::PaymentConfirmed {
                number, paid_cents, ..
            } => format!(
                "Votre paiement en ligne de {} pour la facture {number} est enregistré. Merci !",
                fr::euros(*paid_cents)
            ),
            Event::CertificateReady { year, .. } => format!(
                "Votre attestation fiscale {year} (frais de garde des enfants de moins de 6 ans) est disponible dans « Factures », avec votre attestation de paiement."
            ),
            Event::MessageReceived {
                sensitive: true, ..
            } => "Les services vous ont écrit : ouvrez le Portail Famille pour lire leur message."
                .to_owned(),
            Event::MessageReceived {
                service, subject, ..
            } => format!("{service} vous a écrit : « {subject} »."),
            Event::QuotientExpiring { valid_until, .. } => format!(
                "Votre quotient familial n'est plus valable après le {} : envoyez votre nouvelle attestation CAF ou MSA, sinon le tarif maximum s'appliquera.",
                fr::date(*valid_until)
            ),
        }
    }
}

fn whose(d: &DocumentNames) -> String {
    d.child
        .as_deref()
        .map(|c| format!(" de {c}"))
        .unwrap_or_default()
}

/// The fallback mail of a notice: subject and text.
pub fn mail(title: &str, body: &str, organisation: &str) -> (String, String) {
    (
        format!("Portail Famille : {title}"),
        format!(
            "Bonjour,\n\n{body}\n\nRetrouvez le détail dans le Portail Famille.\n\n{organisation}\n\n\
             (Vous recevez cet e-mail car aucun téléphone ne reçoit les notifications de votre compte ; \
             vous pouvez le désactiver dans les préférences de votre compte.)\n"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_invoice_notice_says_the_month_and_the_total_only() {
        let notice = |m| {
            Notice::new(
                Uuid::nil(),
                Event::InvoiceIssued {
                    invoice_id: Uuid::nil(),
                    period: NaiveDate::from_ymd_opt(2027, m, 1).unwrap(),
                    total_cents: 4583,
                },
            )
        };
        assert_eq!(
            notice(3).body(),
            "Votre facture de mars est disponible : 45,83\u{A0}€"
        );
        assert_eq!(
            notice(4).body(),
            "Votre facture d'avril est disponible : 45,83\u{A0}€"
        );
        assert_eq!(
            notice(8).body(),
            "Votre facture d'août est disponible : 45,83\u{A0}€"
        );
        assert_eq!(notice(3).kind(), PushKind::InvoiceIssued);
    }

    #[test]
    fn a_message_notice_names_the_subject_unless_the_service_is_sensitive() {
        let notice = |sensitive| {
            Notice::new(
                Uuid::nil(),
                Event::MessageReceived {
                    thread_id: Uuid::nil(),
                    message_id: Uuid::nil(),
                    service: "Service social".into(),
                    subject: "Aide aux vacances".into(),
                    sensitive,
                },
            )
        };
        assert_eq!(notice(false).kind(), PushKind::Message);
        assert_eq!(
            notice(false).body(),
            "Service social vous a écrit : « Aide aux vacances »."
        );
        let hidden = notice(true);
        assert!(!hidden.body().contains("Aide aux vacances"));
        assert!(!hidden.body().contains("Service social"));
        assert!(!hidden.title().contains("Aide"));
    }

    fn booking() -> BookingNames {
        BookingNames {
            reservation_id: Uuid::nil(),
            child: "Luc".into(),
            activity: "Mercredis".into(),
            option: "Journée complète".into(),
            date: NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
        }
    }

    #[test]
    fn promotion_names_the_child_the_day_and_the_grace() {
        let until = Utc.with_ymd_and_hms(2026, 12, 8, 17, 30, 0).unwrap();
        let n = Notice::new(
            Uuid::nil(),
            Event::WaitlistPromoted {
                booking: booking(),
                free_cancel_until: Some(until),
                awaiting_approval: false,
            },
        );
        assert_eq!(n.kind(), PushKind::WaitlistPromoted);
        assert_eq!(
            n.body(),
            "Luc est inscrit(e) à « Mercredis — Journée complète » le mercredi 9 décembre. \
             Annulation sans frais possible jusqu'au 8 décembre à 18:30."
        );
        let without = Notice::new(
            Uuid::nil(),
            Event::WaitlistPromoted {
                booking: booking(),
                free_cancel_until: None,
                awaiting_approval: false,
            },
        );
        assert!(!without.body().contains("sans frais"));
        let held = Notice::new(
            Uuid::nil(),
            Event::WaitlistPromoted {
                booking: booking(),
                free_cancel_until: None,
                awaiting_approval: true,
            },
        );
        assert!(
            held.body().contains("validation des services"),
            "{}",
            held.body()
        );
    }

    #[test]
    fn a_refusal_keeps_its_reason_out_of_the_push() {
        let document = DocumentNames {
            document_id: Uuid::nil(),
            label: "Carnet de vaccination".into(),
            child: Some("Luc".into()),
        };
        let n = Notice::new(Uuid::nil(), Event::DocumentRefused { document });
        assert_eq!(n.kind(), PushKind::DocumentRefused);
        assert!(
            n.body()
                .starts_with("Carnet de vaccination de Luc : refusé.")
        );
        let v = Notice::new(
            Uuid::nil(),
            Event::DocumentValidated {
                document: DocumentNames {
                    document_id: Uuid::nil(),
                    label: "Justificatif de domicile".into(),
                    child: None,
                },
            },
        );
        assert_eq!(
            v.body(),
            "Justificatif de domicile : validé par les services."
        );
    }

    #[test]
    fn cancellation_says_it_is_not_billed() {
        let n = Notice::new(Uuid::nil(), Event::SessionCancelled { booking: booking() });
        assert!(
            n.body().contains("ne vous sera pas facturée"),
            "{}",
            n.body()
        );
        let (subject, text) = mail(n.title(), &n.body(), "CDC");
        assert_eq!(subject, "Portail Famille : Séance annulée");
        assert!(text.contains(&n.body()) && text.contains("CDC"));
    }
}
