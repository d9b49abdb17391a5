//! What a day costs and what is billed (issue 12): the family's quotient familial
//! (QF) on a day, the tariff modes of an activity option (flat, QF brackets, taux
//! d'effort), resident and non-resident prices, the sibling reduction, which days of
//! which status are billed and on which lines, and the rounding of amounts.
//!
//! Pure functions, used by the server's billing run and by the phone, which shows a
//! day's price offline before the parent books: one decision, written once.
//!
//! Amounts are integer cents of euro (`i64`, negative only on credit notes); a QF is
//! in whole euros (what the CAF and the MSA give). Rounding is to the cent, half away
//! from zero, once per line (public accounting rounds each line it shows).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::booking::{AttendanceCode, ReservationStatus};
use crate::dossier::QuotientSource;

vocabulary! {
    /// How a tariff sets the price of a day.
    TariffMode {
        Flat => "flat", "Prix unique";
        Brackets => "brackets", "Tranches de quotient familial";
        EffortRate => "effort_rate", "Taux d'effort";
    }
}

vocabulary! {
    /// The kind of an invoice line. Meals and surcharges have their own lines: the
    /// tax certificate for childcare (CGI art. 200 quater B) leaves them out.
    LineKind {
        Activity => "activity", "Activité";
        Meal => "meal", "Repas";
        Surcharge => "surcharge", "Majoration";
    }
}

/// A quotient familial record of a family: `value` in euros, valid from `valid_from`
/// to `valid_until` included (open-ended when `None`). The sources are the
/// dossier's (`api_particulier` and the agents' `manual` entries join them with
/// the stored records of issue 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotientRecord {
    pub value: u32,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub source: QuotientSource,
}

impl QuotientRecord {
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.valid_from <= day && self.valid_until.is_none_or(|until| day <= until)
    }
}

/// The QF that applies to a day: the record whose range covers it; where several
/// do (a new attestation entered before the old one was ended), the one that
/// started last.
pub fn quotient_on(records: &[QuotientRecord], day: NaiveDate) -> Option<&QuotientRecord> {
    records
        .iter()
        .filter(|q| q.covers(day))
        .max_by_key(|q| q.valid_from)
}

/// Days before its end that a QF asks the family for an update (issue 12).
pub const QUOTIENT_WARNING_DAYS: i64 = 30;

/// The end of the QF that applies `today` when it comes within
/// [`QUOTIENT_WARNING_DAYS`] and no other record takes over the day after: the
/// family should send its new attestation, or pay the highest tariff.
pub fn quotient_expiring(records: &[QuotientRecord], today: NaiveDate) -> Option<NaiveDate> {
    let until = quotient_on(records, today)?.valid_until?;
    let next = until.succ_opt()?;
    let soon = (until - today).num_days() <= QUOTIENT_WARNING_DAYS;
    (soon && quotient_on(records, next).is_none()).then_some(until)
}

/// A bracket of QF (`qf_min` to `qf_max` euros included, open at the top when
/// `None`) and the price of a day in it, in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bracket {
    pub qf_min: u32,
    pub qf_max: Option<u32>,
    pub cents: i64,
}

impl Bracket {
    pub fn holds(&self, qf: u32) -> bool {
        self.qf_min <= qf && self.qf_max.is_none_or(|max| qf <= max)
    }
}

/// How the price of a day is set. On the wire, tagged by `mode` (`flat`,
/// `brackets`, `effort_rate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pricing {
    /// The same price for every family.
    Flat { cents: i64 },
    /// A price per QF bracket.
    Brackets { brackets: Vec<Bracket> },
    /// Taux d'effort: QF x `rate_ppm` (millionths: 8,000 ppm is 0.8 % of the QF, so
    /// a QF of 850 EUR pays 6.80 EUR), kept between `floor_cents` and
    /// `ceiling_cents`, as crèches bill (the CNAF's barème).
    EffortRate {
        rate_ppm: u32,
        floor_cents: i64,
        ceiling_cents: i64,
    },
}

impl Pricing {
    pub fn mode(&self) -> TariffMode {
        match self {
            Pricing::Flat { .. } => TariffMode::Flat,
            Pricing::Brackets { .. } => TariffMode::Brackets,
            Pricing::EffortRate { .. } => TariffMode::EffortRate,
        }
    }

