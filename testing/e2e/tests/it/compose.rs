//! What a parent does offline on one day composes the way they meant it: every
//! sequence of bookings and cancellations (up to four), from a day not booked and
//! from a day booked and synced, with free cancellation open or over, shows a
//! result offline that the server then confirms, without a refusal the phone did
//! not show.

use chrono::{Duration, NaiveTime};
use famille_core::Engine;
use famille_model::booking::{
    BookingRules, CellState, Eligibility, LateBooking, Opening, SkipDays, TimeRule,
};
use famille_model::calendar::paris_date;
use famille_model::queue::QueueState;
use famille_server::store::catalog::{NewActivity, NewSession};
use uuid::Uuid;

use crate::support::{OFFLINE, TestServer, core, parent_core, temp_dir};

#[derive(Debug, Clone, Copy)]
enum Act {
    Book,
    Cancel,
}

fn sequences(max: usize) -> Vec<Vec<Act>> {
    let mut all: Vec<Vec<Act>> = vec![Vec::new()];
    let mut out = Vec::new();
    for _ in 0..max {
        all = all
            .iter()
            .flat_map(|s| {
                [Act::Book, Act::Cancel].map(|a| {
                    let mut next = s.clone();
                    next.push(a);
                    next
                })
            })
            .collect();
        out.extend(all.clone());
    }
    out
}

/// Sessions for any child, one per scenario, whose free cancellation ends
/// `cancel_days` before (200: already over).
async fn sessions(
    server: &TestServer,
    count: usize,
    cancel_days: u32,
) -> Vec<(Uuid, chrono::NaiveDate)> {
    let catalog = server.state.db.catalog();
    let now = server.state.clock.now();
    let time = NaiveTime::from_hms_opt(23, 59, 0).unwrap();
    let rules = BookingRules {
        opening: Opening::Always,
        booking_deadline: TimeRule::DaysBefore {
            days: 1,
            time,
            skip: SkipDays::default(),
        },
        cancellation_deadline: TimeRule::DaysBefore {
            days: cancel_days,
            time,
            skip: SkipDays::default(),
        },
        late_booking: LateBooking::Refused,
        requires_approval: false,
        waitlist: true,
    };
    let category = Uuid::now_v7();
    catalog
        .insert_category(
            category,
            &format!("composition_{cancel_days}"),
            "Composition",
            0,
        )
        .await
        .unwrap();
    let venue = Uuid::now_v7();
    catalog
        .insert_venue(venue, &format!("Salle des fêtes {cancel_days}"), None)
        .await
        .unwrap();
    let activity = Uuid::now_v7();
    catalog
        .insert_activity(&NewActivity {
            id: activity,
            category_id: category,
            venue_id: venue,
            name: "Ateliers du soir",
            description: None,
            eligibility: &Eligibility::default(),
            rules: &rules,
            age_split: None,
            now,
        })
        .await
        .unwrap();
    let option = Uuid::now_v7();
    catalog
        .insert_option(option, activity, "Soirée", 0, now)
        .await
        .unwrap();
    let today = paris_date(now);
    let mut made = Vec::new();
    for i in 0..count {
        let date = today + Duration::days(5 + i as i64);
        let id = Uuid::now_v7();
        catalog
            .insert_session(&NewSession {
                id,
                activity_id: activity,
                option_id: option,
                date,
                capacity: 10,
                capacity_young: None,
                capacity_old: None,
                now,
            })
            .await
            .unwrap();
        made.push((id, date));
    }
    made
}

fn cell(
    phone: &Engine,
    child: &str,
    session: Uuid,
    date: chrono::NaiveDate,
) -> Option<famille_core::views::CellView> {
    let day = date.to_string();
    phone
        .calendar_str(child, &day, &day)
        .unwrap()
        .into_iter()
        .flat_map(|d| d.cells)
        .find(|c| c.session_id == session.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_bookings_and_cancellations_of_one_day_compose() {
    let server = TestServer::start().await;
    let scenarios = sequences(4);
    let mut days = sessions(&server, scenarios.len() * 2, 2).await;
    days.extend(sessions(&server, scenarios.len() * 2, 200).await);
    let dir = temp_dir("compose");
    let online = parent_core(&dir, &server.url).await;
    online.sync().await.unwrap();
    let child = online.children().unwrap()[0].id.clone();
    drop(online);

    let mut days = days.into_iter();
    for (late, booked_first) in [(false, false), (false, true), (true, false), (true, true)] {
        for acts in &scenarios {
            let (session, date) = days.next().unwrap();
            let online = core(&dir, &server.url);
            if booked_first {
                online.reserve(&child, &session.to_string()).unwrap();
            }
            online.sync().await.unwrap();
            drop(online);

            let phone = core(&dir, OFFLINE);
            for act in acts {
                let shown = cell(&phone, &child, session, date).expect("the day is shown");
                let done = match act {
                    Act::Book => phone.reserve(&child, &session.to_string()).map(|_| ()),
                    Act::Cancel => match shown.reservation_id {
                        Some(r) => phone.cancel(&r).map(|_| ()),
                        None => Ok(()),
                    },
                };
                // A refusal the phone decides itself is said at once (and queues nothing).
                if let Err(e) = done {
                    assert!(
                        matches!(e, famille_core::Error::Rejected { .. }),
                        "{acts:?} (booked first: {booked_first}, late: {late}): {e:?}"
                    );
                }
            }
            let expected = cell(&phone, &child, session, date).unwrap().state;
            drop(phone);

            let online = core(&dir, &server.url);
            let report = online.sync().await.unwrap();
            let refused: Vec<_> = online
                .queue()
                .unwrap()
                .into_iter()
                .filter(|q| q.state == QueueState::Rejected)
                .collect();
            assert!(
                refused.is_empty() && report.rejected == 0,
                "{acts:?} (booked first: {booked_first}, late: {late}): shown {expected:?}, refused {refused:?}"
            );
            let confirmed = cell(&online, &child, session, date).unwrap();
            assert_eq!(
                (confirmed.state, confirmed.pending),
                (expected, false),
                "{acts:?} (booked first: {booked_first}, late: {late})"
            );
            assert!(
                matches!(
                    expected,
                    CellState::Reserved
                        | CellState::ReservedLocked
                        | CellState::Available
                        | CellState::Cancelled
                        | CellState::Late
                ),
                "{expected:?}"
            );
            for q in online.queue().unwrap() {
                let _ = online.dismiss(&q.id);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
