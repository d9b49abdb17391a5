//! Documents: what the family sent and its status, the services' decisions, the
//! types of documents they ask for.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::DocumentScope;
use crate::dossier::DocumentValidity;

vocabulary! {
    /// Where a document stands.
    DocumentStatus {
        Pending => "pending", "En attente de validation";
        Validated => "validated", "Validé";
        Refused => "refused", "Refusé";
    }
}

vocabulary! {
    /// What an agent does with a pending document.
    DocumentVerdict {
        Validate => "validate", "Valider";
        Refuse => "refuse", "Refuser";
    }
}

wire! {
    /// A document the family sent, as the phone shows it: "Déposé le …", "Validé",
    /// "Refusé : motif".
    pub struct DocumentSnapshot {
        pub id: Uuid,
        pub document_type_id: Uuid,
        /// e.g. "Carnet de vaccination".
        pub document_type: String,
        /// `None` for a family document (justificatif de domicile…).
        pub child_id: Option<Uuid>,
        pub status: DocumentStatus,
        pub submitted_at: DateTime<Utc>,
        pub decided_at: Option<DateTime<Utc>>,
        pub valid_until: Option<NaiveDate>,
        /// The services' reason, in French, when refused.
        pub refusal_reason: Option<String>,
    }

    /// A document waiting for (or past) the services' decision, as agents list it.
    pub struct StaffDocument {
        pub id: Uuid,
        pub family_id: Uuid,
        pub family_number: i64,
        /// The guardians' last names, as agents search them.
        pub family_name: String,
        pub child_id: Option<Uuid>,
        pub child_first_name: Option<String>,
        pub document_type_id: Uuid,
        pub document_type: String,
        pub status: DocumentStatus,
        pub submitted_at: DateTime<Utc>,
        pub valid_until: Option<NaiveDate>,
        pub refusal_reason: Option<String>,
    }

    /// An agent's decision on a pending document (`…/validate` or `…/refuse`).
    pub struct DocumentDecision {
        /// Validation: the end of validity when the document has one (an insurance
        /// certificate for the school year); none for a document valid until
        /// replaced.
        #[serde(default)]
        pub valid_until: Option<NaiveDate>,
        /// Refusal: the reason the parent reads (required to refuse).
        #[serde(default)]
        pub reason: Option<String>,
    }

    /// A kind of document the services ask for.
    pub struct DocumentType {
        pub id: Uuid,
        /// Stable code, e.g. `carnet_vaccination`.
        pub code: String,
        pub label: String,
        pub scope: DocumentScope,
        pub validity: DocumentValidity,
    }

    pub struct DocumentTypeInput {
        pub code: String,
        pub label: String,
        pub scope: DocumentScope,
        pub validity: DocumentValidity,
    }
}
