//! « Mes factures »: the family's invoices and credit notes, synced from the change
//! feed (status changes included) with their lines fetched once (an issued invoice
//! never changes) and read offline.

use famille_model::api::InvoiceDetail;
use uuid::Uuid;

use crate::engine::Engine;
use crate::error::{CoreResult, Error};
use crate::views::{InvoiceDetailView, InvoiceLineView, InvoiceView};

impl Engine {
    /// Invoices and credit notes, newest first, from the local store.
    pub fn invoices(&self) -> CoreResult<Vec<InvoiceView>> {
        let store = self.store();
        let missing = store.invoices_without_lines()?;
        Ok(store
            .invoices()?
            .iter()
            .map(|i| InvoiceView::new(i, !missing.contains(&i.id)))
            .collect())
    }

    /// One invoice with its lines, from the local store.
    pub fn invoice(&self, id: &str) -> CoreResult<InvoiceDetailView> {
        let id =
            Uuid::parse_str(id).map_err(|_| Error::invalid("identifiant de facture invalide"))?;
        let (invoice, lines) = self
            .store()
            .invoice(id)?
            .ok_or_else(|| Error::invalid("facture inconnue sur ce téléphone"))?;
        Ok(InvoiceDetailView {
            invoice: InvoiceView::new(&invoice, lines.is_some()),
            lines: lines
                .unwrap_or_default()
                .iter()
                .map(InvoiceLineView::from)
                .collect(),
        })
    }

    /// The PDF of an invoice or credit note: fetched once, then kept on the phone
    /// and opened offline.
    pub async fn invoice_pdf(&self, id: &str) -> CoreResult<Vec<u8>> {
        let id =
            Uuid::parse_str(id).map_err(|_| Error::invalid("identifiant de facture invalide"))?;
        if self.store().invoice(id)?.is_none() {
            return Err(Error::invalid("facture inconnue sur ce téléphone"));
        }
        if let Some(pdf) = self.store().invoice_pdf(id)? {
            return Ok(pdf);
        }
        let pdf = self
            .download(&format!("/api/v1/invoices/{id}/pdf"), "application/pdf")
            .await?;
        if !pdf.starts_with(b"%PDF-") {
            return Err(Error::invalid("le serveur n'a pas envoyé un PDF"));
        }
        self.store().save_invoice_pdf(id, &pdf)?;
        Ok(pdf)
    }

    /// Fetches the lines of the invoices the feed brought (once each).
    pub(crate) async fn fetch_invoice_lines(&self) -> CoreResult<()> {
        let missing = self.store().invoices_without_lines()?;
        for id in missing {
            match self
                .fetch::<InvoiceDetail>(&format!("/api/v1/invoices/{id}"))
                .await
            {
                Ok(detail) => self.store().save_invoice_lines(id, &detail.lines)?,
                // Not this family's any more (the feed will say): the rest goes on.
                Err(Error::Rejected {
                    code: famille_model::ErrorCode::NotFound,
                    ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
