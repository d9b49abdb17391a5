//! Payments benchmark (issue 14): PayFiP notifications for 2,000 online payments,
//! all sent at once and each twice (PayFiP retries, a parent's browser returns at
//! the same moment), against a server listening on a port, on SQLite or PostgreSQL
//! (`DATABASE_URL`). Every payment must be applied exactly once: the number of paid
//! payments, the money allocated and the family's credit are checked after the run.
//! The payments are one family's (the demo's), the worst case for contention: each
//! settlement spreads the family's money again. Run with `scripts/bench-payments`.
//!
//! Environment: `BENCH_PAYMENTS` (2000), `BENCH_CONCURRENCY` (64).

use std::sync::Arc;
use std::time::Instant;

use chrono::{Datelike, Months};
use famille_model::api::BillingRunInput;
use famille_model::billing::InvoiceKind;
use famille_model::payments::{PaymentMethod, PaymentStatus};
use famille_server::config::Config;
use famille_server::dev::payfip_standin::{Choice, Notify, StandIn};
use famille_server::payments::payfip::NewOperation;
use famille_server::store::payments::{self as store, NewPayment};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let n = env_or("BENCH_PAYMENTS", 2000);
    let concurrency = env_or("BENCH_CONCURRENCY", 64);
    let dir = std::env::temp_dir().join(format!("famille-bench-payments-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let payfip = StandIn::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut config = Config::for_data_dir(&dir, std::env::var("DATABASE_URL").ok());
    config.payfip_endpoint = payfip.endpoint();
    config.payfip_page_url = payfip.page_url();
    config.public_url = format!("http://{}", listener.local_addr().unwrap());
    let state = famille_server::start(config)
        .await
        .expect("the server starts");
    println!("database: {}", state.db.backend_name());
    famille_server::dev::demo::load(&state)
        .await
        .expect("the demo loads");

    // Last month billed: the demo family's invoice.
    let agent = state
        .db
        .accounts()
        .by_email("agent@famille.example")
        .await
        .unwrap()
        .unwrap();
    let today = famille_model::calendar::paris_date(state.clock.now());
    let first = today
        .with_day(1)
        .unwrap()
        .checked_sub_months(Months::new(1))
        .unwrap();
    let input = BillingRunInput {
        month: format!("{:04}-{:02}", first.year(), first.month()),
        regie_id: None,
    };
    let run = famille_server::billing::preview(&state, agent.id, &input)
        .await
        .unwrap();
    famille_server::billing::issue(&state, agent.id, run.id)
        .await
        .unwrap();
    let parent = state
        .db
        .accounts()
        .by_email("parent@famille.example")
        .await
        .unwrap()
        .unwrap();
    let family_id = parent.family_id.unwrap();
    let invoice = state
        .db
        .billing()
        .family_invoices(family_id)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.kind == InvoiceKind::Invoice)
        .expect("an invoice");
    let regie_id = state.db.billing().regies().await.unwrap()[0].id;

    // n operations of 1 € each, created at PayFiP and recorded as the service does,
    // then paid on PayFiP's page without a notification yet.
    let started = Instant::now();
    let mut ids_op = Vec::with_capacity(n);
    for _ in 0..n {
        let mut tx = state.db.begin_at(state.clock.now()).await.unwrap();
        let id = store::insert(
            &mut tx,
            &NewPayment {
                family_id,
                regie_id,
                method: PaymentMethod::Payfip,
                status: PaymentStatus::Pending,
                amount_cents: 100,
                invoice_id: Some(invoice.id),
                account_id: Some(parent.id),
                recorded_by: None,
                received_on: None,
                reference: None,
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let id_op = state
            .payfip
            .create(&NewOperation {
                numcli: "123456".into(),
                exer: today.year(),
                refdet: famille_model::payments::payfip_refdet(&invoice.number),
                montant: 100,
                mel: parent.email.clone(),
                objet: "Bench".into(),
                saisie: famille_model::payments::PayfipMode::Test,
                urlnotif: format!(
                    "{}{}",
                    state.config.public_url,
                    famille_server::payments::NOTIFICATION_PATH
                ),
                urlredirect: format!(
                    "{}{}",
                    state.config.public_url,
                    famille_server::payments::RETURN_PATH
                ),
            })
            .await
            .unwrap();
        let mut tx = state.db.begin_at(state.clock.now()).await.unwrap();
        store::set_operation(&mut tx, id, Some(&id_op))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        payfip.script_notify([Notify::Never]);
        payfip.choose(&id_op, Choice::Paid).await.unwrap();
        ids_op.push(id_op);
    }
    println!(
        "setup: {n} operations created and paid at PayFiP in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let router = famille_server::http::router(state.clone());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let url = format!(
        "{}{}",
        state.config.public_url,
        famille_server::payments::NOTIFICATION_PATH
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let gate = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    // Each notification twice, the copies far apart in the queue and side by side.
    for id_op in ids_op.iter().chain(ids_op.iter()) {
        let (client, url, gate, id_op) = (client.clone(), url.clone(), gate.clone(), id_op.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let sent = Instant::now();
            let status = client
                .post(&url)
                .form(&[("idop", id_op.as_str())])
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            (status, sent.elapsed())
        });
    }
    let mut latencies = Vec::with_capacity(2 * n);
    let mut failed = 0;
    while let Some(done) = tasks.join_next().await {
        let (status, took) = done.unwrap();
        if status != 204 {
            failed += 1;
        }
        latencies.push(took);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: usize| {
        latencies[(latencies.len() * p / 100).min(latencies.len() - 1)].as_secs_f64() * 1000.0
    };
    println!(
        "notifications: {} sent ({} answered otherwise than 204) in {:.2} s: {:.0} payments applied/s; latency p50 {:.0} ms, p99 {:.0} ms",
        2 * n,
        failed,
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        pct(50),
        pct(99)
    );

    // Every payment applied once: none lost, none doubled.
    let payments = state.db.payments().of_family(family_id).await.unwrap();
    let paid: Vec<_> = payments
        .iter()
        .filter(|p| p.payment.status == PaymentStatus::Paid)
        .collect();
    let taken: i64 = paid.iter().map(|p| p.payment.paid_cents.unwrap_or(0)).sum();
    let allocated: i64 = paid
        .iter()
        .flat_map(|p| &p.payment.allocations)
        .map(|a| a.cents)
        .sum();
    let credit: i64 = state
        .db
        .payments()
        .credit(family_id)
        .await
        .unwrap()
        .iter()
        .map(|c| c.cents)
        .sum();
    let after = state
        .db
        .billing()
        .invoice(invoice.id, None)
        .await
        .unwrap()
        .unwrap()
        .0;
    let due = invoice.total_cents - invoice.credited_cents;
    println!(
        "check: {} paid (expected {n}), {taken} cents taken, {allocated} allocated, invoice paid {} of {due}, credit {credit}",
        paid.len(),
        after.paid_cents
    );
    let ok = paid.len() == n
        && taken == 100 * n as i64
        && allocated == due.min(taken)
        && after.paid_cents == due.min(taken)
        && credit == taken - allocated
        && failed == 0;
    let _ = std::fs::remove_dir_all(&dir);
    if !ok {
        eprintln!("FAILED: a payment was lost or applied twice");
        std::process::exit(1);
    }
    println!("OK: every payment applied exactly once");
}