    /// The highest price of this pricing: what a family without a known QF pays.
    pub fn highest_cents(&self) -> i64 {
        match self {
            Pricing::Flat { cents } => *cents,
            Pricing::Brackets { brackets } => brackets.iter().map(|b| b.cents).max().unwrap_or(0),
            Pricing::EffortRate {
                floor_cents,
                ceiling_cents,
                ..
            } => (*ceiling_cents).max(*floor_cents),
        }
    }
}

/// The tariff of an activity option: the day's price, the meal's when the option
/// includes one, the price for families living outside the territory when it
/// differs, the sibling reduction, and the surcharge (majoration) of a late
/// booking or of a child present without booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Tariff {
    pub pricing: Pricing,
    /// For families not resident in the territory; the resident pricing otherwise.
    pub non_resident: Option<Pricing>,
    /// The meal of the day, billed on its own line with the day.
    pub meal_cents: Option<i64>,
    /// Reduction in percent by the child's rank among siblings (index 0 the eldest,
    /// the last value for every further rank): `[0, 10, 20]`.
    pub sibling_percent: Vec<u8>,
    /// Added on its own line to a late booking or a child present without booking.
    pub surcharge_cents: Option<i64>,
}

/// Why the price of a day is not the family's own bracket: the services see it in
/// the billing run's anomalies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PriceAnomaly {
    /// No QF covers the day: the highest tariff applies (the guide: « c'est le tarif
    /// maximum qui est appliqué »).
    NoQuotient,
    /// The QF falls in no bracket (a gap in the grid): the highest tariff applies.
    OutsideBrackets { qf: u32 },
}

/// The price of one day for one child, before rounding to a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayPrice {
    /// The unit price in cents, sibling reduction applied, rounded.
    pub cents: i64,
    /// The bracket used, when the pricing has brackets and the family is in one.
    pub bracket: Option<Bracket>,
    pub anomaly: Option<PriceAnomaly>,
}

/// Rounds `numerator / denominator` to the nearest integer, half away from zero.
/// `denominator` must be positive.
pub fn round_half_away(numerator: i128, denominator: i128) -> i64 {
    debug_assert!(denominator > 0);
    let half = denominator / 2;
    let rounded = if numerator >= 0 {
        (numerator + half) / denominator
    } else {
        (numerator - half) / denominator
    };
    // Amounts of a day fit: saturate rather than wrap on absurd settings.
    rounded.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The price of a day shown before booking (calendar cells, offline on the phone):
/// the day at this QF and residence, as for the eldest child, with its meal. The
/// sibling reduction and a late surcharge are the invoice's.
pub fn shown_price(tariff: &Tariff, qf: Option<u32>, resident: bool) -> i64 {
    price_day(tariff, qf, resident, 1).cents + tariff.meal_cents.unwrap_or(0)
}

/// The price of a day for a child of this rank (1 the eldest) in a family with this
/// QF (`None`: none known for that day), resident or not.
pub fn price_day(tariff: &Tariff, qf: Option<u32>, resident: bool, rank: u32) -> DayPrice {
    let pricing = match (&tariff.non_resident, resident) {
        (Some(other), false) => other,
        _ => &tariff.pricing,
    };
    let (base, bracket, anomaly) = match (pricing, qf) {
        (Pricing::Flat { cents }, _) => (*cents, None, None),
        (_, None) => (
            pricing.highest_cents(),
            None,
            Some(PriceAnomaly::NoQuotient),
        ),
        (Pricing::Brackets { brackets }, Some(qf)) => match brackets.iter().find(|b| b.holds(qf)) {
            Some(b) => (b.cents, Some(*b), None),
            None => (
                pricing.highest_cents(),
                None,
                Some(PriceAnomaly::OutsideBrackets { qf }),
            ),
        },
        (
            Pricing::EffortRate {
                rate_ppm,
                floor_cents,
                ceiling_cents,
            },
            Some(qf),
        ) => {
            // QF euros x 100 cents x rate / 1,000,000.
            let raw = round_half_away(i128::from(qf) * i128::from(*rate_ppm), 10_000);
            let (low, high) = (
                *floor_cents.min(ceiling_cents),
                *ceiling_cents.max(floor_cents),
            );
            (raw.clamp(low, high), None, None)
        }
    };
    let percent = sibling_percent(tariff, rank);
    let cents = round_half_away(i128::from(base) * i128::from(100 - percent), 100);
    DayPrice {
        cents,
        bracket,
        anomaly,
    }
}

/// The reduction in percent for a child of this rank (1 the eldest), capped at 100.
pub fn sibling_percent(tariff: &Tariff, rank: u32) -> i64 {
    let index = (rank.max(1) - 1) as usize;
    let percent = tariff
        .sibling_percent
        .get(index)
        .or(tariff.sibling_percent.last())
        .copied()
        .unwrap_or(0);
    i64::from(percent.min(100))
}

/// A child's rank among the siblings billed together (1 the eldest): children
/// ranked by birth date, eldest first, and by id where two share a birth date
/// (twins), so that the rank never depends on the order of a query.
pub fn sibling_rank(siblings: &[(Uuid, NaiveDate)], child: Uuid) -> u32 {
    let Some(&(_, born)) = siblings.iter().find(|(id, _)| *id == child) else {
        return 1;
    };
    let older = siblings
        .iter()
        .filter(|(id, birth)| (*birth, *id) < (born, child))
        .count();
    older as u32 + 1
}

/// Whether a day is billed, from its reservation (if any) and the attendance taken
/// (if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Billing {
    /// Nothing to bill (cancelled in time, excused, waitlisted, refused, still
    /// awaiting approval, nothing booked nor seen).
    No,
    /// The day (and its meal) is billed; `surcharge` adds the majoration line.
    Yes { surcharge: bool },
}

