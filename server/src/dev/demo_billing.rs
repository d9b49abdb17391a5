//! The demo's money (issue 12): the « Régie Enfance », tariffs by six QF brackets
//! on the ALSH options (meals on their own lines), a flat price for the Saturday
//! multisports, and last month's Wednesdays as the TESTBO children lived them
//! (present, absent, excused, cancelled in time and late, one day without booking),
//! so that a newcomer can run billing at once and see invoices.

use chrono::{Datelike, Duration, Months, NaiveDate};
use famille_model::api::RegieInput;
use famille_model::billing::{Bracket, Pricing, Tariff};
use famille_model::booking::{AgeGroup, AttendanceCode, ReservationStatus};
use famille_model::calendar::paris_date;
use uuid::Uuid;

use super::demo::{DemoOptions, insert_day};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::bookings::{NewReservation, insert_reservation, take_place};

/// The six QF brackets of the demo (euros), and the price of a day in each for the
/// three ALSH options, in cents.
const BRACKETS: [(u32, Option<u32>); 6] = [
    (0, Some(399)),
    (400, Some(599)),
    (600, Some(799)),
    (800, Some(1099)),
    (1100, Some(1499)),
    (1500, None),
];
const FULL_DAY: [i64; 6] = [450, 700, 950, 1250, 1550, 1800];
const MORNING_WITH_MEAL: [i64; 6] = [250, 380, 520, 680, 840, 990];
const AFTERNOON: [i64; 6] = [220, 340, 460, 600, 740, 870];

fn grid(prices: [i64; 6], meal: Option<i64>) -> Tariff {
    Tariff {
        pricing: Pricing::Brackets {
            brackets: BRACKETS
                .iter()
                .zip(prices)
                .map(|(&(qf_min, qf_max), cents)| Bracket {
                    qf_min,
                    qf_max,
                    cents,
                })
                .collect(),
        },
        non_resident: None,
        meal_cents: meal,
        sibling_percent: vec![0, 10, 20],
        surcharge_cents: Some(500),
    }
}

pub async fn load(
    state: &AppState,
    family_id: Uuid,
    child_ids: &[Uuid],
    agent: Uuid,
    options: &DemoOptions,
) -> AppResult<()> {
    let now = state.clock.now();
    let billing = state.db.billing();
    let regie = billing
        .insert_regie(
            &RegieInput {
                code: "ENF".into(),
                name: "Régie Enfance".into(),
                address: "Communauté de communes — Régie Enfance\nPlace de la Mairie\n33360 Latresne".into(),
                due_days: 30,
                min_amount_cents: 0,
                payment_note: "Payez en ligne par carte bancaire depuis le Portail Famille (PayFiP), \
                               par chèque à l'ordre du Trésor public ou en espèces à l'accueil de la mairie."
                    .into(),
                territory: vec!["33360".into()],
                // PayFiP in test mode: the local stand-in, or the DGFiP's test
                // payments, take no money.
                payfip_numcli: Some("123456".into()),
                payfip_mode: Some(famille_model::payments::PayfipMode::Test),
            },
            now,
        )
        .await?;
    for (_, ids) in &options.alsh {
        let [full, morning, afternoon] = ids.as_slice() else {
            return Err(AppError::Internal("the ALSH has three options".into()));
        };
        // The meal of the full day and of the morning is billed on its own line.
        for (option, tariff) in [
            (full, grid(FULL_DAY, Some(380))),
            (morning, grid(MORNING_WITH_MEAL, Some(380))),
            (afternoon, grid(AFTERNOON, None)),
        ] {
            billing.set_tariff(*option, regie, &tariff, now).await?;
        }
    }
    let sports = Tariff {
        pricing: Pricing::Flat { cents: 600 },
        non_resident: Some(Pricing::Flat { cents: 900 }),
        meal_cents: None,
        sibling_percent: vec![],
        surcharge_cents: None,
    };
    billing
        .set_tariff(options.sports, regie, &sports, now)
        .await?;

    // Last month's Wednesdays at the 6-11 year olds' ALSH.
    let (activity_id, alsh) = &options.alsh[0];
    let today = paris_date(now);
    let first = today
        .with_day(1)
        .and_then(|d| d.checked_sub_months(Months::new(1)))
        .ok_or_else(|| AppError::Internal("no last month".into()))?;
    let mut wednesdays: Vec<NaiveDate> = (0..31)
        .map(|d| first + Duration::days(d))
        .filter(|d| d.month() == first.month() && d.weekday() == chrono::Weekday::Wed)
        .collect();
    wednesdays.truncate(4);
    let [elena, valentine, luc, _chloe] = child_ids else {
        return Err(AppError::Internal(
            "the demo family has four children".into(),
        ));
    };
    let mut days = Vec::new();
    for date in &wednesdays {
        days.push(insert_day(state, *activity_id, alsh, *date, (24, None, None), now).await?);
    }
    let mut attendance = Vec::new();
    let mut tx = state.db.begin_at(now).await?;
    for (week, sessions) in days.iter().enumerate() {
        let (full, morning) = (sessions[0], sessions[1]);
        // Elena: the full day every week; absent without excuse the second (billed).
        let elena_code = if week == 1 {
            AttendanceCode::Absent
        } else {
            AttendanceCode::Present
        };
        book(
            &mut tx,
            family_id,
            *elena,
            full,
            ReservationStatus::Reserved,
        )
        .await?;
        attendance.push((full, *elena, elena_code));
        // Valentine: mornings with the meal; excused the first week (a medical
        // certificate: not billed), cancelled late the third (billed), in time the last.
        let status = match week {
            2 => ReservationStatus::LateCancelled,
            3 => ReservationStatus::Cancelled,
            _ => ReservationStatus::Reserved,
        };
        book(&mut tx, family_id, *valentine, morning, status).await?;
        match week {
            0 => attendance.push((morning, *valentine, AttendanceCode::Excused)),
            1 => attendance.push((morning, *valentine, AttendanceCode::Present)),
            _ => {}
        }
        // Luc came once without booking: billed with the surcharge.
        if week == 0 {
            attendance.push((full, *luc, AttendanceCode::PresentUnbooked));
        }
    }
    tx.commit().await?;
    for (session, child, code) in attendance {
        state
            .db
            .bookings()
            .record_attendance(session, child, code, agent, now)
            .await?;
    }
    Ok(())
}

/// A reservation of a past day, as it ended up (the booking rules were met then).
async fn book(
    tx: &mut crate::store::Tx,
    family_id: Uuid,
    child_id: Uuid,
    session_id: Uuid,
    status: ReservationStatus,
) -> AppResult<()> {
    if status.holds_place() {
        take_place(tx, session_id, AgeGroup::Older).await?;
    }
    insert_reservation(
        tx,
        &NewReservation {
            id: Uuid::now_v7(),
            session_id,
            child_id,
            family_id,
            status,
            group: AgeGroup::Older,
        },
    )
    .await?;
    Ok(())
}
