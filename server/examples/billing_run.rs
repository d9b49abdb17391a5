//! Billing benchmark (issue 12): a month of 5,000 families × 2 children × 20 days
//! (200,000 booked days, 400,000 lines with the meals) previewed then issued, in
//! process, on SQLite or PostgreSQL (`DATABASE_URL`); then the PDF of one invoice
//! rendered many times. Run with `scripts/bench-billing`. Targets: preview and issue
//! each under 10 s; a PDF under 20 ms.
//!
//! Environment: `BENCH_FAMILIES` (5000), `BENCH_PDFS` (500).

use std::time::Instant;

use chrono::{Datelike, Months, NaiveDate, Weekday};
use famille_model::api::{BillingRunInput, ChildInput, RegieInput};
use famille_model::billing::{Bracket, Pricing, Tariff};
use famille_model::booking::{BookingRules, Eligibility};
use famille_model::dossier::SchoolLevel;
use famille_server::config::Config;
use famille_server::store::Pool;
use famille_server::store::accounts::NewParent;
use famille_server::store::catalog::{NewActivity, NewSession};
use uuid::Uuid;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs one multi-row INSERT per chunk of rows, binding UUIDs, dates and strings.
async fn insert_rows(pool: &Pool, head: &str, rows: &[Vec<Value>]) {
    // A few hundred parameters a statement (see store::billing::PARAMS).
    for chunk in rows.chunks(240 / rows[0].len()) {
        let width = chunk[0].len();
        let values: Vec<String> = (0..chunk.len())
            .map(|r| {
                let cells: Vec<String> = (0..width)
                    .map(|c| format!("${}", r * width + c + 1))
                    .collect();
                format!("({})", cells.join(", "))
            })
            .collect();
        let sql = format!("{head} VALUES {}", values.join(", "));
        macro_rules! bind_all {
            ($q:expr) => {{
                let mut q = $q;
                for row in chunk {
                    for v in row {
                        q = match v {
                            Value::Id(id) => q.bind(*id),
                            Value::Day(d) => q.bind(*d),
                            Value::Text(t) => q.bind(t.clone()),
                            Value::Int(i) => q.bind(*i),
                            Value::Bool(b) => q.bind(*b),
                            Value::At(at) => q.bind(*at),
                        };
                    }
                }
                q
            }};
        }
        match pool {
            Pool::Sqlite(p, _) => {
                bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())))
                    .execute(p)
                    .await
                    .unwrap();
            }
            Pool::Postgres(p) => {
                bind_all!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())))
                    .execute(p)
                    .await
                    .unwrap();
            }
        }
    }
}

