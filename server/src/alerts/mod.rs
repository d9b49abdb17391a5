//! `GET /api/v1/alerts`: the red banner. A document an activity requires and the
//! family lacks (missing, refused or expired) for a child who may attend it, and a
//! dossier still waiting for validation. Computed from the same facts as the booking
//! check, so banner and refusals always agree.

use std::collections::BTreeMap;

pub mod http;

use chrono::Duration;
use famille_model::ErrorCode;
use famille_model::api::{Alert, AlertKind};
use famille_model::booking::SessionStatus;
use famille_model::calendar::paris_date;
use famille_model::dossier::FamilyStatus;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::catalog::missing_documents;

/// How far ahead sessions make a missing document an alert.
const HORIZON_DAYS: i64 = 120;

/// The family's active alerts.
pub async fn for_family(state: &AppState, family_id: Uuid) -> AppResult<Vec<Alert>> {
    let family = state
        .db
        .families()
        .family(family_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut alerts = Vec::new();
    if family.status != FamilyStatus::Active {
        alerts.push(Alert {
            id: AlertKind::DossierPending.as_str().to_owned(),
            kind: AlertKind::DossierPending,
            child_id: None,
            document_type_id: None,
            message: ErrorCode::DossierPending.label_fr().to_owned(),
            blocks: Vec::new(),
        });
    }
    let today = paris_date(state.clock.now());
    let records = state.db.billing().quotient_records(family_id).await?;
    if let Some(until) = famille_model::billing::quotient_expiring(&records, today) {
        alerts.push(Alert {
            id: format!("{}:{until}", AlertKind::QuotientExpiring.as_str()),
            kind: AlertKind::QuotientExpiring,
            child_id: None,
            document_type_id: None,
            message: format!(
                "Votre quotient familial n'est plus valable après le {} : envoyez votre nouvelle attestation CAF ou MSA, sinon le tarif maximum s'appliquera.",
                famille_model::fr::date(until)
            ),
            blocks: Vec::new(),
        });
    }
    let catalog = state.db.catalog();
    let children = state.db.families().children(family_id, today).await?;
    let activities = catalog.activities().await?;
    let requirements = catalog.requirements().await?;
    let documents = catalog.valid_documents(family_id).await?;
    let horizon = today
        .checked_add_signed(Duration::days(HORIZON_DAYS))
        .unwrap_or(today);
    let sessions = catalog.sessions_between(today, horizon).await?;
    // (child, document type) → (label, activities blocked)
    let mut missing: BTreeMap<(Uuid, Uuid), (String, Vec<String>)> = BTreeMap::new();
    for child in &children {
        for activity in &activities {
            let Some(first) = sessions.iter().find(|s| {
                s.activity_id == activity.id
                    && s.status == SessionStatus::Open
                    && activity
                        .eligibility
                        .admits(child.birth_date, child.level_on(s.date), s.date)
            }) else {
                continue;
            };
            let needed: Vec<_> = requirements
                .iter()
                .filter(|r| r.activity_id == activity.id)
                .collect();
            for requirement in &needed {
                if !missing_documents(
                    std::iter::once(*requirement),
                    &documents,
                    child.id,
                    first.date,
                )
                .is_empty()
                {
                    let entry = missing
                        .entry((child.id, requirement.document_type_id))
                        .or_insert_with(|| (requirement.label.clone(), Vec::new()));
                    if !entry.1.contains(&activity.name) {
                        entry.1.push(activity.name.clone());
                    }
                }
            }
        }
    }
    for ((child_id, document_type_id), (label, blocks)) in missing {
        let first_name = children
            .iter()
            .find(|c| c.id == child_id)
            .map(|c| c.first_name.as_str())
            .unwrap_or("");
        alerts.push(Alert {
            id: format!("document_required:{child_id}:{document_type_id}"),
            kind: AlertKind::DocumentRequired,
            child_id: Some(child_id),
            document_type_id: Some(document_type_id),
            message: format!(
                "{label} à fournir pour {first_name}. Envoyez-le depuis « Mes démarches » ; dès sa validation vous pourrez réserver."
            ),
            blocks,
        });
    }
    Ok(alerts)
}