/// What is billed for a day. The rules (issue 12, the guide's legend):
/// - reserved and late days (late booking, late cancellation) are billed, a late
///   booking with the surcharge; a day cancelled in time is not;
/// - an unjustified absence (Ab) is billed; an excused one (AbE) is not, nor a school
///   outing (S: the school had the child, the service did not);
/// - a child present without booking (or pointed M) is billed with the surcharge;
/// - a waitlisted or refused day never is, nor one still awaiting approval (it is
///   billed by a later run once approved).
pub fn billing(status: Option<ReservationStatus>, attendance: Option<AttendanceCode>) -> Billing {
    use AttendanceCode as A;
    use ReservationStatus as R;
    match attendance {
        Some(A::Excused | A::SchoolTrip) => return Billing::No,
        Some(A::PresentUnbooked | A::Surcharge) => return Billing::Yes { surcharge: true },
        Some(A::Present | A::Absent) | None => {}
    }
    match status {
        Some(R::Reserved | R::LateCancelled) => Billing::Yes { surcharge: false },
        Some(R::LateBooked) => Billing::Yes { surcharge: true },
        Some(R::PendingApproval | R::Waitlisted | R::Cancelled | R::Refused) | None => {
            // Seen present though nothing holds a place: present without booking.
            if attendance == Some(A::Present) {
                Billing::Yes { surcharge: true }
            } else {
                Billing::No
            }
        }
    }
}

/// One line to bill, before numbering: a kind, a quantity and a unit price whose
/// product is the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayLine {
    pub kind: LineKind,
    pub quantity: u32,
    pub unit_cents: i64,
    pub amount_cents: i64,
    /// The QF bracket the activity line was priced in.
    pub bracket: Option<Bracket>,
}

/// The lines of one billed day for one child: the activity, its meal, the surcharge;
/// with the anomaly of the price when there is one.
pub fn day_lines(
    tariff: &Tariff,
    decision: Billing,
    qf: Option<u32>,
    resident: bool,
    rank: u32,
) -> (Vec<DayLine>, Option<PriceAnomaly>) {
    let Billing::Yes { surcharge } = decision else {
        return (Vec::new(), None);
    };
    let price = price_day(tariff, qf, resident, rank);
    let line = |kind, unit_cents: i64, bracket| DayLine {
        kind,
        quantity: 1,
        unit_cents,
        amount_cents: unit_cents,
        bracket,
    };
    let mut lines = vec![line(LineKind::Activity, price.cents, price.bracket)];
    if let Some(meal) = tariff.meal_cents {
        lines.push(line(LineKind::Meal, meal, None));
    }
    if let (true, Some(extra)) = (surcharge, tariff.surcharge_cents) {
        lines.push(line(LineKind::Surcharge, extra, None));
    }
    (lines, price.anomaly)
}

