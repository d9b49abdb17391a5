//! Certificates: a family's payment and tax certificates of a year. Amounts are
//! integer cents of euro; days are Europe/Paris.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use crate::certificates::{CertificateKind, CertificateRow};

wire! {
    /// A numbered certificate; its PDF is at `/api/v1/certificates/{id}/pdf`.
    pub struct Certificate {
        pub id: Uuid,
        pub kind: CertificateKind,
        pub year: i32,
        /// `ATT-2027-000001`, `FISC-2027-000001`.
        pub number: String,
        pub issued_on: NaiveDate,
        pub total_cents: i64,
        /// Per child (and per activity on the payment certificate).
        pub rows: Vec<CertificateRow>,
        pub created_at: DateTime<Utc>,
    }
}
