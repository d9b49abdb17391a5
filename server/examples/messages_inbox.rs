//! Messages benchmark (issue 13): 100,000 messages in 20,000 threads across 5,000
//! families and the demo's five services; the agent's inbox page (all services,
//! and one) and a family's thread list, measured server-side (the router called
//! in-process, release build). Target: p99 under 50 ms for both. Run with
//! `scripts/bench-messages` (`DATABASE_URL=postgres://…` for PostgreSQL).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use chrono::Duration as Span;
use famille_model::dossier::Role;
use famille_server::config::Config;
use famille_server::store::Pool;
use famille_server::store::accounts::NewParent;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

#[path = "common/mod.rs"]
mod common;
use common::{ms, percentile};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs one statement on either backend with the binds `$q` receives.
macro_rules! run {
    ($state:expr, $sql:expr, |$q:ident| $binds:expr) => {
        match &*$state.db.pool {
            Pool::Sqlite(pool, _) => {
                let $q = sqlx::query(sqlx::AssertSqlSafe($sql.clone()));
                $binds.execute(pool).await.unwrap();
            }
            Pool::Postgres(pool) => {
                let $q = sqlx::query(sqlx::AssertSqlSafe($sql.clone()));
                $binds.execute(pool).await.unwrap();
            }
        }
    };
}

