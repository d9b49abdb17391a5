//! Push fan-out: 10,000 notifications through the outbox and the dispatcher to the
//! local FCM stand-in (token exchange, JWT and message checks included), in one
//! process on this machine. Run with `scripts/bench-fanout`; `DATABASE_URL` picks
//! PostgreSQL.

use std::time::Instant;

use famille_model::api::Platform;
use famille_model::notice::{BookingNames, DocumentNames, Event, Notice};
use famille_server::config::Config;
use famille_server::dev::fcm_standin::StandIn;
use famille_server::store::accounts::NewParent;
use uuid::Uuid;

const FAMILIES: usize = 2_500;
const PHONES_PER_FAMILY: usize = 2;
const NOTICES_PER_FAMILY: usize = 2;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let data = std::env::temp_dir().join(format!("famille-fanout-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let fcm = StandIn::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let credentials = data.join("fcm.json");
    std::fs::write(
        &credentials,
        serde_json::to_string(fcm.credentials()).unwrap(),
    )
    .unwrap();
    let mut config = Config::for_data_dir(&data, std::env::var("DATABASE_URL").ok());
    config.fcm_credentials = Some(credentials);
    config.fcm_endpoint = fcm.url.clone();
    let state = famille_server::start(config).await.unwrap();
    let now = state.clock.now();

    let mut families = Vec::with_capacity(FAMILIES);
    for i in 0..FAMILIES {
        let (account_id, family_id) = (Uuid::now_v7(), Uuid::now_v7());
        let email = format!("parent{i}@fanout.example");
        state
            .db
            .accounts()
            .insert_parent(&NewParent {
                account_id,
                family_id,
                guardian_id: Uuid::now_v7(),
                email: &email,
                password_hash: None,
                first_name: "Camille",
                last_name: "Essai",
                now,
            })
            .await
            .unwrap();
        for p in 0..PHONES_PER_FAMILY {
            let platform = if p % 2 == 0 {
                Platform::Android
            } else {
                Platform::Ios
            };
            let token = format!("fcm-token-{i}-{p}-{}", "x".repeat(120));
            state
                .db
                .devices()
                .register(account_id, &token, platform, "fr-FR", now)
                .await
                .unwrap();
        }
        families.push(family_id);
    }

    let notices: Vec<Notice> = families
        .iter()
        .flat_map(|family_id| {
            (0..NOTICES_PER_FAMILY).map(move |n| {
                let event = if n % 2 == 0 {
                    Event::DocumentValidated {
                        document: DocumentNames {
                            document_id: Uuid::now_v7(),
                            label: "Carnet de vaccination".to_owned(),
                            child: Some("Luc".to_owned()),
                        },
                    }
                } else {
                    Event::WaitlistPromoted {
                        booking: BookingNames {
                            reservation_id: Uuid::now_v7(),
                            child: "Luc".to_owned(),
                            activity: "Mercredis".to_owned(),
                            option: "Journée complète".to_owned(),
                            date: now.date_naive(),
                        },
                        free_cancel_until: None,
                        awaiting_approval: false,
                    }
                };
                Notice::new(*family_id, event)
            })
        })
        .collect();
    let started = Instant::now();
    for chunk in notices.chunks(100) {
        state.db.outbox().enqueue(chunk, now).await.unwrap();
    }
    let enqueue = started.elapsed();
    let deliveries = state.db.outbox().pending_count().await.unwrap();

    let started = Instant::now();
    let report = famille_server::notifications::dispatch_due(&state)
        .await
        .unwrap();
    let dispatch = started.elapsed();
    let received = fcm.received().len();
    assert_eq!(report.sent as i64, deliveries, "{report:?}");
    assert_eq!(received as i64, deliveries);
    assert_eq!(state.db.outbox().pending_count().await.unwrap(), 0);

    println!("backend: {}", state.db.backend_name());
    println!(
        "notices: {} for {FAMILIES} families, {deliveries} deliveries to {} phones",
        notices.len(),
        FAMILIES * PHONES_PER_FAMILY
    );
    println!(
        "enqueue (in transactions of 100 notices): {:.0} ms, {:.0} deliveries/s",
        enqueue.as_secs_f64() * 1000.0,
        deliveries as f64 / enqueue.as_secs_f64()
    );
    println!(
        "dispatch: {received} accepted by the stand-in in {:.2} s = {:.0} notifications/s (target 2000/s); \
         access tokens fetched: {}; batch {} / {} in flight",
        dispatch.as_secs_f64(),
        received as f64 / dispatch.as_secs_f64(),
        fcm.token_exchanges(),
        famille_server::notifications::dispatcher::BATCH,
        famille_server::notifications::dispatcher::CONCURRENCY,
    );
    state.db.close().await;
    let _ = std::fs::remove_dir_all(&data);
}
