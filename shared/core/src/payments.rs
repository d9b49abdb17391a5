//! Paying an invoice online (issue 14): the core asks the server for the PayFiP
//! page the app opens in the system browser, then follows the payment after the
//! parent's return (the deep link `portailfamille://paiements/{id}`) or the
//! `payment_confirmed` push; once paid, the invoice syncs and reads paid offline.
//! Whether an invoice can be paid online is the model's (`online_amount`), asked
//! offline first so that the button says why not without a network.

use famille_model::ErrorCode;
use famille_model::api::{Payment, PaymentStart, PaymentStarted};
use famille_model::payments::{PaymentMethod, PaymentStatus, online_amount};
use reqwest::Method;
use uuid::Uuid;

use crate::engine::Engine;
use crate::error::{CoreResult, Error};
use crate::views::{PaymentStartView, PaymentView};

impl Engine {
    /// Starts paying an invoice online: the page to open in the system browser.
    /// Refused offline when the model says there is nothing to pay online
    /// (`invoice_settled`, `amount_too_small`) or the régie takes no online
    /// payment (`online_payment_unavailable`); the server may refuse more; no
    /// network: `Offline`.
    pub async fn start_payment(&self, invoice_id: &str) -> CoreResult<PaymentStartView> {
        let id = Uuid::parse_str(invoice_id)
            .map_err(|_| Error::invalid("identifiant de facture invalide"))?;
        let (invoice, _) = self
            .store()
            .invoice(id)?
            .ok_or_else(|| Error::invalid("facture inconnue sur ce téléphone"))?;
        online_amount(&invoice).map_err(Error::rejected)?;
        if !invoice.online_payment {
            return Err(Error::rejected(ErrorCode::OnlinePaymentUnavailable));
        }
        let started: PaymentStarted = self
            .authed(
                Method::POST,
                &format!("/api/v1/invoices/{id}/payments"),
                Some(&PaymentStart {
                    method: PaymentMethod::Payfip,
                }),
            )
            .await?;
        Ok(PaymentStartView {
            payment_id: started.payment_id.to_string(),
            url: started.redirect_url,
        })
    }

    /// How a payment stands, asked of the server (which asks PayFiP when it is
    /// still pending); once settled, a sync brings the invoice's new status.
    pub async fn payment(&self, payment_id: &str) -> CoreResult<PaymentView> {
        let id = Uuid::parse_str(payment_id)
            .map_err(|_| Error::invalid("identifiant de paiement invalide"))?;
        let payment: Payment = self.fetch(&format!("/api/v1/payments/{id}")).await?;
        if payment.status == PaymentStatus::Paid {
            // The invoice's paid amount comes with the feed.
            self.sync().await?;
        }
        Ok(PaymentView::from(&payment))
    }
}
