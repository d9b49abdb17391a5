//! A push arrived: the core syncs what it names and says what to show and where to
//! go. The payload only says "something changed" (kind and id); everything shown
//! comes from the synced store, never from the payload.

use std::collections::HashMap;

use famille_model::api::DocumentStatus;
use famille_model::push::{PushData, PushKind};

use crate::engine::Engine;
use crate::error::{CoreResult, Error};
use crate::views::PushDisplay;

impl Engine {
    pub async fn handle_push(&self, data: &HashMap<String, String>) -> CoreResult<PushDisplay> {
        let push = PushData::parse(data).map_err(|e| Error::invalid(e.to_string()))?;
        let synced = self.sync().await.is_ok();
        let mut display = PushDisplay {
            kind: push.kind,
            title: push.kind.label_fr().to_owned(),
            body: String::new(),
            target_id: push.id.to_string(),
            child_id: None,
            synced,
        };
        let store = self.store();
        match push.kind {
            PushKind::DocumentValidated | PushKind::DocumentRefused => {
                if let Some(d) = store.documents()?.into_iter().find(|d| d.id == push.id) {
                    display.child_id = d.child_id.map(|c| c.to_string());
                    display.body = match &d.refusal_reason {
                        Some(reason) if d.status == DocumentStatus::Refused => {
                            format!("{} refusé : {reason}", d.document_type)
                        }
                        _ => format!("{} validé.", d.document_type),
                    };
                }
            }
            PushKind::WaitlistPromoted
            | PushKind::BookingApproved
            | PushKind::BookingRefused
            | PushKind::SessionCancelled => {
                if let Some(r) = store.reservation(push.id)? {
                    display.child_id = Some(r.child_id.to_string());
                    if let Some(s) = store.session(r.session_id)? {
                        let activity = store
                            .activity(s.activity_id)?
                            .map(|a| a.name)
                            .unwrap_or_default();
                        display.body = format!(
                            "{activity} — {} le {}",
                            s.option,
                            famille_model::fr::day(s.date)
                        );
                    }
                }
            }
            PushKind::InvoiceIssued | PushKind::PaymentConfirmed => {
                if let Some((i, _)) = store.invoice(push.id)? {
                    display.body =
                        format!("{} : {}", i.label, famille_model::fr::euros(i.total_cents));
                }
            }
            // The push names the message; the app opens its thread.
            PushKind::Message => {
                if let Some(t) = store
                    .threads()?
                    .into_iter()
                    .find(|t| t.messages.iter().any(|m| m.id == push.id))
                {
                    display.target_id = t.id.to_string();
                    display.body = format!("{} : {}", t.service, t.subject);
                }
            }
            PushKind::Alert | PushKind::CertificateReady => {}
        }
        Ok(display)
    }
}
