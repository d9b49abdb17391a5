//! The phone and the server decide bookings with the same functions of
//! `famille_model::booking`; this proves it end to end. For every combination of a
//! child's status on a day × the cancellation deadline passed or not × an activity
//! with or without approval × with or without a waitlist × a full day or not, and
//! every intent (reserve, cancel, join or leave the waitlist): the phone queues the
//! intent offline and shows the day as the overlay decides; then it syncs, and the
//! day the server made must be the very day the phone showed.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use famille_core::Error;
use famille_model::ErrorCode;
use famille_model::api::{ActivityInput, SessionInput};
use famille_model::booking::{
    BookingRules, CellState, Eligibility, LateBooking, ReservationStatus,
};
use famille_model::calendar::{paris_date, paris_instant};
use famille_model::queue::{Mutation, MutationStatus};
use famille_server::state::AppState;
use famille_server::store::queue::Actor;
use uuid::Uuid;

use crate::support::{TestServer, parent_core, temp_dir};

/// The statuses a child can hold on a day (`None`: not booked).
const STATUSES: [Option<ReservationStatus>; 8] = [
    None,
    Some(ReservationStatus::Reserved),
    Some(ReservationStatus::LateBooked),
    Some(ReservationStatus::PendingApproval),
    Some(ReservationStatus::Waitlisted),
    Some(ReservationStatus::Cancelled),
    Some(ReservationStatus::LateCancelled),
    Some(ReservationStatus::Refused),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Intent {
    Reserve,
    JoinWaitlist,
    Cancel,
    LeaveWaitlist,
}

#[derive(Debug, Clone, Copy)]
struct Combination {
    approval: bool,
    waitlist: bool,
    /// The cancellation deadline has passed when the parent acts.
    late: bool,
    status: Option<ReservationStatus>,
    full: bool,
    intent: Intent,
}

fn rules(approval: bool, waitlist: bool) -> BookingRules {
    BookingRules {
        late_booking: LateBooking::Surcharged,
        requires_approval: approval,
        waitlist,
        ..BookingRules::days_before(2, 7)
    }
}

/// Noon in Paris, `days` before `date`.
fn before(date: NaiveDate, days: i64) -> DateTime<Utc> {
    paris_instant(
        date - Duration::days(days),
        NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
    )
}

struct World {
    state: AppState,
    actor: Actor,
    child: Uuid,
    filler: Uuid,
}

impl World {
    async fn intent(&self, m: Mutation) -> famille_server::store::queue::Outcome {
        famille_server::queue::apply(&self.state, self.actor, &[&m])
            .await
            .unwrap()
            .remove(0)
    }

    async fn reserve(&self, child: Uuid, session: Uuid) -> famille_server::store::queue::Outcome {
        self.intent(Mutation::Reserve {
            id: Uuid::now_v7(),
            child_id: child,
            session_id: session,
        })
        .await
    }

    async fn cancel(&self, reservation: Uuid) {
        let o = self
            .intent(Mutation::Cancel {
                id: Uuid::now_v7(),
                reservation_id: reservation,
            })
            .await;
        assert_eq!(o.status, MutationStatus::Applied);
    }

    /// Brings the child to `status` on a session of `date`; `false` when the
    /// combination cannot happen (waiting without a waitlist, approval where there
    /// is none…).
    async fn reach(&self, c: &Combination, session: Uuid, date: NaiveDate) -> bool {
        let holds = c.status.is_some_and(|s| s.holds_place());
        // A full day: a place held by the filler, unless the child's own fills it;
        // taken before the child waits for it, after the child gave it back.
        let fill = c.full && !holds;
        let waits = c.status == Some(ReservationStatus::Waitlisted);
        if fill && waits {
            self.fill(c, session, date).await;
        }
        if !self.reach_status(c, session, date).await {
            return false;
        }
        if fill && !waits {
            self.fill(c, session, date).await;
        }
        true
    }

    async fn fill(&self, c: &Combination, session: Uuid, date: NaiveDate) {
        self.state.clock.set(before(date, 30));
        let o = self.reserve(self.filler, session).await;
        assert_eq!(o.status, MutationStatus::Applied, "{c:?}");
        if c.approval {
            famille_server::bookings::staff::decide_pending(&self.state, o.ref_id.unwrap(), true)
                .await
                .unwrap();
        }
    }

    async fn reach_status(&self, c: &Combination, session: Uuid, date: NaiveDate) -> bool {
        let clock = &self.state.clock;
        let Some(status) = c.status else {
            return true;
        };
        match status {
            ReservationStatus::Reserved => {
                clock.set(before(date, 20));
                let id = self.reserve(self.child, session).await.ref_id.unwrap();
                if c.approval {
                    famille_server::bookings::staff::decide_pending(&self.state, id, true)
                        .await
                        .unwrap();
                }
            }
            ReservationStatus::LateBooked => {
                if c.approval || c.late {
                    // With approval a late booking awaits the services; and the day
                    // after the booking deadline is past every cancellation deadline.
                    return false;
                }
                clock.set(before(date, 1));
                let o = self.reserve(self.child, session).await;
                assert_eq!(o.status, MutationStatus::Applied, "{c:?}");
            }
            ReservationStatus::PendingApproval => {
                if !c.approval {
                    return false;
                }
                clock.set(before(date, 20));
                self.reserve(self.child, session).await;
            }
            ReservationStatus::Waitlisted => {
                if !c.waitlist || !c.full {
                    return false;
                }
                clock.set(before(date, 20));
                let o = self
                    .intent(Mutation::JoinWaitlist {
                        id: Uuid::now_v7(),
                        child_id: self.child,
                        session_id: session,
                    })
                    .await;
                assert_eq!(o.status, MutationStatus::Applied, "{c:?}");
            }
            ReservationStatus::Cancelled => {
                clock.set(before(date, 20));
                let id = self.reserve(self.child, session).await.ref_id.unwrap();
                self.cancel(id).await;
            }
            ReservationStatus::LateCancelled => {
                clock.set(before(date, 20));
                let id = self.reserve(self.child, session).await.ref_id.unwrap();
                if c.approval {
                    famille_server::bookings::staff::decide_pending(&self.state, id, true)
                        .await
                        .unwrap();
                }
                clock.set(before(date, 3));
                self.cancel(id).await;
            }
            ReservationStatus::Refused => {
                if !c.approval {
                    return false;
                }
                clock.set(before(date, 20));
                let id = self.reserve(self.child, session).await.ref_id.unwrap();
                famille_server::bookings::staff::decide_pending(&self.state, id, false)
                    .await
                    .unwrap();
            }
        }
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_and_server_decide_every_booking_combination_alike() {
    let server = TestServer::start().await;
    let state = server.state.clone();
    let dir = temp_dir("drift");
    let phone = parent_core(&dir, &server.url).await;
    phone.sync().await.unwrap();
    let children = phone.children().unwrap();
    let (child, filler): (Uuid, Uuid) = (
        children[0].id.parse().unwrap(),
        children[1].id.parse().unwrap(),
    );
    let account = state
        .db
        .accounts()
        .by_email(famille_server::dev::demo::PARENT_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let world = World {
        actor: Actor {
            family_id: account.family_id.unwrap(),
            account_id: account.id,
        },
        state: state.clone(),
        child,
        filler,
    };

    // One activity per (approval, waitlist), twenty options; one session per
    // combination, on a day whose cancellation deadline has passed (3 to 6 days
    // ahead) or not (10 to 13 days ahead).
    let today = paris_date(Utc::now());
    let mut combinations = Vec::new();
    for approval in [false, true] {
        for waitlist in [false, true] {
            for late in [false, true] {
                for status in STATUSES {
                    for full in [false, true] {
                        for intent in [
                            Intent::Reserve,
                            Intent::JoinWaitlist,
                            Intent::Cancel,
                            Intent::LeaveWaitlist,
                        ] {
                            combinations.push(Combination {
                                approval,
                                waitlist,
                                late,
                                status,
                                full,
                                intent,
                            });
                        }
                    }
                }
            }
        }
    }
    let mut activities = HashMap::new();
    for approval in [false, true] {
        for waitlist in [false, true] {
            let input = ActivityInput {
                category: "mercredis_vacances".into(),
                venue: "ALSH Latresne".into(),
                name: format!("Dérive {approval} {waitlist}"),
                description: None,
                eligibility: Eligibility::default(),
                rules: rules(approval, waitlist),
                age_split: None,
                options: (0..20).map(|i| format!("Prestation {i}")).collect(),
                required_documents: Vec::new(),
            };
            let id = famille_server::catalog::create_activity(&state, &input)
                .await
                .unwrap();
            let snapshot = state
                .db
                .catalog()
                .activity_snapshots()
                .await
                .unwrap()
                .into_iter()
                .find(|a| a.id == id)
                .unwrap();
            let options: Vec<Uuid> = snapshot.options.iter().map(|o| o.id).collect();
            activities.insert((approval, waitlist), (id, options, [0usize; 2]));
        }
    }
    let mut cases = Vec::new();
    for c in combinations {
        let (activity, options, used) = activities.get_mut(&(c.approval, c.waitlist)).unwrap();
        let slot = &mut used[usize::from(c.late)];
        let date = today + Duration::days(if c.late { 3 } else { 10 } + (*slot / 20) as i64);
        let option = options[*slot % 20];
        *slot += 1;
        let holds = c.status.is_some_and(|s| s.holds_place());
        let capacity = if holds && !c.full { 2 } else { 1 };
        state.clock.set(before(date, 40));
        let session = famille_server::catalog::create_session(
            &state,
            *activity,
            &SessionInput {
                option_id: option,
                date,
                capacity,
                capacity_young: None,
                capacity_old: None,
            },
        )
        .await
        .unwrap();
        if world.reach(&c, session, date).await {
            cases.push((c, session, date));
        }
    }
    state.clock.set(Utc::now());
    assert!(cases.len() > 250, "{} reachable combinations", cases.len());

    // The phone learns the days, then queues one intent on each, offline.
    phone.sync().await.unwrap();
    let now = Utc::now();
    let (from, to) = (today + Duration::days(3), today + Duration::days(16));
    let shown = |phone: &famille_core::Engine| -> HashMap<Uuid, (CellState, bool, Option<String>)> {
        phone
            .calendar(child, from, to, now)
            .unwrap()
            .into_iter()
            .flat_map(|d| d.cells)
            .map(|c| {
                (
                    c.session_id.parse().unwrap(),
                    (c.state, c.pending, c.reservation_id),
                )
            })
            .collect()
    };
    let before_intents = shown(&phone);
    let mut refused_locally = Vec::new();
    for (c, session, _) in &cases {
        let (_, _, reservation) = &before_intents[session];
        let queued = match c.intent {
            Intent::Reserve => phone.reserve(&child.to_string(), &session.to_string()),
            Intent::JoinWaitlist => phone.join_waitlist(&child.to_string(), &session.to_string()),
            Intent::Cancel | Intent::LeaveWaitlist => {
                let Some(reservation) = reservation else {
                    continue; // Nothing to cancel: no such intent can be made.
                };
                if c.intent == Intent::Cancel {
                    phone.cancel(reservation)
                } else {
                    phone.leave_waitlist(reservation)
                }
            }
        };
        match queued {
            Ok(_) => {}
            Err(Error::Rejected {
                code: ErrorCode::AlreadyBooked,
                ..
            }) => refused_locally.push((*c, *session)),
            Err(e) => panic!("{c:?}: {e}"),
        }
    }
    let predicted = shown(&phone);
    let report = phone.sync().await.unwrap();
    assert!(report.sent > 200, "{report:?}");
    let made = shown(&phone);

    let mut compared = 0;
    for (c, session, date) in &cases {
        let (phone_state, pending, _) = &predicted[session];
        let (server_state, still_pending, _) = &made[session];
        assert!(!still_pending, "{c:?}: answered, nothing is pending");
        assert_eq!(
            phone_state, server_state,
            "{c:?} on {date}: the phone showed {phone_state} (pending: {pending}), the server made {server_state}"
        );
        compared += 1;
    }
    // What the phone refused at once, the server refuses too.
    for (c, session) in &refused_locally {
        let outcome = world.reserve(child, *session).await;
        assert_eq!(
            (outcome.status, outcome.code),
            (MutationStatus::Rejected, Some(ErrorCode::AlreadyBooked)),
            "{c:?}"
        );
    }
    // The case the phone once showed wrong: a booking awaiting approval, cancelled
    // after the deadline, is free on both sides.
    let awaited = cases
        .iter()
        .find(|(c, ..)| {
            c.approval
                && c.late
                && c.status == Some(ReservationStatus::PendingApproval)
                && c.intent == Intent::Cancel
        })
        .unwrap();
    assert_eq!(made[&awaited.1].0, CellState::Cancelled);
    assert!(compared > 250);
    let _ = std::fs::remove_dir_all(&dir);
}
