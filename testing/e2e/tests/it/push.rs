use std::collections::HashMap;

use chrono::{Duration, Utc};
use famille_model::api::Platform;
use famille_model::booking::CellState;
use famille_model::calendar::paris_date;

use crate::support::{TestServer, parent_core, temp_dir};

/// The agent validates Luc's carnet; the push names it; `handle_push` syncs and
/// the phone shows the document validated, the alert gone and the days open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_syncs_what_it_names_and_says_what_to_show() {
    let server = TestServer::start().await;
    let dir = temp_dir("phone");
    let phone = parent_core(&dir, &server.url).await;
    phone.sync().await.unwrap();
    phone
        .register_device(Platform::Android, "jeton-du-telephone", "fr-FR")
        .await
        .unwrap();
    let luc = phone.children().unwrap()[2].clone();
    let (from, to) = (
        paris_date(Utc::now()),
        paris_date(Utc::now()) + Duration::days(13),
    );
    let blocked = |phone: &famille_core::Engine| {
        phone
            .calendar(luc.id.parse().unwrap(), from, to, Utc::now())
            .unwrap()
            .iter()
            .flat_map(|d| d.cells.iter())
            .filter(|c| c.state == CellState::Blocked)
            .count()
    };
    assert!(blocked(&phone) > 0);
    assert!(
        phone
            .alerts()
            .unwrap()
            .iter()
            .any(|a| a.child_id.as_deref() == Some(luc.id.as_str()))
    );

    // The services validate a carnet Luc's parents sent.
    let db = &server.state.db;
    let family = phone.family().unwrap().unwrap().id;
    let vaccination = db
        .catalog()
        .document_type_id("carnet_vaccination")
        .await
        .unwrap()
        .unwrap();
    let document = db
        .documents()
        .submit(
            family,
            Some(luc.id.parse().unwrap()),
            vaccination,
            Utc::now(),
        )
        .await
        .unwrap();
    let agent = db
        .accounts()
        .by_email("agent@famille.example")
        .await
        .unwrap()
        .unwrap()
        .id;
    // As with FCM configured: the notice goes to the phone.
    db.set_push_enabled(true);
    famille_server::documents::decide(
        &server.state,
        document,
        agent,
        famille_server::documents::Verdict::Validate(None),
    )
    .await
    .unwrap();
    let pushed = db.outbox().about(document).await.unwrap();
    assert_eq!(pushed.len(), 1);
    assert_eq!(
        (
            pushed[0].channel.as_str(),
            pushed[0].token.as_deref(),
            pushed[0].kind.as_str()
        ),
        ("push", Some("jeton-du-telephone"), "document_validated")
    );

    let data = HashMap::from([
        ("kind".to_owned(), "document_validated".to_owned()),
        ("id".to_owned(), document.to_string()),
    ]);
    let shown = phone.handle_push(&data).await.unwrap();
    assert!(shown.synced);
    assert_eq!(shown.title, "Document validé");
    assert_eq!(shown.body, "Carnet de vaccination validé.");
    assert_eq!(shown.child_id.as_deref(), Some(luc.id.as_str()));
    assert!(
        !phone
            .alerts()
            .unwrap()
            .iter()
            .any(|a| a.child_id.as_deref() == Some(luc.id.as_str()))
    );
    assert_eq!(blocked(&phone), 0, "the days are open to Luc now");
    let docs = phone.documents().unwrap();
    assert!(
        docs.iter()
            .any(|d| d.id == document.to_string() && d.status_label == "Validé")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
