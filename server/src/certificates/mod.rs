//! Certificates (issue 14, the guide's « Attestation de paiement »): for a year,
//! what the family paid per child and activity, and the tax certificate of
//! childcare costs for children under six (CGI art. 200 quater B), without meals
//! and surcharges. The rows are the model's (`famille_model::certificates`), drawn
//! from what payments put on invoice lines; a certificate is numbered when first
//! drawn and drawn again, with a new number, only when what was paid changed.
//! In January the tax certificates of the year before are drawn and the
//! families told (`certificate_ready`).

pub mod http;
pub mod pdf;

use chrono::Datelike;
use famille_model::api::Certificate;
use famille_model::calendar::paris_date;
use famille_model::certificates::{CertificateKind, available, payment_rows, tax_rows};
use famille_model::notice::{Event, Notice};
use famille_model::validate::FieldError;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::certificates as store;

/// The first year certificates are asked for (before, the portal held no payments).
pub const FIRST_YEAR: i32 = 2020;

/// The family's certificates of `year` (the payment certificate of any year begun,
/// the tax certificate of a year over), drawn or redrawn as needed. Errors: 422
/// naming `year` outside 2020 to this year.
pub async fn family_certificates(
    state: &AppState,
    family_id: Uuid,
    year: i32,
) -> AppResult<Vec<Certificate>> {
    let today = paris_date(state.clock.now());
    if !(FIRST_YEAR..=today.year()).contains(&year) {
        return Err(FieldError::new(
            "year",
            format!("une année de {FIRST_YEAR} à {}", today.year()),
        )
        .into());
    }
    draw(state, family_id, year, false).await?;
    Ok(state.db.certificates().of_family(family_id, year).await?)
}

/// Draws the certificates of a family's year that are due and differ from the
/// latest ones (nothing is written when nothing changed); with `announce`, a new
/// tax certificate is announced in the same transaction. Whether one was.
async fn draw(state: &AppState, family_id: Uuid, year: i32, announce: bool) -> AppResult<bool> {
    let today = paris_date(state.clock.now());
    let due = |lines: &[famille_model::certificates::PaidLine]| {
        CertificateKind::ALL
            .iter()
            .filter(|kind| available(**kind, year, today))
            .map(|kind| {
                let rows = match kind {
                    CertificateKind::Payment => payment_rows(lines),
                    CertificateKind::Tax => tax_rows(lines, year),
                };
                (*kind, rows)
            })
            .collect::<Vec<_>>()
    };
    // A read first: a family looking at its certificates writes nothing.
    let lines = state.db.certificates().paid_lines(family_id, year).await?;
    let current = state.db.certificates().of_family(family_id, year).await?;
    let unchanged =
        due(&lines).iter().all(
            |(kind, rows)| match current.iter().find(|c| c.kind == *kind) {
                Some(c) => c.rows == *rows,
                None => rows.is_empty(),
            },
        );
    if unchanged {
        return Ok(false);
    }
    let mut tx = state.db.begin_at(state.clock.now()).await?;
    store::lock_family(&mut tx, family_id).await?;
    let lines = store::paid_lines(&mut tx, family_id, year).await?;
    let mut announced = false;
    for (kind, rows) in due(&lines) {
        let Some(id) = store::issue(&mut tx, family_id, kind, year, &rows).await? else {
            continue;
        };
        if announce && kind == CertificateKind::Tax {
            tx.notify(Notice::new(
                family_id,
                Event::CertificateReady {
                    certificate_id: id,
                    year,
                },
            ));
            announced = true;
        }
    }
    tx.commit().await?;
    Ok(announced)
}

/// The PDF of one of the family's certificates (any family's with `None`), and
/// its number.
pub async fn certificate_pdf(
    state: &AppState,
    id: Uuid,
    family_id: Option<Uuid>,
) -> AppResult<(String, Vec<u8>)> {
    let (certificate, family) = state
        .db
        .certificates()
        .get(id, family_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (names, address) = crate::families::letterhead(state, family).await?;
    let family_number = state
        .db
        .families()
        .family(family)
        .await?
        .map(|f| f.number)
        .unwrap_or_default();
    let regies = state.db.billing().regies().await?;
    let organisation = state.config.organisation_name.clone();
    let number = certificate.number.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        pdf::render(&pdf::CertificatePdf {
            certificate: &certificate,
            organisation: &organisation,
            regies: &regies,
            family: &names,
            address: &address,
            family_number,
        })
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
    .map_err(AppError::Internal)?;
    Ok((number, bytes))
}

/// In January, the tax certificates of the year before: drawn for every family
/// that paid childcare of a child under six then, each told once (in the
/// transaction that draws it). A family whose drawing fails is logged and the
/// round goes on. Returns how many were drawn.
pub async fn announce_tax_certificates(state: &AppState) -> AppResult<usize> {
    let today = paris_date(state.clock.now());
    if today.month() != 1 {
        return Ok(0);
    }
    let year = today.year() - 1;
    let mut drawn = 0;
    for family_id in store::families_to_announce(&state.db, year).await? {
        match draw(state, family_id, year, true).await {
            Ok(true) => drawn += 1,
            Ok(false) => {}
            Err(e) => tracing::error!(family = %family_id, error = %e, "tax certificate not drawn"),
        }
    }
    Ok(drawn)
}
