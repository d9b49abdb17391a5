//! Sync latency, measured server-side (the router called in-process, release build):
//! the initial sync of the demo family over a school year of sessions, and an empty
//! incremental sync. Run with `scripts/bench-sync`.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use chrono::{Datelike, Duration as Days, NaiveTime, Weekday};
use famille_model::api::Mutation;
use famille_model::booking::{BookingRules, Eligibility, LateBooking, Opening, SkipDays, TimeRule};
use famille_server::config::Config;
use famille_server::store::bookings::Actor;
use famille_server::store::catalog::{NewActivity, NewSession};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

#[path = "common/mod.rs"]
mod common;
use common::{ms, percentile};
use uuid::Uuid;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let data = std::env::temp_dir().join(format!("famille-sync-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let state = famille_server::start(Config::for_data_dir(
        &data,
        std::env::var("DATABASE_URL").ok(),
    ))
    .await
    .unwrap();
    famille_server::demo::load(&state).await.unwrap();
    let now = state.clock.now();
    let catalog = state.db.catalog();

    // A school year: every Wednesday and holiday weekday from September to early July,
    // three options each, on top of the demo's coming weeks.
    let activity = catalog
        .activities()
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    let (activity_id, venue) = (Uuid::now_v7(), Uuid::now_v7());
    catalog
        .insert_venue(venue, "ALSH Cénac", None)
        .await
        .unwrap();
    let t = NaiveTime::from_hms_opt(23, 59, 0).unwrap();
    catalog
        .insert_activity(&NewActivity {
            id: activity_id,
            category_id: activity.category_id,
            venue_id: venue,
            name: "Année scolaire ALSH Cénac (3-11 ans)",
            description: None,
            eligibility: &Eligibility {
                min_age: Some(3),
                max_age: Some(11),
                ..Default::default()
            },
            rules: &BookingRules {
                opening: Opening::Always,
                booking_deadline: TimeRule::DaysBefore {
                    days: 2,
                    time: t,
                    skip: SkipDays::default(),
                },
                cancellation_deadline: TimeRule::DaysBefore {
                    days: 7,
                    time: t,
                    skip: SkipDays::default(),
                },
                late_booking: LateBooking::Refused,
                requires_approval: false,
                waitlist: true,
            },
            age_split: None,
            now,
        })
        .await
        .unwrap();
    let mut options = Vec::new();
    for (i, name) in [
        "Journée complète",
        "Matin avec repas",
        "Après-midi sans repas",
    ]
    .iter()
    .enumerate()
    {
        let id = Uuid::now_v7();
        catalog
            .insert_option(id, activity_id, name, i as i32, now)
            .await
            .unwrap();
        options.push(id);
    }
    let start = famille_model::calendar::paris_date(now);
    let mut sessions = Vec::new();
    let mut day = start + Days::days(1);
    while day < start + Days::days(310) {
        let holiday = matches!(day.month(), 7 | 8)
            || (day.month() == 12 && day.day() >= 20)
            || (day.month() == 4 && day.day() <= 20);
        if (day.weekday() == Weekday::Wed || holiday) && !famille_model::calendar::is_weekend(day) {
            for option in &options {
                let id = Uuid::now_v7();
                catalog
                    .insert_session(&NewSession {
                        id,
                        activity_id,
                        option_id: *option,
                        date: day,
                        capacity: 40,
                        capacity_young: None,
                        capacity_old: None,
                        now,
                    })
                    .await
                    .unwrap();
                sessions.push(id);
            }
        }
        day += Days::days(1);
    }
    // The family books every Wednesday "Journée complète" for two children.
    let parent = state
        .db
        .accounts()
        .by_email(famille_server::demo::PARENT_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let family_id = parent.family_id.unwrap();
    let children = state.db.families().children(family_id).await.unwrap();
    let actor = Actor {
        family_id,
        account_id: parent.id,
    };
    let mut mutations = Vec::new();
    for child in children.iter().take(2) {
        for session in sessions.iter().step_by(3) {
            mutations.push(Mutation::Reserve {
                id: Uuid::now_v7(),
                child_id: child.id,
                session_id: *session,
            });
        }
    }
    for chunk in mutations.chunks(200) {
        state
            .db
            .bookings()
            .apply_all(actor, chunk, now, false)
            .await
            .unwrap();
    }
    let router = famille_server::http::router(state.clone());
    let token = famille_server::accounts::tokens::JwtKeys::new(&state.config.jwt_secret)
        .access_token(
            parent.id,
            famille_model::dossier::Role::Parent,
            Some(family_id),
            now,
            3600,
        )
        .unwrap();
    let get = |path: String| {
        let router = router.clone();
        let token = token.clone();
        async move {
            let req = Request::get(path)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let res = router.oneshot(req).await.unwrap();
            assert!(res.status().is_success());
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            serde_json::from_slice::<Value>(&bytes).unwrap()
        }
    };

    // Initial sync: follow the cursor from 0 to the end (pages of 500).
    let mut initial = Vec::new();
    let mut entries = 0;
    let mut head = 0;
    for _ in 0..30 {
        let t = Instant::now();
        let mut cursor = 0;
        let mut count = 0;
        loop {
            let page = get(format!("/api/v1/sync?cursor={cursor}")).await;
            count += page["changes"].as_array().unwrap().len();
            cursor = page["cursor"].as_i64().unwrap();
            if !page["has_more"].as_bool().unwrap() {
                break;
            }
        }
        initial.push(t.elapsed());
        entries = count;
        head = cursor;
    }
    let mut empty = Vec::new();
    for _ in 0..500 {
        let t = Instant::now();
        let page = get(format!("/api/v1/sync?cursor={head}")).await;
        assert!(page["changes"].as_array().unwrap().is_empty());
        empty.push(t.elapsed());
    }
    initial.sort();
    empty.sort();
    println!(
        "sync on {}: {} sessions in the catalog, {} reservations of the family, {entries} changes in the initial sync",
        state.db.backend_name(),
        sessions.len(),
        mutations.len()
    );
    println!(
        "  initial sync (all pages)  p50 {}  p99 {}  max {}",
        ms(percentile(&initial, 50.0)),
        ms(percentile(&initial, 99.0)),
        ms(*initial.last().unwrap())
    );
    println!(
        "  empty incremental sync    p50 {}  p99 {}  max {}",
        ms(percentile(&empty, 50.0)),
        ms(percentile(&empty, 99.0)),
        ms(*empty.last().unwrap())
    );
    println!(
        "  targets (initial < 50 ms, empty < 5 ms at p50): {}",
        if percentile(&initial, 50.0) < Duration::from_millis(50)
            && percentile(&empty, 50.0) < Duration::from_millis(5)
        {
            "met"
        } else {
            "NOT met"
        }
    );
    state.db.close().await;
    let _ = std::fs::remove_dir_all(&data);
}