enum Value {
    Id(Uuid),
    Day(NaiveDate),
    Text(String),
    Int(i32),
    Bool(bool),
    At(chrono::DateTime<chrono::Utc>),
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let families = env_or("BENCH_FAMILIES", 5000);
    let pdfs = env_or("BENCH_PDFS", 500);
    let database_url = std::env::var("DATABASE_URL").ok();
    let data = std::env::temp_dir().join(format!("famille-billing-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let state = famille_server::start(Config::for_data_dir(&data, database_url))
        .await
        .expect("database opens");
    println!("database: {}", state.db.backend_name());
    let now = state.clock.now();
    let today = famille_model::calendar::paris_date(now);
    let month = today
        .with_day(1)
        .unwrap()
        .checked_sub_months(Months::new(1))
        .unwrap();
    // Twenty weekdays of last month (or all there are, then the month before's).
    let mut days = Vec::new();
    let mut day = month;
    while days.len() < 20 {
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            days.push(day);
        }
        day = day.succ_opt().unwrap();
    }

    println!(
        "seeding {families} families × 2 children × {} days…",
        days.len()
    );
    let seed = Instant::now();
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
    catalog
        .insert_activity(&NewActivity {
            id: activity,
            category_id: category,
            venue_id: venue,
            name: "ALSH Latresne",
            description: None,
            eligibility: &Eligibility::default(),
            rules: &BookingRules::days_before(1, 7),
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
    for date in &days {
        let id = Uuid::now_v7();
        catalog
            .insert_session(&NewSession {
                id,
                activity_id: activity,
                option_id: option,
                date: *date,
                capacity: 20_000,
                capacity_young: None,
                capacity_old: None,
                now,
            })
            .await
            .unwrap();
        sessions.push(id);
    }
    let billing = state.db.billing();
    let regie = billing
        .insert_regie(
            &RegieInput {
                code: "ENF".into(),
                name: "Régie Enfance".into(),
                address: "Mairie\n33360 Latresne".into(),
                due_days: 30,
                min_amount_cents: 0,
                payment_note: "Par carte bancaire en ligne (PayFiP).".into(),
                territory: vec![],
                payfip_numcli: Some("123456".into()),
                payfip_mode: None,
            },
            now,
        )
        .await
        .unwrap();
    let grid = [
        (0, Some(399), 450),
        (400, Some(599), 700),
        (600, Some(799), 950),
        (800, Some(1099), 1250),
        (1100, Some(1499), 1550),
        (1500, None, 1800),
    ];
    billing
        .set_tariff(
            option,
            regie,
            &Tariff {
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
                sibling_percent: vec![0, 10],
                surcharge_cents: Some(500),
            },
            now,
        )
        .await
        .unwrap();
    let mut children = Vec::new();
    let mut quotients = Vec::new();
    for i in 0..families {
        let family_id = Uuid::now_v7();
        let email = format!("famille{i}@bench.example");
        state
            .db
            .accounts()
            .insert_parent(&NewParent {
                account_id: Uuid::now_v7(),
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
                        birth_date: NaiveDate::from_ymd_opt(2018 - c, 3, 1).unwrap(),
                        school_level: SchoolLevel::Ce1,
                        school_year: None,
                        school: None,
                    },
                    now,
                )
                .await
                .unwrap();
            children.push((family_id, child));
        }
        // One family in ten has no QF (the highest tariff, an anomaly).
        if i % 10 != 0 {
            quotients.push(vec![
                Value::Id(Uuid::now_v7()),
                Value::Id(family_id),
                Value::Int((i * 37 % 2000) as i32),
                Value::Day(month.checked_sub_months(Months::new(6)).unwrap()),
                Value::Text("caf".into()),
                Value::At(now),
            ]);
        }
    }
    insert_rows(
        &state.db.pool,
        "INSERT INTO quotients (id, family_id, value, valid_from, source, created_at)",
        &quotients,
    )
    .await;
    let mut reservations = Vec::new();
    for (family, child) in &children {
        for session in &sessions {
            reservations.push(vec![
                Value::Id(Uuid::now_v7()),
                Value::Id(*session),
                Value::Id(*child),
                Value::Id(*family),
                Value::Text("reserved".into()),
                Value::Bool(false),
                Value::At(now),
                Value::At(now),
            ]);
        }
    }
    insert_rows(
        &state.db.pool,
        "INSERT INTO reservations (id, session_id, child_id, family_id, status, young, created_at, updated_at)",
        &reservations,
    )
    .await;
    println!(
        "  {} reservations seeded in {:.1} s",
        reservations.len(),
        seed.elapsed().as_secs_f64()
    );

    let agent = Uuid::now_v7();
    let input = BillingRunInput {
        month: format!("{:04}-{:02}", month.year(), month.month()),
        regie_id: None,
    };
    let start = Instant::now();
    let run = famille_server::billing::preview(&state, agent, &input)
        .await
        .expect("preview");
    let preview = start.elapsed();
    let lines: u32 = run.invoices.iter().map(|i| i.lines).sum();
    println!(
        "preview: {:.2} s — {} invoices, {lines} lines, {} anomalies, total {}",
        preview.as_secs_f64(),
        run.invoices.len(),
        run.anomalies.len(),
        famille_model::fr::euros(run.total_cents)
    );
    let start = Instant::now();
    let issued = famille_server::billing::issue(&state, agent, run.id)
        .await
        .expect("issue");
    let issue = start.elapsed();
    println!(
        "issue: {:.2} s — {} invoices numbered",
        issue.as_secs_f64(),
        issued
            .invoices
            .iter()
            .filter(|i| i.number.is_some())
            .count()
    );
    let start = Instant::now();
    let again = famille_server::billing::preview(&state, agent, &input)
        .await
        .expect("second preview");
    println!(
        "second preview (nothing new): {:.2} s — {} invoices",
        start.elapsed().as_secs_f64(),
        again.invoices.len()
    );

    // The PDF of one family's invoice (2 children × 20 days, 80 lines: 2 pages).
    let id = issued.invoices[0].id;
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..pdfs {
        let start = Instant::now();
        let pdf = famille_server::billing::invoice_pdf(&state, id, None)
            .await
            .expect("pdf");
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        size = pdf.len();
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "PDF (80 lines, with its reads): p50 {:.1} ms, p99 {:.1} ms, {} KiB",
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        size / 1024
    );
    state.db.close().await;
    let _ = std::fs::remove_dir_all(&data);
}
