//! The guide's « Attestation de paiement »: a year's payment and tax certificates,
//! fetched when online and kept for offline reading, with their PDFs fetched once
//! (a certificate never changes: when what was paid changes, the server draws a new
//! one with a new number).

use famille_model::api::Certificate;
use uuid::Uuid;

use crate::engine::Engine;
use crate::error::{CoreResult, Error};
use crate::views::CertificateView;

impl Engine {
    /// A year's certificates: the server's when it answers (kept on the phone),
    /// else the ones kept. Errors: a year the server refuses (`Rejected` naming
    /// `year`).
    pub async fn certificates(&self, year: i32) -> CoreResult<Vec<CertificateView>> {
        match self
            .fetch::<Vec<Certificate>>(&format!("/api/v1/certificates?year={year}"))
            .await
        {
            Ok(fetched) => self.store().save_certificates(year, &fetched)?,
            Err(Error::Offline { .. } | Error::NotOurServer { .. }) => {}
            Err(e) => return Err(e),
        }
        Ok(self
            .store()
            .certificates(year)?
            .iter()
            .map(CertificateView::from)
            .collect())
    }

    /// A certificate's PDF: fetched once, then opened offline.
    pub async fn certificate_pdf(&self, id: &str) -> CoreResult<Vec<u8>> {
        let id = Uuid::parse_str(id)
            .map_err(|_| Error::invalid("identifiant d'attestation invalide"))?;
        match self.store().certificate_pdf(id)? {
            None => return Err(Error::invalid("attestation inconnue sur ce téléphone")),
            Some(Some(pdf)) => return Ok(pdf),
            Some(None) => {}
        }
        let pdf = self
            .download(&format!("/api/v1/certificates/{id}/pdf"), "application/pdf")
            .await?;
        if !pdf.starts_with(b"%PDF-") {
            return Err(Error::invalid("le serveur n'a pas envoyé un PDF"));
        }
        self.store().save_certificate_pdf(id, &pdf)?;
        Ok(pdf)
    }
}
