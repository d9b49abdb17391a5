//! Checks of what the services enter for billing: QF records, régies, tariffs, the
//! month of a run.

use chrono::{Datelike, NaiveDate};

use super::{Checked, FieldError, Fields, Form, service_date, text};
use crate::api::{QuotientFetch, QuotientRecordInput, RegieInput};
use crate::billing::{Bracket, Pricing, Tariff};

/// The highest amount of one day or one surcharge: 1,000 € (a slip of the keyboard
/// beyond, or an overflow waiting to happen).
pub const MAX_DAY_CENTS: i64 = 100_000;
/// The highest QF anyone enters (euros).
pub const MAX_QUOTIENT: u32 = 100_000;

/// A QF record: a plausible value, a range within the services' years whose end
/// is not before its start.
pub fn quotient_record(q: &QuotientRecordInput) -> Form<QuotientRecordInput> {
    let mut e = Fields::default();
    if q.value > MAX_QUOTIENT {
        e.push(FieldError::new(
            "value",
            "le quotient familial semble trop élevé",
        ));
    }
    e.take(service_date("valid_from", q.valid_from));
    if let Some(until) = q.valid_until
        && e.take(service_date("valid_until", until)).is_some()
        && until < q.valid_from
    {
        e.push(FieldError::new(
            "valid_until",
            "la fin de validité précède son début",
        ));
    }
    e.finish(|| q.clone())
}

/// The longest allocataire number we send: CAF numbers have 7 digits, MSA ones up
/// to 13 (a NIR); more is a slip of the keyboard.
pub const MAX_ALLOCATAIRE_DIGITS: usize = 13;

/// What is fetched from API Particulier: an allocataire number of digits and a
/// postal code, both read in NFKC with the spaces taken out (`１２３ ４５６７` typed
/// on a phone's full-width keyboard is `1234567`).
pub fn quotient_fetch(q: &QuotientFetch) -> Form<QuotientFetch> {
    use unicode_normalization::UnicodeNormalization;
    let digits = |raw: &str| -> String { raw.nfkc().filter(|c| !c.is_whitespace()).collect() };
    let mut e = Fields::default();
    let allocataire = digits(&q.allocataire);
    if allocataire.is_empty()
        || allocataire.len() > MAX_ALLOCATAIRE_DIGITS
        || !allocataire.chars().all(|c| c.is_ascii_digit())
    {
        e.push(FieldError::new(
            "allocataire",
            format!("le numéro d'allocataire compte de 1 à {MAX_ALLOCATAIRE_DIGITS} chiffres"),
        ));
    }
    let postal_code = e.take(super::postal_code("postal_code", &digits(&q.postal_code)));
    e.finish(|| QuotientFetch {
        allocataire,
        postal_code: postal_code.unwrap_or_default(),
    })
}

/// A régie: a short upper-case code (in invoice numbers), a name and an address,
/// a due delay of at most a year, a minimum amount of at most 100 €.
pub fn regie(r: &RegieInput) -> Form<RegieInput> {
    let mut e = Fields::default();
    let code = r.code.trim();
    if code.is_empty()
        || code.len() > 10
        || !code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        e.push(FieldError::new(
            "code",
            "lettres majuscules et chiffres, 10 au plus",
        ));
    }
    let name = e.take(text("name", &r.name, 100));
    let address = e.take(text("address", &r.address, 500));
    let note = e.take(super::optional_text(
        "payment_note",
        Some(&r.payment_note),
        1000,
    ));
    if r.due_days > 365 {
        e.push(FieldError::new("due_days", "365 jours au plus"));
    }
    if !(0..=10_000).contains(&r.min_amount_cents) {
        e.push(FieldError::new(
            "min_amount_cents",
            "de 0 à 10 000 centimes",
        ));
    }
    let mut territory = Vec::new();
    if r.territory.len() > 500 {
        e.push(FieldError::new("territory", "500 codes postaux au plus"));
    }
    for code in r.territory.iter().take(500) {
        if let Some(code) = e.take(super::postal_code("territory", code)) {
            territory.push(code);
        }
    }
    // PayFiP's client number: six digits, given by the DGFiP to the régie ("" takes
    // it away; left out, a change keeps it).
    let numcli = r.payfip_numcli.as_deref().map(str::trim);
    if let Some(n) = numcli
        && !n.is_empty()
        && (n.len() != 6 || !n.chars().all(|c| c.is_ascii_digit()))
    {
        e.push(FieldError::new(
            "payfip_numcli",
            "le numéro client PayFiP compte 6 chiffres",
        ));
    }
    e.finish(|| RegieInput {
        code: code.to_owned(),
        name: name.unwrap_or_default(),
        address: address.unwrap_or_default(),
        due_days: r.due_days,
        min_amount_cents: r.min_amount_cents,
        payment_note: note.flatten().unwrap_or_default(),
        territory,
        payfip_numcli: numcli.map(str::to_owned),
        payfip_mode: r.payfip_mode,
    })
}

fn cents(e: &mut Fields, field: &str, value: i64) {
    if !(0..=MAX_DAY_CENTS).contains(&value) {
        e.push(FieldError::new(field, "un montant de 0 à 100 000 centimes"));
    }
}

