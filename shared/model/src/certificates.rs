//! Certificates (issue 14): what a family paid in a year, and the childcare costs
//! it may declare for the tax credit of CGI art. 200 quater B. Pure: the server
//! numbers and draws them, the phone lists them.
//!
//! Amounts are integer cents of euro, counted from the payments received in the
//! year (Europe/Paris) and what they paid, line by line.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::billing::LineKind;

vocabulary! {
    /// The two certificates of the guide's « Attestation de paiement » page.
    CertificateKind {
        Payment => "payment", "Attestation de paiement";
        Tax => "tax", "Attestation fiscale (frais de garde des enfants de moins de 6 ans)";
    }
}

/// The ceiling of childcare costs per child for the tax credit on the costs of
/// `year` (CGI art. 200 quater B: 3,500 € since the costs of 2022, 2,300 € before),
/// halved for each parent when the child lives alternately with both (résidence
/// alternée): printed on the tax certificate, applied by the tax office.
pub fn tax_ceiling_cents(year: i32) -> i64 {
    if year >= 2022 { 350_000 } else { 230_000 }
}

/// What a payment put on one invoice line, with what the certificates need of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidLine {
    pub child_id: Uuid,
    pub child: String,
    pub birth_date: NaiveDate,
    pub activity: String,
    pub kind: LineKind,
    /// Net of reversals and of what credit notes gave back.
    pub cents: i64,
}

/// One row of a certificate: a child, an activity (empty on the tax certificate)
/// and what was paid for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertificateRow {
    pub child_id: Uuid,
    pub child: String,
    pub birth_date: NaiveDate,
    pub activity: String,
    pub cents: i64,
}

/// Whether a child counts for the tax credit on the costs of `year`: under six
/// on 1 January of that year (CGI art. 200 quater B: « enfants âgés de moins de
/// six ans au 1er janvier de l'année d'imposition »), so born after 1 January six
/// years earlier; a child born during the year counts too.
pub fn under_six_on_january_first(birth_date: NaiveDate, year: i32) -> bool {
    NaiveDate::from_ymd_opt(year - 6, 1, 1).is_some_and(|limit| birth_date > limit)
}

/// The payment certificate's rows: what was paid per child and per activity
/// (meals and surcharges included: it is what the family paid), children and
/// activities in alphabetical order; rows that come to nothing left out.
pub fn payment_rows(lines: &[PaidLine]) -> Vec<CertificateRow> {
    rows(lines.iter(), true)
}

/// The tax certificate's rows: per child under six on 1 January of `year`, the
/// childcare paid, **without meals and surcharges** (not childcare costs).
pub fn tax_rows(lines: &[PaidLine], year: i32) -> Vec<CertificateRow> {
    rows(
        lines.iter().filter(|l| {
            l.kind == LineKind::Activity && under_six_on_january_first(l.birth_date, year)
        }),
        false,
    )
}

fn rows<'a>(lines: impl Iterator<Item = &'a PaidLine>, by_activity: bool) -> Vec<CertificateRow> {
    let mut out: Vec<CertificateRow> = Vec::new();
    for l in lines {
        let activity = if by_activity { l.activity.as_str() } else { "" };
        match out
            .iter_mut()
            .find(|r| r.child_id == l.child_id && r.activity == activity)
        {
            Some(row) => row.cents += l.cents,
            None => out.push(CertificateRow {
                child_id: l.child_id,
                child: l.child.clone(),
                birth_date: l.birth_date,
                activity: activity.to_owned(),
                cents: l.cents,
            }),
        }
    }
    out.retain(|r| r.cents > 0);
    out.sort_by(|a, b| (&a.child, &a.activity).cmp(&(&b.child, &b.activity)));
    out
}

/// Whether a certificate of `kind` for `year` may be drawn on `today`: a payment
/// certificate for any year begun (the current one says up to which day); a tax
/// certificate once the year is over (the tax return declares a whole year).
pub fn available(kind: CertificateKind, year: i32, today: NaiveDate) -> bool {
    match kind {
        CertificateKind::Payment => year <= today.year(),
        CertificateKind::Tax => year < today.year(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn line(
        child: u128,
        name: &str,
        born: NaiveDate,
        activity: &str,
        kind: LineKind,
        cents: i64,
    ) -> PaidLine {
        PaidLine {
            child_id: Uuid::from_u128(child),
            child: name.to_owned(),
            birth_date: born,
            activity: activity.to_owned(),
            kind,
            cents,
        }
    }

    #[test]
    fn six_years_old_on_the_first_of_january_no_longer_counts() {
        assert!(under_six_on_january_first(day(2020, 1, 2), 2026));
        assert!(
            !under_six_on_january_first(day(2020, 1, 1), 2026),
            "six that very day"
        );
        assert!(!under_six_on_january_first(day(2019, 6, 30), 2026));
        assert!(under_six_on_january_first(day(2025, 12, 31), 2026));
        assert!(
            under_six_on_january_first(day(2026, 3, 1), 2026),
            "born during the year"
        );
        assert!(
            under_six_on_january_first(day(2024, 2, 29), 2026),
            "leap day"
        );
    }

    #[test]
    fn the_tax_certificate_leaves_out_meals_surcharges_and_older_children() {
        let lou = day(2021, 5, 4);
        let max = day(2018, 9, 1);
        let lines = [
            line(
                1,
                "Lou",
                lou,
                "Accueil de loisirs",
                LineKind::Activity,
                1250,
            ),
            line(1, "Lou", lou, "Accueil de loisirs", LineKind::Meal, 380),
            line(
                1,
                "Lou",
                lou,
                "Accueil de loisirs",
                LineKind::Surcharge,
                500,
            ),
            line(1, "Lou", lou, "Périscolaire", LineKind::Activity, 300),
            line(1, "Lou", lou, "Périscolaire", LineKind::Activity, -300),
            line(
                2,
                "Max",
                max,
                "Accueil de loisirs",
                LineKind::Activity,
                1250,
            ),
        ];
        let tax = tax_rows(&lines, 2026);
        assert_eq!(tax.len(), 1);
        assert_eq!(
            (
                tax[0].child.as_str(),
                tax[0].cents,
                tax[0].activity.as_str()
            ),
            ("Lou", 1250, "")
        );
        let paid = payment_rows(&lines);
        let summary: Vec<(&str, &str, i64)> = paid
            .iter()
            .map(|r| (r.child.as_str(), r.activity.as_str(), r.cents))
            .collect();
        assert_eq!(
            summary,
            [
                ("Lou", "Accueil de loisirs", 2130),
                ("Max", "Accueil de loisirs", 1250)
            ],
            "what a reversal cancelled is left out"
        );
    }

    #[test]
    fn the_ceiling_rose_with_the_costs_of_2022() {
        assert_eq!(tax_ceiling_cents(2021), 230_000);
        assert_eq!(tax_ceiling_cents(2022), 350_000);
    }

    #[test]
    fn a_tax_certificate_waits_for_the_year_to_end() {
        let today = day(2027, 1, 10);
        assert!(available(CertificateKind::Tax, 2026, today));
        assert!(!available(CertificateKind::Tax, 2027, today));
        assert!(available(CertificateKind::Payment, 2027, today));
        assert!(!available(CertificateKind::Payment, 2028, today));
    }
}