vocabulary! {
    /// An invoice, or a credit note (avoir) that reduces one.
    InvoiceKind {
        Invoice => "invoice", "Facture";
        CreditNote => "credit_note", "Avoir";
    }
}

vocabulary! {
    /// Where an invoice stands for the family (the contract's `status`).
    InvoiceStatus {
        Issued => "issued", "À payer";
        PartiallyPaid => "partially_paid", "Partiellement payée";
        Paid => "paid", "Payée";
        Cancelled => "cancelled", "Annulée";
    }
}

vocabulary! {
    /// A billing run: a preview until an agent issues it; a newer preview of the
    /// same month and régie supersedes an older one.
    RunStatus {
        Draft => "draft", "Brouillon";
        Issued => "issued", "Émise";
        Superseded => "superseded", "Remplacée";
    }
}

/// The status of an issued invoice of `total_cents`, reduced by its credit notes
/// (`credited_cents`, positive) and paid for `paid_cents`: cancelled when the credit
/// notes leave nothing to pay and nothing was paid, paid when the rest is paid.
pub fn invoice_status(total_cents: i64, credited_cents: i64, paid_cents: i64) -> InvoiceStatus {
    let due = total_cents - credited_cents;
    if due <= 0 && paid_cents == 0 {
        InvoiceStatus::Cancelled
    } else if paid_cents >= due {
        InvoiceStatus::Paid
    } else if paid_cents > 0 {
        InvoiceStatus::PartiallyPaid
    } else {
        InvoiceStatus::Issued
    }
}

/// What issued invoices billed for one line kind of a day: the sum of its lines
/// in every régie (credit notes negative), and whether an agent waived it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Billed {
    pub kind: LineKind,
    pub net_cents: i64,
    pub waived: bool,
}

/// What a billing run does with one day of one child: the kinds to credit (each
/// issued line of that kind, negated) and the kinds to bill (at today's price).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reconcile {
    pub credit: Vec<LineKind>,
    pub bill: Vec<LineKind>,
}

