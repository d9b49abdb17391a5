use std::collections::HashMap;

use axum::http::StatusCode;
use chrono::Duration;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, Tokens, backend_tests};

/// Follows the cursor to the end; returns the last state per entity and the cursor.
async fn follow(
    app: &TestApp,
    tokens: &Tokens,
    mut cursor: i64,
    limit: i64,
) -> (HashMap<String, Value>, i64, usize) {
    let mut state = HashMap::new();
    let mut pages = 0;
    loop {
        let page = app
            .get(
                &format!("/api/v1/sync?cursor={cursor}&limit={limit}"),
                &tokens.access,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        pages += 1;
        let mut last = cursor;
        for change in page.body["changes"].as_array().unwrap() {
            let seq = change["seq"].as_i64().unwrap();
            assert!(seq > last, "sequence numbers grow: {seq} after {last}");
            last = seq;
            state.insert(
                format!(
                    "{}:{}",
                    change["entity"].as_str().unwrap(),
                    change["id"].as_str().unwrap()
                ),
                change.clone(),
            );
        }
        let next = page.body["cursor"].as_i64().unwrap();
        assert!(next >= cursor);
        cursor = next;
        if !page.body["has_more"].as_bool().unwrap() {
            return (state, cursor, pages);
        }
        assert!(pages < 1000, "the feed never ends");
    }
}

fn count(state: &HashMap<String, Value>, entity: &str) -> usize {
    state
        .keys()
        .filter(|k| k.starts_with(&format!("{entity}:")))
        .count()
}

backend_tests! {
    async fn initial_sync_then_incremental(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let (state, cursor, pages) = follow(&app, &parent, 0, 50).await;
        assert!(pages > 1, "paged");
        assert_eq!(count(&state, "activity"), 4);
        let sessions_in_db = {
            let today = famille_model::calendar::paris_date(app.state.clock.now());
            // The demo's past month (its billed Wednesdays) included.
            app.state.db.catalog().sessions_between(today - Duration::days(100), today + Duration::days(400)).await.unwrap().len()
        };
        assert_eq!(count(&state, "session"), sessions_in_db);
        let holidays = state.values().find(|c| c["entity"] == "activity" && c["activity"]["name"].as_str().unwrap().starts_with("Vacances")).unwrap();
        assert_eq!(holidays["activity"]["required_documents"][0]["label"], "Carnet de vaccination");
        assert_eq!(holidays["activity"]["options"].as_array().unwrap().len(), 3);
        assert_eq!(holidays["activity"]["rules"]["late_booking"], "surcharged");

        // Nothing new: an empty page, same cursor.
        let empty = app.get(&format!("/api/v1/sync?cursor={cursor}"), &parent.access).await;
        assert_eq!(empty.body["changes"], json!([]));
        assert_eq!(empty.body["cursor"], cursor);
        assert_eq!(empty.body["has_more"], false);

        // A booking: the family sees its reservation.
        let family = app.get("/api/v1/family", &parent.access).await.body;
        let elena = family["children"][0]["id"].as_str().unwrap().to_owned();
        // One still to come (the demo's past month is billed, not bookable).
        let today = famille_model::calendar::paris_date(app.state.clock.now()).to_string();
        let session = state.values().find(|c| c["entity"] == "session" && c["session"]["option"] == "Journée complète"
            && c["session"]["date"].as_str().unwrap() > today.as_str()
            && state.get(&format!("activity:{}", c["session"]["activity_id"].as_str().unwrap())).unwrap()["activity"]["name"].as_str().unwrap().contains("6-11"))
            .unwrap()["id"].as_str().unwrap().to_owned();
        let reserved = app.post("/api/v1/mutations", Some(&parent.access), json!({"mutations": [
            {"id": Uuid::now_v7(), "kind": "reserve", "child_id": elena, "session_id": session}]})).await;
        assert_eq!(reserved.body["results"][0]["status"], "applied", "{}", reserved.body);
        let (delta, after, _) = follow(&app, &parent, cursor, 50).await;
        assert_eq!(delta.len(), 1, "{delta:?}");
        let change = delta.values().next().unwrap();
        assert_eq!(change["entity"], "reservation");
        assert_eq!(change["reservation"]["status"], "reserved");
        assert_eq!(change["reservation"]["child_id"], elena.as_str());

        // Another family hears nothing of it: the session did not fill up.
        let stranger = app.new_parent("voisin@example.fr").await;
        let (_, stranger_cursor, _) = follow(&app, &stranger, 0, 2000).await;
        assert_eq!(stranger_cursor, after, "both are at the head of the feed");
        let (mut stranger_view, _, _) = follow(&app, &stranger, cursor, 2000).await;
        assert!(stranger_view.is_empty(), "{stranger_view:?}");
        stranger_view.clear();

        // A cursor from the future starts over instead of skipping.
        let future = app.get("/api/v1/sync?cursor=99999999", &parent.access).await;
        assert!(future.body["changes"].as_array().unwrap().len() > 1);
        app.get("/api/v1/sync?cursor=-1", &parent.access).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        app.get("/api/v1/sync?limit=0", &parent.access).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    }

    async fn only_full_or_not_reaches_other_families(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let stranger = app.new_parent("voisin@example.fr").await;
        let (_, start, _) = follow(&app, &stranger, 0, 2000).await;
        let family = app.get("/api/v1/family", &parent.access).await.body;
        let kids: Vec<String> = family["children"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
        // A two-place session for 6-11 year olds.
        let (state, _, _) = follow(&app, &parent, 0, 2000).await;
        // One still to come (the demo's past month is billed, not bookable).
        let today = famille_model::calendar::paris_date(app.state.clock.now()).to_string();
        let wednesday = state.values().find(|c| c["entity"] == "session"
            && c["session"]["date"].as_str().unwrap() > today.as_str()
            && state.get(&format!("activity:{}", c["session"]["activity_id"].as_str().unwrap())).unwrap()["activity"]["name"].as_str().unwrap().contains("6-11"))
            .unwrap()["id"].as_str().unwrap().parse::<Uuid>().unwrap();
        crate::support::execute_sql(&app, "UPDATE sessions SET capacity = 2 WHERE id = $1", &[wednesday]).await;
        let reserve = |child: &str| json!({"mutations": [{"id": Uuid::now_v7(), "kind": "reserve", "child_id": child, "session_id": wednesday}]});
        // First place: no flip, nothing for the stranger.
        app.post("/api/v1/mutations", Some(&parent.access), reserve(&kids[0])).await;
        let (seen, _, _) = follow(&app, &stranger, start, 2000).await;
        assert!(seen.is_empty(), "{seen:?}");
        // Last place: the session flips to full, and that the stranger does see.
        app.post("/api/v1/mutations", Some(&parent.access), reserve(&kids[1])).await;
        let (seen, cursor, _) = follow(&app, &stranger, start, 2000).await;
        assert_eq!(seen.len(), 1, "{seen:?}");
        let flip = seen.values().next().unwrap();
        assert_eq!(flip["entity"], "session");
        assert_eq!(flip["session"]["full_old"], true);
        // A cancellation frees it: available again.
        let booking = app.get(&format!("/api/v1/children/{}/calendar?from={}&to={}", kids[0], flip["session"]["date"].as_str().unwrap(), flip["session"]["date"].as_str().unwrap()), &parent.access).await
            .body["days"][0]["sessions"].as_array().unwrap().iter().find(|s| s["session_id"] == wednesday.to_string()).unwrap()["reservation_id"].clone();
        app.post("/api/v1/mutations", Some(&parent.access), json!({"mutations": [{"id": Uuid::now_v7(), "kind": "cancel", "reservation_id": booking}]})).await;
        let (seen, _, _) = follow(&app, &stranger, cursor, 2000).await;
        assert_eq!(seen.len(), 1);
        assert_eq!(seen.values().next().unwrap()["session"]["full_old"], false);
    }
}
