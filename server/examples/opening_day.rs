//! Opening-day benchmark: 2,000 families with 2 children each book every session of
//! an 8-week summer programme (20 sessions, about 80,000 reservations) the way the
//! app does — one batch of mutations per child — against the release server in its
//! own process. Run with `scripts/bench-opening-day` (`DATABASE_URL=postgres://…` for
//! PostgreSQL).
//!
//! Environment: `BENCH_FAMILIES` (2000), `BENCH_CONCURRENCY` (64 batches in flight),
//! `BENCH_CAPACITY` (3000 places per session, so a quarter of the demand is refused).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use famille_model::api::ChildInput;
use famille_model::booking::{BookingRules, Eligibility, LateBooking, Opening, SkipDays, TimeRule};
use famille_model::dossier::{Role, SchoolLevel};
use famille_server::accounts::tokens::JwtKeys;
use famille_server::config::Config;
use famille_server::store::accounts::NewParent;
use famille_server::store::catalog::{NewActivity, NewSession};
use serde_json::{Value, json};

#[path = "common/mod.rs"]
mod common;
use common::{Server, backend, ms, percentile};
use uuid::Uuid;

const SECRET: &str = "opening-day-benchmark-secret-0123456789";

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Twenty summer days of next year: Mondays, Wednesdays and Fridays from the first
/// Monday of July, skipping public holidays.
fn summer_days() -> Vec<NaiveDate> {
    let year = chrono::Utc::now().year() + 1;
    let mut day = NaiveDate::from_ymd_opt(year, 7, 1).unwrap();
    while day.weekday() != Weekday::Mon {
        day = day.succ_opt().unwrap();
    }
    let mut days = Vec::new();
    while days.len() < 20 {
        if matches!(day.weekday(), Weekday::Mon | Weekday::Wed | Weekday::Fri)
            && !famille_model::calendar::is_french_public_holiday(day)
        {
            days.push(day);
        }
        day = day.succ_opt().unwrap();
    }
    days
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let families = env_or("BENCH_FAMILIES", 2000);
    let concurrency = env_or("BENCH_CONCURRENCY", 64);
    let capacity = env_or("BENCH_CAPACITY", 3000) as u32;
    let database_url = std::env::var("DATABASE_URL").ok();
    let data = std::env::temp_dir().join(format!("famille-opening-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();

    // ---- seed the catalog and the families directly through the store ----------
    println!("seeding {families} families, 20 summer sessions of {capacity} places…");
    let seed_start = Instant::now();
    let config = Config::for_data_dir(&data, database_url.clone());
    let state = famille_server::start(config).await.expect("database opens");
    let now = state.clock.now();
    let catalog = state.db.catalog();
    let (category, venue, activity, option) = (
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
        Uuid::now_v7(),
    );
    catalog
        .insert_category(category, "mercredis_vacances", "Mercredis et Vacances", 0)
        .await
        .unwrap();
    catalog
        .insert_venue(venue, "ALSH Latresne", None)
        .await
        .unwrap();
    let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
    catalog
        .insert_activity(&NewActivity {
            id: activity,
            category_id: category,
            venue_id: venue,
            name: "Été ALSH Latresne",
            description: None,
            eligibility: &Eligibility {
                min_age: Some(3),
                max_age: Some(11),
                ..Default::default()
            },
            rules: &BookingRules {
                opening: Opening::Always,
                booking_deadline: TimeRule::DaysBefore {
                    days: 7,
                    time: t(23, 59),
                    skip: SkipDays::default(),
                },
                cancellation_deadline: TimeRule::DaysBefore {
                    days: 10,
                    time: t(23, 59),
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
    catalog
        .insert_option(option, activity, "Journée complète", 0, now)
        .await
        .unwrap();
    let mut sessions = Vec::new();
    for date in summer_days() {
        let id = Uuid::now_v7();
        catalog
            .insert_session(&NewSession {
                id,
                activity_id: activity,
                option_id: option,
                date,
                capacity,
                capacity_young: None,
                capacity_old: None,
                now,
            })
            .await
            .unwrap();
        sessions.push(id);
    }
    let staff = Uuid::now_v7();
    let mut parents = Vec::new();
    for i in 0..families {
        let (account_id, family_id) = (Uuid::now_v7(), Uuid::now_v7());
        let email = format!("famille{i}@bench.example");
        state
            .db
            .accounts()
            .insert_parent(&NewParent {
                account_id,
                family_id,
                guardian_id: Uuid::now_v7(),
                email: &email,
                password_hash: None,
                first_name: "Parent",
                last_name: "Bench",
                now,
            })
            .await
            .unwrap();
        state
            .db
            .families()
            .validate(family_id, staff, now)
            .await
            .unwrap();
        let mut children = Vec::new();
        for c in 0..2 {
            let child = Uuid::now_v7();
            state
                .db
                .families()
                .insert_child(
                    family_id,
                    child,
                    &ChildInput {
                        first_name: format!("Enfant{c}"),
                        last_name: "BENCH".into(),
                        birth_date: NaiveDate::from_ymd_opt(2019 - c, 3, 1).unwrap(),
                        school_level: SchoolLevel::Ce1,
                        school_year: None,
                        school: None,
                    },
                    now,
                )
                .await
                .unwrap();
            children.push(child);
        }
        parents.push((account_id, family_id, children));
    }
    state.db.close().await;
    println!("  done in {:.1} s", seed_start.elapsed().as_secs_f64());

    // ---- the release server in its own process -------------------------------------
    let mut env = vec![
        ("FAMILLE_DATA", data.display().to_string()),
        ("FAMILLE_JWT_SECRET", SECRET.to_owned()),
    ];
    if let Some(url) = &database_url {
        env.push(("DATABASE_URL", url.clone()));
    }
    let (server, base) = Server::start(&["serve"], &env).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let backend = backend(&client, &base).await;

    // Access tokens as the server would issue them (the benchmark measures bookings,
    // not 2,000 password hashes).
    let keys = JwtKeys::new(SECRET.as_bytes());
    let mut batches = Vec::new();
    for (account_id, family_id, children) in &parents {
        let token = keys
            .access_token(
                *account_id,
                Role::Parent,
                Some(*family_id),
                chrono::Utc::now(),
                3600,
            )
            .unwrap();
        for child in children {
            let mutations: Vec<Value> = sessions
                .iter()
                .map(|s| json!({"id": Uuid::now_v7(), "kind": "reserve", "child_id": child, "session_id": s}))
                .collect();
            batches.push((token.clone(), json!({ "mutations": mutations })));
        }
    }
    let total_mutations = batches.len() * sessions.len();
    println!(
        "opening day on {backend}: {} batches of {} mutations, {concurrency} in flight…",
        batches.len(),
        sessions.len()
    );

    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (token, body) in batches {
        let (client, base, permits) = (client.clone(), base.clone(), permits.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire().await.unwrap();
            let t = Instant::now();
            let reply = client
                .post(format!("{base}/api/v1/mutations"))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await;
            let elapsed = t.elapsed();
            let results = match reply {
                Ok(r) if r.status().is_success() => {
                    r.json::<Value>().await.ok().map(|v| v["results"].clone())
                }
                _ => None,
            };
            (elapsed, results)
        }));
    }
    let mut latencies = Vec::new();
    let mut answered = 0usize;
    let mut codes: std::collections::BTreeMap<String, usize> = Default::default();
    let mut failed_batches = 0;
    for task in tasks {
        let (elapsed, results) = task.await.unwrap();
        latencies.push(elapsed);
        match results.as_ref().and_then(Value::as_array) {
            Some(results) => {
                for r in results {
                    answered += 1;
                    *codes
                        .entry(r["code"].as_str().unwrap_or("applied").to_owned())
                        .or_default() += 1;
                }
            }
            None => failed_batches += 1,
        }
    }
    let wall = start.elapsed();
    drop(server);
    latencies.sort();

    // ---- zero overbooking, checked in the database -----------------------------------
    let config = Config::for_data_dir(&data, database_url.clone());
    let state = famille_server::start(config).await.expect("database opens");
    let overbooked = state.db.bookings().overbooked_sessions().await.unwrap();
    state.db.close().await;
    let _ = std::fs::remove_dir_all(&data);

    let rate = answered as f64 / wall.as_secs_f64();
    println!(
        "  mutations      {answered}/{total_mutations} answered, {failed_batches} batches failed"
    );
    println!("  outcomes       {codes:?}");
    println!("  wall time      {:.2} s", wall.as_secs_f64());
    println!("  throughput     {rate:.0} reservations/s");
    println!(
        "  batch latency  p50 {}  p99 {}  max {}",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0)),
        ms(*latencies.last().unwrap())
    );
    println!("  overbooked sessions (capacity or counter mismatch): {overbooked}");
    let met = answered == total_mutations
        && overbooked == 0
        && rate >= 2000.0
        && percentile(&latencies, 99.0) < Duration::from_millis(500);
    println!(
        "  targets (all answered, no overbooking, ≥ 2000/s, p99 < 500 ms): {}",
        if met { "met" } else { "NOT met" }
    );
}