/// Each billable fact is billed exactly once (issue 12), and an issued price is
/// never re-priced. `decision` is what the day's status and attendance say now,
/// `now` the kinds (with a non-zero amount) today's tariff gives for it, `billed`
/// what issued invoices billed for it.
///
/// - A day never billed (or fully credited since) and billable: its lines are
///   billed at today's price.
/// - A day billed and still billable keeps its lines as billed, whatever the
///   tariff, the QF, the residence or the siblings say now (a correction of price
///   is an agent's credit note); only a surcharge follows the facts (added when the
///   day becomes late or unbooked presence, credited when it no longer is).
/// - A day billed and no longer billable (an absence excused after the invoice, a
///   session cancelled) is credited.
/// - What an agent waived is never billed nor credited again.
pub fn reconcile(decision: Billing, now: &[LineKind], billed: &[Billed]) -> Reconcile {
    let mut out = Reconcile::default();
    let had = |kind: LineKind| billed.iter().find(|b| b.kind == kind);
    let waived = |kind: LineKind| had(kind).is_some_and(|b| b.waived);
    let live: Vec<&Billed> = billed
        .iter()
        .filter(|b| b.net_cents != 0 && !b.waived)
        .collect();
    if billed.iter().all(|b| b.net_cents == 0) {
        if decision != Billing::No {
            out.bill = now.iter().copied().filter(|k| !waived(*k)).collect();
        }
        return out;
    }
    match decision {
        Billing::No => out.credit = live.iter().map(|b| b.kind).collect(),
        Billing::Yes { surcharge } => {
            let surcharged = had(LineKind::Surcharge).is_some_and(|b| b.net_cents != 0);
            if !surcharge && surcharged && !waived(LineKind::Surcharge) {
                out.credit.push(LineKind::Surcharge);
            }
            if surcharge
                && !surcharged
                && !waived(LineKind::Surcharge)
                && now.contains(&LineKind::Surcharge)
            {
                out.bill.push(LineKind::Surcharge);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// The demo's ALSH grid: six brackets of QF.
    fn alsh() -> Tariff {
        let grid = [
            (0, Some(399), 450),
            (400, Some(599), 700),
            (600, Some(799), 950),
            (800, Some(1099), 1250),
            (1100, Some(1499), 1550),
            (1500, None, 1800),
        ];
        Tariff {
            pricing: Pricing::Brackets {
                brackets: grid
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
            sibling_percent: vec![0, 10, 20],
            surcharge_cents: Some(500),
        }
    }

    #[test]
    fn the_quotient_of_a_day_is_the_record_covering_it() {
        let old = QuotientRecord {
            value: 700,
            valid_from: day(2026, 1, 1),
            valid_until: Some(day(2026, 12, 31)),
            source: QuotientSource::Caf,
        };
        let new = QuotientRecord {
            value: 850,
            valid_from: day(2026, 9, 1),
            valid_until: None,
            source: QuotientSource::Declared,
        };
        let records = [old, new];
        assert_eq!(quotient_on(&records, day(2025, 12, 31)), None);
        assert_eq!(quotient_on(&records, day(2026, 1, 1)).unwrap().value, 700);
        assert_eq!(quotient_on(&records, day(2026, 8, 31)).unwrap().value, 700);
        // Both cover September: the newer one applies.
        assert_eq!(quotient_on(&records, day(2026, 9, 1)).unwrap().value, 850);
        assert_eq!(quotient_on(&records, day(2030, 1, 1)).unwrap().value, 850);
    }

    #[test]
    fn brackets_and_the_highest_tariff_without_a_quotient() {
        let t = alsh();
        for (qf, cents) in [
            (0, 450),
            (399, 450),
            (400, 700),
            (850, 1250),
            (1099, 1250),
            (1100, 1550),
            (9999, 1800),
        ] {
            let p = price_day(&t, Some(qf), true, 1);
            assert_eq!((p.cents, p.anomaly), (cents, None), "QF {qf}");
            assert!(p.bracket.unwrap().holds(qf));
        }
        let none = price_day(&t, None, true, 1);
        assert_eq!(
            (none.cents, none.anomaly, none.bracket),
            (1800, Some(PriceAnomaly::NoQuotient), None)
        );
        // A gap in the grid: the highest tariff, said.
        let mut gap = alsh();
        if let Pricing::Brackets { brackets: b } = &mut gap.pricing {
            b.retain(|b| b.qf_min != 400);
        }
        let p = price_day(&gap, Some(450), true, 1);
        assert_eq!(
            (p.cents, p.anomaly),
            (1800, Some(PriceAnomaly::OutsideBrackets { qf: 450 }))
        );
        // The highest is the dearest bracket, wherever it sits in the list.
        let reversed = Pricing::Brackets {
            brackets: vec![
                Bracket {
                    qf_min: 0,
                    qf_max: Some(500),
                    cents: 900,
                },
                Bracket {
                    qf_min: 501,
                    qf_max: None,
                    cents: 300,
                },
            ],
        };
        assert_eq!(reversed.highest_cents(), 900);
    }

    #[test]
    fn effort_rate_is_clamped_and_rounded() {
        let t = Tariff {
            pricing: Pricing::EffortRate {
                rate_ppm: 8_000,
                floor_cents: 200,
                ceiling_cents: 1_500,
            },
            non_resident: None,
            meal_cents: None,
            sibling_percent: vec![],
            surcharge_cents: None,
        };
        assert_eq!(price_day(&t, Some(850), true, 1).cents, 680);
        assert_eq!(price_day(&t, Some(100), true, 1).cents, 200, "floor");
        assert_eq!(price_day(&t, Some(5_000), true, 1).cents, 1_500, "ceiling");
        assert_eq!(
            price_day(&t, None, true, 1).cents,
            1_500,
            "no QF: the ceiling"
        );
        // 0.0619 % (crèche barème): 1,234 EUR x 619 ppm = 0.763846 EUR -> 76 cents;
        // 1,235 x 619 = 0.764465 -> 76; 1,237 x 619 = 0.765703 -> 77.
        let creche = Tariff {
            pricing: Pricing::EffortRate {
                rate_ppm: 619,
                floor_cents: 0,
                ceiling_cents: 10_000,
            },
            ..t
        };
        assert_eq!(price_day(&creche, Some(1_234), true, 1).cents, 76);
        assert_eq!(price_day(&creche, Some(1_237), true, 1).cents, 77);
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(round_half_away(5, 10), 1);
        assert_eq!(round_half_away(4, 10), 0);
        assert_eq!(round_half_away(-5, 10), -1);
        assert_eq!(round_half_away(-4, 10), 0);
        assert_eq!(
            round_half_away(1_125 * 90, 100),
            1_013,
            "11.25 EUR less 10 % = 10.125"
        );
        assert_eq!(round_half_away(i128::MAX, 1), i64::MAX);
    }

    #[test]
    fn siblings_rank_by_birth_and_reduce_by_rank() {
        let (a, b, c, d) = (
            Uuid::from_u128(4),
            Uuid::from_u128(3),
            Uuid::from_u128(2),
            Uuid::from_u128(1),
        );
        let family = [
            (a, day(2015, 5, 1)),
            (b, day(2017, 3, 2)),
            (c, day(2019, 1, 1)),
            (d, day(2019, 1, 1)),
        ];
        assert_eq!(sibling_rank(&family, a), 1);
        assert_eq!(sibling_rank(&family, b), 2);
        // Twins: ranked by id, whatever the order given.
        assert_eq!(sibling_rank(&family, d), 3);
        assert_eq!(sibling_rank(&family, c), 4);
        let mut shuffled = family;
        shuffled.reverse();
        assert_eq!(sibling_rank(&shuffled, d), 3);
        let t = alsh();
        let prices: Vec<i64> = (1..=4)
            .map(|rank| price_day(&t, Some(850), true, rank).cents)
            .collect();
        // 12.50, less 10 % (11.25), less 20 % for the third and every further rank.
        assert_eq!(prices, [1250, 1125, 1000, 1000]);
    }

    #[test]
    fn non_residents_pay_their_own_grid() {
        let mut t = alsh();
        t.non_resident = Some(Pricing::Flat { cents: 2_400 });
        assert_eq!(price_day(&t, Some(850), true, 1).cents, 1250);
        let outside = price_day(&t, Some(850), false, 1);
        assert_eq!(
            (outside.cents, outside.bracket, outside.anomaly),
            (2_400, None, None)
        );
    }

    #[test]
    fn every_state_of_a_day_is_billed_or_not() {
        use AttendanceCode as A;
        use ReservationStatus as R;
        let yes = Billing::Yes { surcharge: false };
        let more = Billing::Yes { surcharge: true };
        for status in ReservationStatus::ALL
            .iter()
            .copied()
            .map(Some)
            .chain([None])
        {
            for attendance in AttendanceCode::ALL.iter().copied().map(Some).chain([None]) {
                let want = match (status, attendance) {
                    (_, Some(A::Excused | A::SchoolTrip)) => Billing::No,
                    (_, Some(A::PresentUnbooked | A::Surcharge)) => more,
                    (Some(R::Reserved | R::LateCancelled), _) => yes,
                    (Some(R::LateBooked), _) => more,
                    (_, Some(A::Present)) => more,
                    _ => Billing::No,
                };
                assert_eq!(
                    billing(status, attendance),
                    want,
                    "{status:?} {attendance:?}"
                );
            }
        }
        // The cases the issue names.
        assert_eq!(billing(Some(R::Cancelled), None), Billing::No);
        assert_eq!(billing(Some(R::LateCancelled), None), yes);
        assert_eq!(billing(Some(R::Reserved), Some(A::Absent)), yes);
        assert_eq!(billing(Some(R::Reserved), Some(A::Excused)), Billing::No);
        assert_eq!(billing(None, Some(A::PresentUnbooked)), more);
        assert_eq!(billing(Some(R::Waitlisted), None), Billing::No);
        assert_eq!(billing(Some(R::Refused), None), Billing::No);
    }

    #[test]
    fn a_billed_day_makes_its_lines() {
        let t = alsh();
        let (lines, anomaly) = day_lines(&t, Billing::Yes { surcharge: true }, None, true, 2);
        assert_eq!(anomaly, Some(PriceAnomaly::NoQuotient));
        let got: Vec<(LineKind, i64)> = lines.iter().map(|l| (l.kind, l.amount_cents)).collect();
        // The highest tariff less the second child's 10 %, the meal, the surcharge.
        assert_eq!(
            got,
            [
                (LineKind::Activity, 1620),
                (LineKind::Meal, 380),
                (LineKind::Surcharge, 500)
            ]
        );
        assert!(
            lines
                .iter()
                .all(|l| l.amount_cents == l.unit_cents * i64::from(l.quantity))
        );
        assert_eq!(day_lines(&t, Billing::No, Some(850), true, 1).0, []);
    }

    #[test]
    fn a_day_is_billed_once_and_its_price_stands() {
        use LineKind::{Activity as A, Meal as M, Surcharge as S};
        let yes = Billing::Yes { surcharge: false };
        let late = Billing::Yes { surcharge: true };
        let billed = |kinds: &[(LineKind, i64)]| -> Vec<Billed> {
            kinds
                .iter()
                .map(|&(kind, net_cents)| Billed {
                    kind,
                    net_cents,
                    waived: false,
                })
                .collect()
        };
        let r = |credit: &[LineKind], bill: &[LineKind]| Reconcile {
            credit: credit.to_vec(),
            bill: bill.to_vec(),
        };
        // New: billed at today's price.
        assert_eq!(reconcile(yes, &[A, M], &[]), r(&[], &[A, M]));
        // Billed already: nothing, whatever the tariff says now (a meal added, or gone).
        assert_eq!(reconcile(yes, &[A, M], &billed(&[(A, 1250)])), r(&[], &[]));
        assert_eq!(
            reconcile(yes, &[A], &billed(&[(A, 1250), (M, 380)])),
            r(&[], &[])
        );
        // No longer billable: every billed kind credited.
        assert_eq!(
            reconcile(Billing::No, &[], &billed(&[(A, 1250), (M, 380)])),
            r(&[A, M], &[])
        );
        // The surcharge follows the facts.
        assert_eq!(
            reconcile(late, &[A, M, S], &billed(&[(A, 1250)])),
            r(&[], &[S])
        );
        assert_eq!(
            reconcile(yes, &[A], &billed(&[(A, 1250), (S, 500)])),
            r(&[S], &[])
        );
        // Credited since, billable again: billed anew.
        assert_eq!(reconcile(yes, &[A], &billed(&[(A, 0)])), r(&[], &[A]));
        // Waived by an agent: never again.
        let waived = [Billed {
            kind: A,
            net_cents: 0,
            waived: true,
        }];
        assert_eq!(reconcile(yes, &[A], &waived), r(&[], &[]));
        assert_eq!(reconcile(Billing::No, &[], &[]), r(&[], &[]));
    }

    #[test]
    fn a_quotient_ending_soon_asks_for_an_update_unless_one_follows() {
        let ending = |until| QuotientRecord {
            value: 700,
            valid_from: day(2026, 1, 1),
            valid_until: Some(until),
            source: QuotientSource::Caf,
        };
        let today = day(2026, 12, 1);
        assert_eq!(
            quotient_expiring(&[ending(day(2026, 12, 31))], today),
            Some(day(2026, 12, 31))
        );
        assert_eq!(
            quotient_expiring(&[ending(day(2027, 1, 1))], today),
            None,
            "31 days ahead"
        );
        assert_eq!(
            quotient_expiring(&[ending(day(2026, 11, 30))], today),
            None,
            "over: no QF today"
        );
        let next = QuotientRecord {
            value: 650,
            valid_from: day(2027, 1, 1),
            valid_until: None,
            source: QuotientSource::ApiParticulier,
        };
        assert_eq!(
            quotient_expiring(&[ending(day(2026, 12, 31)), next], today),
            None
        );
        let open = QuotientRecord {
            valid_until: None,
            ..next
        };
        assert_eq!(
            quotient_expiring(
                &[QuotientRecord {
                    valid_from: day(2026, 1, 1),
                    ..open
                }],
                today
            ),
            None
        );
    }

    #[test]
    fn invoice_status_from_credits_and_payments() {
        assert_eq!(invoice_status(4583, 0, 0), InvoiceStatus::Issued);
        assert_eq!(invoice_status(4583, 0, 1000), InvoiceStatus::PartiallyPaid);
        assert_eq!(invoice_status(4583, 583, 4000), InvoiceStatus::Paid);
        assert_eq!(invoice_status(4583, 4583, 0), InvoiceStatus::Cancelled);
        // Paid, then credited: the money is the family's, the invoice is paid.
        assert_eq!(invoice_status(4583, 4583, 4583), InvoiceStatus::Paid);
    }
}
