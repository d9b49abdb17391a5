//! One family cannot exhaust what all share: uploads in progress and their bytes,
//! documents a day, intents per call and per day; and the idempotency log forgets
//! what needs no replay.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, Tokens, backend_tests, meta, tus};

async fn luc(app: &TestApp, parent: &Tokens) -> String {
    let family = app.get("/api/v1/family", &parent.access).await.body;
    family["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["first_name"] == "Luc")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn start_upload(
    app: &TestApp,
    parent: &Tokens,
    child: &str,
    length: usize,
) -> crate::support::Reply {
    tus(
        app,
        Method::POST,
        "/api/v1/uploads",
        &parent.access,
        &[
            ("upload-length", length.to_string()),
            (
                "upload-metadata",
                meta(&[("document_type", "carnet_vaccination"), ("child_id", child)]),
            ),
        ],
        vec![],
    )
    .await
}

fn unknown_session_intents(child: &str, n: usize) -> Value {
    let intents: Vec<Value> = (0..n)
        .map(|_| json!({"id": Uuid::now_v7(), "kind": "reserve", "child_id": child, "session_id": Uuid::now_v7()}))
        .collect();
    json!({"mutations": intents})
}

backend_tests! {
    async fn uploads_in_progress_and_documents_a_day_are_bounded_per_family(app) {
        let mut config = app.state.config.clone();
        config.max_upload_bytes = 60 * 1024 * 1024;
        let app = app.restart_with(config).await.with_demo().await;
        let parent = app.parent().await;
        let child = luc(&app, &parent).await;
        let limit = famille_server::documents::uploads::BOUNDS.in_flight as usize;
        let mut started = Vec::new();
        for _ in 0..limit {
            let reply = start_upload(&app, &parent, &child, 1000).await;
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
            started.push(reply.headers["location"].to_str().unwrap().to_owned());
        }
        let refused = start_upload(&app, &parent, &child, 1000).await;
        let detail = refused.problem(StatusCode::TOO_MANY_REQUESTS, "quota_reached");
        assert!(detail.contains("envois en cours"), "{detail}");
        // Another family is not concerned.
        let other = app.new_parent("voisins@example.fr").await;
        let theirs = app.post("/api/v1/family/children", Some(&other.access), json!({
            "first_name": "Paul", "last_name": "Voisin", "birth_date": "2019-05-04", "school_level": "gs"})).await;
        let their_child = theirs.body["id"].as_str().unwrap().to_owned();
        assert_eq!(start_upload(&app, &other, &their_child, 1000).await.status, StatusCode::CREATED);
        // Abandoning one frees its place.
        assert_eq!(tus(&app, Method::DELETE, &started.pop().unwrap(), &parent.access, &[], vec![]).await.status, StatusCode::NO_CONTENT);
        assert_eq!(start_upload(&app, &parent, &child, 1000).await.status, StatusCode::CREATED);
        for at in started.drain(..) {
            tus(&app, Method::DELETE, &at, &parent.access, &[], vec![]).await;
        }

        // Bytes announced together: two of 60 MiB do not fit in 100.
        let big = 60 * 1024 * 1024;
        assert_eq!(start_upload(&app, &other, &their_child, big).await.status, StatusCode::CREATED);
        let detail = start_upload(&app, &other, &their_child, big).await.problem(StatusCode::TOO_MANY_REQUESTS, "quota_reached");
        assert!(detail.contains("Mo"), "{detail}");

        // Documents a day: the agents read each (uploads in progress count too).
        let family_id: Uuid = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().parse().unwrap();
        let carnet = app.state.db.catalog().document_type_id("carnet_vaccination").await.unwrap().unwrap();
        let mut sent = 0;
        let detail = loop {
            let reply = start_upload(&app, &parent, &child, 1000).await;
            if reply.status == StatusCode::TOO_MANY_REQUESTS {
                break reply.problem(StatusCode::TOO_MANY_REQUESTS, "quota_reached");
            }
            assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
            tus(&app, Method::DELETE, reply.headers["location"].to_str().unwrap(), &parent.access, &[], vec![]).await;
            app.state.db.documents().submit(family_id, Some(child.parse().unwrap()), carnet, app.state.clock.now()).await.unwrap();
            sent += 1;
            assert!(sent <= 30, "no bound on documents a day");
        };
        assert!(detail.contains("par jour"), "{detail}");
        app.state.clock.advance(Duration::hours(25));
        let parent = app.parent().await;
        assert_eq!(start_upload(&app, &parent, &child, 1000).await.status, StatusCode::CREATED, "the next day");
    }

    async fn a_familys_bounds_hold_under_concurrent_requests(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let child = luc(&app, &parent).await;
        let started = start_at_once(&app, &parent, &child, 16).await;
        let created = started.iter().filter(|s| **s == StatusCode::CREATED).count();
        let refused = started.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((created, refused), (10, 6), "{started:?}");
    }

    async fn intents_are_bounded_per_call_and_per_family(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let child = luc(&app, &parent).await;
        let max = famille_server::queue::MAX_BATCH;
        let over = app.post("/api/v1/mutations", Some(&parent.access), unknown_session_intents(&child, max + 1)).await;
        let detail = over.problem(StatusCode::PAYLOAD_TOO_LARGE, "too_many_mutations");
        assert!(detail.contains("200"), "{detail}");
        // 2,000 intents, then the family waits (Retry-After); another family does not.
        for _ in 0..10 {
            let reply = app.post("/api/v1/mutations", Some(&parent.access), unknown_session_intents(&child, max)).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        }
        let slowed = app.post("/api/v1/mutations", Some(&parent.access), unknown_session_intents(&child, 1)).await;
        slowed.problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        assert!(slowed.headers.contains_key("retry-after"));
        let other = app.new_parent("voisins@example.fr").await;
        let theirs = app.post("/api/v1/mutations", Some(&other.access), json!({"mutations": []})).await;
        assert_eq!(theirs.status, StatusCode::OK);
    }

    async fn the_queue_log_forgets_refusals_after_a_month(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let child = luc(&app, &parent).await;
        let refused = unknown_session_intents(&child, 1);
        let id: Uuid = refused["mutations"][0]["id"].as_str().unwrap().parse().unwrap();
        let first = app.post("/api/v1/mutations", Some(&parent.access), refused.clone()).await;
        assert_eq!(first.body["results"][0]["status"], "rejected");
        let family_id: Uuid = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().parse().unwrap();
        let actor = famille_server::store::queue::Actor { family_id, account_id: parent_account(&app).await };
        assert!(app.state.db.queue().logged(actor, id).await.unwrap().is_some());
        let now = app.state.clock.now();
        let purged = app.state.db.queue()
            .purge(now + Duration::days(1) - famille_server::queue::KEEP_REJECTED, now - famille_server::queue::KEEP_APPLIED)
            .await.unwrap();
        assert_eq!(purged, 0, "a refusal is kept for a month");
        app.state.clock.advance(famille_server::queue::KEEP_REJECTED + Duration::hours(1));
        famille_server::notifications::dispatcher::hourly(&app.state).await;
        assert!(app.state.db.queue().logged(actor, id).await.unwrap().is_none(), "then forgotten");
    }
}

async fn parent_account(app: &TestApp) -> Uuid {
    app.state
        .db
        .accounts()
        .by_email("parent@famille.example")
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Starts `n` uploads at once, as one family's loop would.
async fn start_at_once(app: &TestApp, parent: &Tokens, child: &str, n: usize) -> Vec<StatusCode> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let router = app.router.clone();
        let token = parent.access.clone();
        let metadata = meta(&[("document_type", "carnet_vaccination"), ("child_id", child)]);
        set.spawn(async move {
            use tower::ServiceExt;
            let req = axum::http::Request::builder()
                .method(Method::POST)
                .uri("/api/v1/uploads")
                .header("authorization", format!("Bearer {token}"))
                .header("tus-resumable", "1.0.0")
                .header("upload-length", "1000")
                .header("upload-metadata", metadata)
                .body(axum::body::Body::empty())
                .unwrap();
            router.oneshot(req).await.unwrap().status()
        });
    }
    set.join_all().await
}