fn values(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let families = env_or("BENCH_FAMILIES", 5000);
    let threads_per_family = env_or("BENCH_THREADS", 4);
    let messages_per_thread = env_or("BENCH_MESSAGES", 5);
    let data = std::env::temp_dir().join(format!("famille-messages-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let state = famille_server::start(Config::for_data_dir(
        &data,
        std::env::var("DATABASE_URL").ok(),
    ))
    .await
    .unwrap();
    println!("database: {}", state.db.backend_name());
    famille_server::dev::demo::load(&state).await.unwrap();
    let now = state.clock.now();
    let services: Vec<Uuid> = state
        .db
        .messages()
        .staff_services()
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    let agent = state
        .db
        .accounts()
        .by_email(famille_server::dev::demo::AGENT_EMAIL)
        .await
        .unwrap()
        .unwrap();

    println!(
        "seeding {families} families × {threads_per_family} threads × {messages_per_thread} messages…"
    );
    let seed = Instant::now();
    let mut family_ids = Vec::with_capacity(families);
    let mut parents = Vec::with_capacity(families);
    for i in 0..families {
        let (family_id, account_id) = (Uuid::now_v7(), Uuid::now_v7());
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
                last_name: &format!("BENCH{i}"),
                now,
            })
            .await
            .unwrap();
        family_ids.push(family_id);
        parents.push(account_id);
    }
    let body = "Bonjour, pouvez-vous me confirmer l'inscription de mon enfant au centre de loisirs \
                pendant les vacances ? Je joins le justificatif demandé. Merci, bonne journée.";
    let mut total_messages = 0;
    // 100 threads per statement (10 columns), their messages after them.
    for chunk in family_ids.chunks(100 / threads_per_family.max(1)) {
        let mut threads = Vec::new();
        for (offset, family_id) in chunk.iter().enumerate() {
            for t in 0..threads_per_family {
                let n = threads.len() + offset;
                let last = now - Span::minutes(((n * 7919) % 500_000) as i64);
                threads.push((
                    Uuid::now_v7(),
                    *family_id,
                    services[(offset + t) % services.len()],
                    // One thread in ten waits for the services.
                    i32::from(n % 10 == 0),
                    last,
                ));
            }
        }
        let sql = format!(
            "INSERT INTO threads (id, family_id, service_id, subject, status, opened_by, family_unread, services_unread, created_at, last_message_at) VALUES {}",
            values(threads.len(), 10)
        );
        run!(state, sql, |q| {
            let mut q = q;
            for (id, family, service, unread, last) in &threads {
                q = q
                    .bind(*id)
                    .bind(*family)
                    .bind(*service)
                    .bind("Inscription aux vacances")
                    .bind("open")
                    .bind("family")
                    .bind(0)
                    .bind(*unread)
                    .bind(*last - Span::days(2))
                    .bind(*last);
            }
            q
        });
        let mut messages = Vec::new();
        for (id, family, _, _, last) in &threads {
            let author = parents[family_ids.iter().position(|f| f == family).unwrap()];
            for m in 0..messages_per_thread {
                let side = if m % 2 == 0 { "family" } else { "services" };
                let at = *last - Span::hours((messages_per_thread - m) as i64);
                messages.push((Uuid::now_v7(), *id, side, author, at));
            }
        }
        total_messages += messages.len();
        for part in messages.chunks(100) {
            let sql = format!(
                "INSERT INTO messages (id, thread_id, side, author_id, body, created_at) VALUES {}",
                values(part.len(), 6)
            );
            run!(state, sql, |q| {
                let mut q = q;
                for (id, thread, side, author, at) in part {
                    q = q
                        .bind(*id)
                        .bind(*thread)
                        .bind(*side)
                        .bind(*author)
                        .bind(body)
                        .bind(*at);
                }
                q
            });
        }
    }
    if let Pool::Postgres(pool) = &*state.db.pool {
        sqlx::query("ANALYZE").execute(pool).await.unwrap();
    }
    println!(
        "seeded {total_messages} messages in {} threads in {:.1} s",
        families * threads_per_family,
        seed.elapsed().as_secs_f64()
    );

    let router = famille_server::http::router(state.clone());
    let keys = famille_server::accounts::tokens::JwtKeys::new(&state.config.jwt_secret);
    let agent_token = keys
        .access_token(agent.id, Role::Agent, None, now, 3600)
        .unwrap();
    let get = |path: String, token: String| {
        let router = router.clone();
        async move {
            let req = Request::get(path)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let t = Instant::now();
            let res = router.oneshot(req).await.unwrap();
            assert!(res.status().is_success(), "{}", res.status());
            let bytes = res.into_body().collect().await.unwrap().to_bytes();
            let elapsed = t.elapsed();
            (elapsed, serde_json::from_slice::<Value>(&bytes).unwrap())
        }
    };
    let report = |name: &str, mut samples: Vec<Duration>| {
        samples.sort();
        println!(
            "{name}: p50 {} · p99 {} · max {} ({} requests)",
            ms(percentile(&samples, 50.0)),
            ms(percentile(&samples, 99.0)),
            ms(*samples.last().unwrap()),
            samples.len()
        );
    };

    // The agent's inbox: its first pages over every service, then one service.
    let mut inbox = Vec::new();
    for i in 0..300 {
        let (d, page) = get(
            format!("/api/v1/staff/threads?limit=50&offset={}", (i % 5) * 50),
            agent_token.clone(),
        )
        .await;
        assert_eq!(page.as_array().unwrap().len(), 50);
        inbox.push(d);
    }
    report("agent inbox page (50, all services)", inbox);
    let mut one = Vec::new();
    for i in 0..300 {
        let service = services[i % services.len()];
        let (d, page) = get(
            format!("/api/v1/staff/threads?limit=50&service_id={service}"),
            agent_token.clone(),
        )
        .await;
        assert!(!page.as_array().unwrap().is_empty());
        one.push(d);
    }
    report("agent inbox page (50, one service)", one);

    // Families' thread lists, and one thread each.
    let mut lists = Vec::new();
    let mut details = Vec::new();
    for i in 0..500 {
        let n = (i * 7919) % families;
        let token = keys
            .access_token(parents[n], Role::Parent, Some(family_ids[n]), now, 3600)
            .unwrap();
        let (d, list) = get("/api/v1/threads".into(), token.clone()).await;
        assert_eq!(list.as_array().unwrap().len(), threads_per_family);
        lists.push(d);
        let id = list[0]["id"].as_str().unwrap().to_owned();
        let (d, thread) = get(format!("/api/v1/threads/{id}"), token).await;
        assert_eq!(
            thread["messages"].as_array().unwrap().len(),
            messages_per_thread
        );
        details.push(d);
    }
    report("family thread list", lists);
    report("family thread (5 messages)", details);
    let _ = std::fs::remove_dir_all(&data);
}