fn pricing(e: &mut Fields, field: &str, p: &Pricing) {
    match p {
        Pricing::Flat { cents: c } => cents(e, &format!("{field}.cents"), *c),
        Pricing::Brackets { brackets } => {
            let field = format!("{field}.brackets");
            if brackets.is_empty() || brackets.len() > 30 {
                e.push(FieldError::new(&field, "de 1 à 30 tranches"));
                return;
            }
            let mut sorted: Vec<&Bracket> = brackets.iter().collect();
            sorted.sort_by_key(|b| b.qf_min);
            for (i, b) in sorted.iter().enumerate() {
                cents(e, &field, b.cents);
                if b.qf_max.is_some_and(|max| max < b.qf_min) {
                    e.push(FieldError::new(
                        &field,
                        "une tranche finit avant de commencer",
                    ));
                }
                if let Some(next) = sorted.get(i + 1)
                    && b.qf_max.is_none_or(|max| max >= next.qf_min)
                {
                    e.push(FieldError::new(&field, "deux tranches se chevauchent"));
                }
            }
        }
        Pricing::EffortRate {
            rate_ppm,
            floor_cents,
            ceiling_cents,
        } => {
            if *rate_ppm == 0 || *rate_ppm > 100_000 {
                e.push(FieldError::new(
                    &format!("{field}.rate_ppm"),
                    "un taux de 1 à 100 000 millionièmes (10 %)",
                ));
            }
            cents(e, &format!("{field}.floor_cents"), *floor_cents);
            cents(e, &format!("{field}.ceiling_cents"), *ceiling_cents);
            if floor_cents > ceiling_cents {
                e.push(FieldError::new(
                    &format!("{field}.ceiling_cents"),
                    "le plafond est sous le plancher",
                ));
            }
        }
    }
}

/// A tariff: amounts from 0 to 1,000 €, brackets that do not overlap, a taux
/// d'effort with its floor under its ceiling, sibling reductions of at most 100 %.
pub fn tariff(t: &Tariff) -> Form<Tariff> {
    let mut e = Fields::default();
    pricing(&mut e, "tariff.pricing", &t.pricing);
    if let Some(other) = &t.non_resident {
        pricing(&mut e, "tariff.non_resident", other);
    }
    if let Some(meal) = t.meal_cents {
        cents(&mut e, "tariff.meal_cents", meal);
    }
    if let Some(extra) = t.surcharge_cents {
        cents(&mut e, "tariff.surcharge_cents", extra);
    }
    if t.sibling_percent.len() > 10 || t.sibling_percent.iter().any(|&p| p > 100) {
        e.push(FieldError::new(
            "tariff.sibling_percent",
            "10 rangs au plus, de 0 à 100 %",
        ));
    }
    e.finish(|| t.clone())
}

/// A month `"YYYY-MM"`: its first day.
pub fn month(field: &str, raw: &str) -> Checked<NaiveDate> {
    let bad = || FieldError::new(field, "un mois au format AAAA-MM");
    let (y, m) = raw.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let (y, m) = (
        y.parse::<i32>().map_err(|_| bad())?,
        m.parse::<u32>().map_err(|_| bad())?,
    );
    let first = NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)?;
    service_date(field, first)
}

/// The `"YYYY-MM"` of a day.
pub fn month_of(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(b: &[(u32, Option<u32>, i64)]) -> Tariff {
        Tariff {
            pricing: Pricing::Brackets {
                brackets: b
                    .iter()
                    .map(|&(qf_min, qf_max, cents)| Bracket {
                        qf_min,
                        qf_max,
                        cents,
                    })
                    .collect(),
            },
            non_resident: None,
            meal_cents: Some(380),
            sibling_percent: vec![0, 10],
            surcharge_cents: None,
        }
    }

    #[test]
    fn tariffs_refuse_overlaps_and_absurd_amounts() {
        assert!(tariff(&grid(&[(0, Some(399), 450), (400, None, 700)])).is_ok());
        let errors = tariff(&grid(&[(0, Some(500), 450), (400, None, 700)])).unwrap_err();
        assert_eq!(errors[0].field, "tariff.pricing.brackets");
        assert!(tariff(&grid(&[(0, None, 450), (400, None, 700)])).is_err());
        assert!(tariff(&grid(&[(0, None, -1)])).is_err());
        assert!(tariff(&grid(&[])).is_err());
        let mut t = grid(&[(0, None, 450)]);
        t.pricing = Pricing::EffortRate {
            rate_ppm: 8000,
            floor_cents: 900,
            ceiling_cents: 100,
        };
        let errors = tariff(&t).unwrap_err();
        assert_eq!(errors[0].field, "tariff.pricing.ceiling_cents");
    }

    #[test]
    fn allocataire_numbers_typed_on_any_keyboard() {
        let fetch = |a: &str, p: &str| {
            quotient_fetch(&QuotientFetch {
                allocataire: a.into(),
                postal_code: p.into(),
            })
        };
        let read = fetch("１２３ ４５６７", "33\u{a0}360").unwrap();
        assert_eq!(read.allocataire, "1234567");
        assert_eq!(read.postal_code, "33360");
        for bad in ["", "12a4567", "12345678901234", "-1234567"] {
            let errors = fetch(bad, "33360").unwrap_err();
            assert_eq!(errors[0].field, "allocataire", "{bad:?}");
        }
        let errors = fetch("1234567", "3336").unwrap_err();
        assert_eq!(errors[0].field, "postal_code");
        assert_eq!(fetch("x", "y").unwrap_err().len(), 2, "both fields named");
    }

    #[test]
    fn months_are_read_strictly() {
        assert_eq!(
            month("month", "2027-03").unwrap(),
            NaiveDate::from_ymd_opt(2027, 3, 1).unwrap()
        );
        for bad in [
            "2027-3", "2027-13", "27-03", "2027/03", "", "+2027-03", "9999-01",
        ] {
            assert!(month("month", bad).is_err(), "{bad}");
        }
        assert_eq!(
            month_of(NaiveDate::from_ymd_opt(2027, 3, 9).unwrap()),
            "2027-03"
        );
    }
}
