//! Push notifications as both sides see them: the kinds, the payload the server puts
//! in FCM `data` (strings only, never health data nor document content) and how the
//! phone reads it back.

use std::collections::HashMap;

use uuid::Uuid;

vocabulary! {
    /// What a push is about. The phone syncs, then shows the French title and body.
    PushKind {
        Alert => "alert", "Alerte sur le dossier";
        DocumentValidated => "document_validated", "Document validé";
        DocumentRefused => "document_refused", "Document refusé";
        InvoiceIssued => "invoice_issued", "Nouvelle facture";
        PaymentConfirmed => "payment_confirmed", "Paiement enregistré";
        CertificateReady => "certificate_ready", "Attestation disponible";
        WaitlistPromoted => "waitlist_promoted", "Place libérée (liste d'attente)";
        Message => "message", "Nouveau message";
        BookingApproved => "booking_approved", "Réservation acceptée";
        BookingRefused => "booking_refused", "Réservation refusée";
        SessionCancelled => "session_cancelled", "Séance annulée";
    }
}

impl PushKind {
    /// The Android notification channel: the parent can mute a whole channel in the
    /// system settings, so kinds are grouped by what they ask of the parent.
    pub fn android_channel(self) -> &'static str {
        match self {
            PushKind::Alert | PushKind::DocumentValidated | PushKind::DocumentRefused => {
                "documents"
            }
            PushKind::WaitlistPromoted
            | PushKind::BookingApproved
            | PushKind::BookingRefused
            | PushKind::SessionCancelled => "reservations",
            PushKind::InvoiceIssued | PushKind::PaymentConfirmed | PushKind::CertificateReady => {
                "factures"
            }
            PushKind::Message => "messages",
        }
    }
}

/// The same notice sent twice (a crash between sending and recording) carries the
/// same key, and the phone shows it once.
pub fn collapse_key(kind: PushKind, id: Uuid) -> String {
    format!("{}:{id}", kind.as_str())
}

/// The FCM `data` map of a push.
pub fn push_data(kind: PushKind, id: Uuid) -> HashMap<String, String> {
    HashMap::from([
        ("kind".to_owned(), kind.as_str().to_owned()),
        ("id".to_owned(), id.to_string()),
    ])
}

/// A push payload as the phone received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushData {
    pub kind: PushKind,
    pub id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushDataError {
    #[error("the push payload has no `{0}`")]
    Missing(&'static str),
    #[error("the push payload's `{0}` is not understood")]
    Invalid(&'static str),
}

impl PushData {
    /// Reads the `data` map (what the OS hands the app).
    pub fn parse(data: &HashMap<String, String>) -> Result<PushData, PushDataError> {
        let kind = data.get("kind").ok_or(PushDataError::Missing("kind"))?;
        let id = data.get("id").ok_or(PushDataError::Missing("id"))?;
        Ok(PushData {
            kind: kind.parse().map_err(|_| PushDataError::Invalid("kind"))?,
            id: id.parse().map_err(|_| PushDataError::Invalid("id"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_round_trips_for_every_kind() {
        let id = Uuid::now_v7();
        for kind in PushKind::ALL {
            let data = push_data(*kind, id);
            assert!(data.values().all(|v| !v.is_empty()));
            assert_eq!(PushData::parse(&data), Ok(PushData { kind: *kind, id }));
            // APNs refuses a collapse id over 64 bytes.
            assert!(collapse_key(*kind, id).len() <= 64, "{kind}");
        }
    }

    #[test]
    fn bad_payloads_are_named() {
        let mut data = push_data(PushKind::Alert, Uuid::nil());
        data.insert("kind".into(), "ringtone".into());
        assert_eq!(PushData::parse(&data), Err(PushDataError::Invalid("kind")));
        data.remove("id");
        assert_eq!(PushData::parse(&data), Err(PushDataError::Missing("id")));
    }
}
