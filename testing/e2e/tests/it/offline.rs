use chrono::{Duration, Utc};
use famille_core::Error;
use famille_core::views::CellView;
use famille_model::ErrorCode;
use famille_model::booking::{BlockedBy, CellState};
use famille_model::calendar::paris_date;
use famille_model::queue::QueueState;

use crate::support::{OFFLINE, TestServer, core, parent_core, temp_dir};

fn cells(days: &[famille_core::views::DayView]) -> Vec<&CellView> {
    days.iter().flat_map(|d| d.cells.iter()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_intents_survive_a_restart_and_get_the_servers_verdicts() {
    let server = TestServer::start().await;
    let dir = temp_dir("phone");
    let online = parent_core(&dir, &server.url).await;
    let report = online.sync().await.unwrap();
    assert!(report.changes > 0 && report.cursor > 0, "{report:?}");
    let children = online.children().unwrap();
    assert_eq!(
        children
            .iter()
            .map(|c| c.first_name.as_str())
            .collect::<Vec<_>>(),
        ["Elena", "Valentine", "Luc", "Chloé"]
    );
    let (elena, luc) = (&children[0].id, &children[2].id);
    assert!(
        online
            .alerts()
            .unwrap()
            .iter()
            .any(|a| a.child_id.as_deref() == Some(luc.as_str()))
    );

    let today = paris_date(Utc::now());
    let (from, to) = (today.to_string(), (today + Duration::days(27)).to_string());
    let calendar = online.calendar_str(elena, &from, &to).unwrap();
    // Days still freely cancellable, so the booking shows as "reserved" (not locked).
    let cancellable = |c: &&CellView| {
        c.state == CellState::Available
            && chrono::DateTime::parse_from_rfc3339(&c.cancellation_deadline).unwrap()
                > Utc::now() + Duration::days(1)
    };
    let free: Vec<&CellView> = cells(&calendar).into_iter().filter(cancellable).collect();
    assert!(
        free.len() >= 2,
        "the demo opens bookings for the coming weeks"
    );
    let (first, second) = (free[0].session_id.clone(), free[1].session_id.clone());
    let luc_days = online.calendar_str(luc, &from, &to).unwrap();
    let blocked = cells(&luc_days)
        .into_iter()
        .find(|c| c.state == CellState::Blocked)
        .expect("Luc lacks his carnet")
        .clone();
    assert_eq!(blocked.blocked_by, Some(BlockedBy::DocumentRequired));
    assert_eq!(blocked.missing_documents, ["Carnet de vaccination"]);
    drop(online);

    // No network: two days booked, one of them withdrawn, Luc booked where he is blocked.
    let offline = core(&dir, OFFLINE);
    let kept = offline.reserve(elena, &first).unwrap();
    let withdrawn = offline.reserve(elena, &second).unwrap();
    offline.cancel(&withdrawn).unwrap();
    offline.reserve(luc, &blocked.session_id).unwrap();
    let again = offline.reserve(elena, &first);
    assert!(
        matches!(
            again,
            Err(Error::Rejected {
                code: ErrorCode::AlreadyBooked,
                ..
            })
        ),
        "{again:?}"
    );
    let shown = offline.calendar_str(elena, &from, &to).unwrap();
    let cell = |id: &str| {
        cells(&shown)
            .into_iter()
            .find(|c| c.session_id == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (cell(&first).state, cell(&first).pending),
        (CellState::Reserved, true)
    );
    assert_eq!(cell(&first).reservation_id.as_deref(), Some(kept.as_str()));
    assert_eq!(
        (cell(&second).state, cell(&second).pending),
        (CellState::Available, false)
    );
    let failed = offline.sync().await;
    assert!(matches!(failed, Err(Error::Offline { .. })), "{failed:?}");
    assert_eq!(offline.queue().unwrap().len(), 2, "the queue is kept");
    assert_eq!(offline.retry_delay_seconds().unwrap(), 5);
    drop(offline);

    // The app restarts online from its folder: the queue goes, the verdicts come.
    let online = core(&dir, &server.url);
    let report = online.sync().await.unwrap();
    assert_eq!(
        (report.sent, report.applied, report.rejected),
        (2, 1, 1),
        "{report:?}"
    );
    let queue = online.queue().unwrap();
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(
        (queue[0].state, queue[0].code),
        (QueueState::Rejected, Some(ErrorCode::DocumentRequired))
    );
    assert!(
        queue[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("Carnet de vaccination"),
        "{queue:?}"
    );
    let shown = online.calendar_str(elena, &from, &to).unwrap();
    let booked = cells(&shown)
        .into_iter()
        .find(|c| c.session_id == first)
        .unwrap();
    assert_eq!((booked.state, booked.pending), (CellState::Reserved, false));
    assert_ne!(
        booked.reservation_id.as_deref(),
        Some(kept.as_str()),
        "the server's reservation replaces the intent"
    );
    let luc_cell = online.calendar_str(luc, &from, &to).unwrap();
    let luc_cell = cells(&luc_cell)
        .into_iter()
        .find(|c| c.session_id == blocked.session_id)
        .unwrap()
        .clone();
    assert_eq!(
        (luc_cell.state, luc_cell.pending),
        (CellState::Blocked, false)
    );
    assert_eq!(online.retry_delay_seconds().unwrap(), 0);

    // The server holds the one reservation, once.
    let elena_id = elena.parse().unwrap();
    let held = server
        .state
        .db
        .bookings()
        .child_reservations(elena_id, today, today + Duration::days(27))
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].session_id.to_string(), first);
    // Sync again: nothing to send, nothing changes.
    let report = online.sync().await.unwrap();
    assert_eq!(report.sent, 0);
    assert!(online.dismiss(&queue[0].id).unwrap());
    assert!(online.queue().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_keeps_the_queue_for_after_the_login() {
    let server = TestServer::start().await;
    let dir = temp_dir("phone");
    let phone = parent_core(&dir, &server.url).await;
    phone.sync().await.unwrap();
    let elena = phone.children().unwrap()[0].id.clone();
    let today = paris_date(Utc::now());
    let days = phone
        .calendar_str(
            &elena,
            &today.to_string(),
            &(today + Duration::days(27)).to_string(),
        )
        .unwrap();
    let free = cells(&days)
        .into_iter()
        .find(|c| c.state == CellState::Available)
        .unwrap()
        .session_id
        .clone();

    // The refresh token dies (revoked elsewhere, or past its 90 days).
    std::fs::write(
        dir.join("tokens.json"),
        r#"{"access_token":"x","refresh_token":"revoked","access_expires_at":0}"#,
    )
    .unwrap();
    phone.reserve(&elena, &free).unwrap();
    let expired = phone.sync().await;
    assert!(matches!(expired, Err(Error::LoginExpired)), "{expired:?}");
    assert!(!phone.is_logged_in());
    assert_eq!(phone.queue().unwrap().len(), 1);

    // Typed on another keyboard (capitals, a full-width letter): the same parent,
    // whose queue stays.
    phone
        .login("Parent@\u{ff46}amille.example", "demo-parent-pw")
        .await
        .unwrap();
    assert_eq!(phone.queue().unwrap().len(), 1);
    let report = phone.sync().await.unwrap();
    assert_eq!((report.sent, report.applied), (1, 1));
    assert!(phone.queue().unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_token_is_refreshed_without_the_parent_noticing() {
    let server = TestServer::start().await;
    let dir = temp_dir("phone");
    let phone = parent_core(&dir, &server.url).await;
    let path = dir.join("tokens.json");
    let mut stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let first_refresh = stored["refresh_token"].clone();
    // The access token is past its end (the phone slept through the afternoon).
    stored["access_expires_at"] = serde_json::json!(0);
    std::fs::write(&path, stored.to_string()).unwrap();
    phone.sync().await.unwrap();
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_ne!(
        after["refresh_token"], first_refresh,
        "rotated by the refresh"
    );
    assert!(after["access_expires_at"].as_i64().unwrap() > Utc::now().timestamp());

    // A token the server refuses (revoked early) is refreshed once and the call retried.
    let mut revoked = after.clone();
    revoked["access_token"] = serde_json::json!("eyJhbGciOiJIUzI1NiJ9.e30.invalide");
    std::fs::write(&path, revoked.to_string()).unwrap();
    phone.sync().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
