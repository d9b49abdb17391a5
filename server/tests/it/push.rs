//! Notifications end to end: a change writes its notices in its own transaction,
//! the dispatcher delivers them to the local FCM stand-in (which checks the JWT and
//! the message as Google does), and each FCM answer has its documented effect.

use axum::http::StatusCode;
use chrono::Duration;
use famille_server::dev::fcm_standin::Scripted;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, Tokens, backend_tests};

struct Luc {
    family_id: Uuid,
    child_id: Uuid,
    vaccination: Uuid,
}

async fn luc(app: &TestApp, parent: &Tokens) -> Luc {
    let family = app.get("/api/v1/family", &parent.access).await.body;
    let child = family["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["first_name"] == "Luc")
        .unwrap();
    Luc {
        family_id: family["id"].as_str().unwrap().parse().unwrap(),
        child_id: child["id"].as_str().unwrap().parse().unwrap(),
        vaccination: app
            .state
            .db
            .catalog()
            .document_type_id("carnet_vaccination")
            .await
            .unwrap()
            .unwrap(),
    }
}

/// Luc's carnet de vaccination, sent and waiting for the services (the upload route
/// is the documents issue's; the stored result is the same).
async fn pending_carnet(app: &TestApp, luc: &Luc) -> Uuid {
    app.state
        .db
        .documents()
        .submit(
            luc.family_id,
            Some(luc.child_id),
            luc.vaccination,
            app.state.clock.now(),
        )
        .await
        .unwrap()
}

async fn register(app: &TestApp, tokens: &Tokens, platform: &str, token: &str) {
    let reply = app
        .post(
            "/api/v1/devices",
            Some(&tokens.access),
            json!({"platform": platform, "token": token, "locale": "fr-FR"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
}

async fn validate(app: &TestApp, agent: &Tokens, document: Uuid) -> Value {
    let reply = app
        .post(
            &format!("/api/v1/staff/documents/{document}/validate"),
            Some(&agent.access),
            json!({"valid_until": null}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

async fn refuse(app: &TestApp, agent: &Tokens, document: Uuid, reason: &str) -> Value {
    let reply = app
        .post(
            &format!("/api/v1/staff/documents/{document}/refuse"),
            Some(&agent.access),
            json!({"reason": reason}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

/// The first session of the next fortnight in Luc's calendar blocked for a document.
async fn blocked_session(app: &TestApp, parent: &Tokens, luc: &Luc) -> Option<(Uuid, Value)> {
    let today = famille_model::calendar::paris_date(app.state.clock.now());
    let calendar = app
        .get(
            &format!(
                "/api/v1/children/{}/calendar?from={today}&to={}",
                luc.child_id,
                today + Duration::days(13)
            ),
            &parent.access,
        )
        .await
        .body;
    calendar["days"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["sessions"].as_array().unwrap().iter())
        .find_map(|s| {
            (s["state"] == "blocked" && s["blocked_by"] == "document_required").then(|| {
                (
                    s["session_id"].as_str().unwrap().parse().unwrap(),
                    s.clone(),
                )
            })
        })
}

backend_tests! {
    async fn validating_a_document_pushes_once_to_each_of_the_familys_phones(app) {
        let (app, fcm) = app.with_demo().await.with_fcm().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let luc = luc(&app, &parent).await;
        register(&app, &parent, "android", "jeton-android-patricia").await;
        register(&app, &parent, "ios", "jeton-ios-patricia").await;
        let neighbour = app.new_parent("voisin@example.fr").await;
        register(&app, &neighbour, "android", "jeton-voisin").await;

        // Before: Luc's red banner, and the Saturday activity refuses him.
        let alerts = app.get("/api/v1/alerts", &parent.access).await.body;
        assert!(alerts.as_array().unwrap().iter().any(|a| a["child_id"] == luc.child_id.to_string()), "{alerts}");
        let (session, cell) = blocked_session(&app, &parent, &luc).await.expect("a session needs the carnet");
        assert_eq!(cell["activity"], "Multisports du samedi (6-11 ans)");

        let document = pending_carnet(&app, &luc).await;
        let queue = app.get("/api/v1/staff/documents?status=pending", &agent.access).await;
        assert_eq!(queue.status, StatusCode::OK);
        let listed = queue.body.as_array().unwrap().iter().find(|d| d["id"] == document.to_string()).expect("listed");
        assert_eq!(listed["child_first_name"], "Luc");
        assert_eq!(listed["document_type"], "Carnet de vaccination");
        assert!(listed["family_name"].as_str().unwrap().contains("TESTBO"), "{listed}");
        app.get("/api/v1/staff/documents?status=pending", &parent.access).await.problem(StatusCode::FORBIDDEN, "forbidden");

        let validated = validate(&app, &agent, document).await;
        assert_eq!(validated["status"], "validated");
        assert_eq!(fcm.received().len(), 0, "nothing is sent inside the transaction");

        let report = app.dispatch().await;
        assert_eq!(report.sent, 2, "{report:?}");
        let received = fcm.received();
        assert_eq!(received.len(), 2);
        let mut tokens: Vec<&str> = received.iter().map(|m| m["token"].as_str().unwrap()).collect();
        tokens.sort();
        assert_eq!(tokens, ["jeton-android-patricia", "jeton-ios-patricia"]);
        for message in &received {
            assert_eq!(message["data"], json!({"kind": "document_validated", "id": document.to_string()}));
            assert_eq!(message["notification"]["title"], "Document validé");
            assert_eq!(message["notification"]["body"], "Carnet de vaccination de Luc : validé par les services.");
        }
        let android = received.iter().find(|m| m["token"] == "jeton-android-patricia").unwrap();
        assert_eq!(android["android"]["collapse_key"], format!("document_validated:{document}"));
        assert_eq!(android["android"]["notification"]["channel_id"], "documents");
        let ios = received.iter().find(|m| m["token"] == "jeton-ios-patricia").unwrap();
        assert_eq!(ios["apns"]["headers"]["apns-collapse-id"], format!("document_validated:{document}"));
        assert_eq!(ios["apns"]["headers"]["apns-push-type"], "alert");
        assert_eq!(fcm.token_exchanges(), 1, "one access token serves the burst");

        // Exactly once: nothing more to send, and the phones of a family with a phone get no mail.
        assert_eq!(app.dispatch().await.sent, 0);
        assert_eq!(fcm.received().len(), 2);
        assert!(!app.outbox().iter().any(|m| m.contains("Carnet de vaccination de Luc")), "no mail for a family with phones");

        // The alert is gone and the booking goes through.
        let alerts = app.get("/api/v1/alerts", &parent.access).await.body;
        assert!(!alerts.as_array().unwrap().iter().any(|a| a["child_id"] == luc.child_id.to_string()), "{alerts}");
        let booked = app.post("/api/v1/mutations", Some(&parent.access), json!({"mutations": [
            {"id": Uuid::now_v7(), "kind": "reserve", "child_id": luc.child_id, "session_id": session}]})).await;
        assert_eq!(booked.body["results"][0]["status"], "applied", "{}", booked.body);

        // The phone's sync carries the decision; the parent's list shows it.
        let sync = app.get("/api/v1/sync?cursor=0", &parent.access).await.body;
        let change = sync["changes"].as_array().unwrap().iter().find(|c| c["id"] == document.to_string()).expect("in the feed");
        assert_eq!(change["entity"], "document");
        assert_eq!(change["document"]["status"], "validated");
        let mine = app.get("/api/v1/documents", &parent.access).await.body;
        assert_eq!(mine[0]["id"], document.to_string());
        // The neighbour sees none of it.
        assert_eq!(app.get("/api/v1/documents", &neighbour.access).await.body, json!([]));
        let theirs = app.get("/api/v1/sync?cursor=0", &neighbour.access).await.body;
        assert!(!theirs.to_string().contains(&document.to_string()));

        // A decided document cannot be decided again.
        app.post(&format!("/api/v1/staff/documents/{document}/refuse"), Some(&agent.access), json!({"reason": "Illisible"})).await
            .problem(StatusCode::CONFLICT, "conflict");
        app.post(&format!("/api/v1/staff/documents/{}/validate", Uuid::now_v7()), Some(&agent.access), json!({})).await
            .problem(StatusCode::NOT_FOUND, "not_found");
    }

    async fn dead_tokens_are_forgotten_and_payload_bugs_not_retried(app) {
        let (app, fcm) = app.with_demo().await.with_fcm().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let luc = luc(&app, &parent).await;
        for token in ["desinstalle", "autre-projet", "jeton-invalide", "bug", "vivant"] {
            register(&app, &parent, "android", token).await;
        }
        fcm.script("desinstalle", vec![Scripted::Unregistered]);
        fcm.script("autre-projet", vec![Scripted::SenderIdMismatch]);
        fcm.script("jeton-invalide", vec![Scripted::InvalidToken]);
        fcm.script("bug", vec![Scripted::InvalidArgument]);

        let document = pending_carnet(&app, &luc).await;
        let refused = refuse(&app, &agent, document, "Le carnet est illisible, merci de reprendre la photo.").await;
        assert_eq!(refused["refusal_reason"], "Le carnet est illisible, merci de reprendre la photo.");
        let report = app.dispatch().await;
        assert_eq!((report.sent, report.tokens_forgotten, report.dropped, report.retried), (1, 3, 1, 0), "{report:?}");
        let received = fcm.received();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0]["token"], "vivant");
        assert_eq!(received[0]["data"]["kind"], "document_refused");
        // The reason stays behind the login: never in the push.
        assert!(!received[0].to_string().contains("illisible"), "{}", received[0]);

        let account = app.state.db.accounts().by_email("parent@famille.example").await.unwrap().unwrap().id;
        let left: Vec<String> = app.state.db.devices().of_account(account).await.unwrap().into_iter().map(|(t, _)| t).collect();
        assert_eq!(left, ["bug", "vivant"], "UNREGISTERED, SENDER_ID_MISMATCH and an invalid token delete the phone");
        let rows = app.state.db.outbox().about(document).await.unwrap();
        let bug = rows.iter().find(|r| r.token.as_deref() == Some("bug")).unwrap();
        assert_eq!(bug.status.as_str(), "dropped");
        assert!(bug.last_error.as_deref().unwrap().contains("INVALID_ARGUMENT"));
        assert_eq!(app.dispatch().await, Default::default(), "nothing is retried");

        // The refusal keeps the alert, and says why in the app.
        let alerts = app.get("/api/v1/alerts", &parent.access).await.body;
        assert!(alerts.as_array().unwrap().iter().any(|a| a["child_id"] == luc.child_id.to_string()));
        let mine = app.get("/api/v1/documents", &parent.access).await.body;
        assert_eq!(mine[0]["status"], "refused");
        assert_eq!(mine[0]["refusal_reason"], "Le carnet est illisible, merci de reprendre la photo.");
    }

    async fn when_every_push_of_a_notice_fails_for_good_the_mail_comes_once(app) {
        let (app, fcm) = app.with_demo().await.with_fcm().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let luc = luc(&app, &parent).await;
        let mails = |app: &TestApp| app.outbox().iter().filter(|m| m.contains("To: parent@famille.example")).count();

        // The only phone was uninstalled: the token goes, the refusal comes by mail.
        register(&app, &parent, "android", "desinstalle").await;
        fcm.script("desinstalle", vec![Scripted::Unregistered]);
        let first = pending_carnet(&app, &luc).await;
        refuse(&app, &agent, first, "Illisible.").await;
        let report = app.dispatch().await;
        assert_eq!((report.sent, report.tokens_forgotten), (1, 1), "{report:?}");
        let mail = app.wait_for_mail_containing("Carnet de vaccination de Luc : refus").await;
        assert!(!mail.contains("Illisible"), "the reason stays in the app: {mail}");
        assert_eq!(mails(&app), 1);
        assert_eq!(app.dispatch().await, Default::default(), "once");

        // Two phones, one with a dead token, one whose payload is refused: one mail.
        register(&app, &parent, "android", "perime").await;
        register(&app, &parent, "ios", "refuse").await;
        fcm.script("perime", vec![Scripted::InvalidToken]);
        fcm.script("refuse", vec![Scripted::InvalidArgument]);
        let second = pending_carnet(&app, &luc).await;
        validate(&app, &agent, second).await;
        app.dispatch().await;
        let rows = app.state.db.outbox().about(second).await.unwrap();
        let by_mail: Vec<_> = rows.iter().filter(|r| r.channel.as_str() == "mail").collect();
        assert_eq!(by_mail.len(), 1, "{rows:?}");
        assert_eq!(by_mail[0].status.as_str(), "sent");
        assert_eq!(mails(&app), 2);

        // A phone that answers is enough: no mail, even when the other one fails.
        register(&app, &parent, "android", "vivant").await;
        fcm.script("refuse", vec![Scripted::InvalidArgument]);
        let third = pending_carnet(&app, &luc).await;
        validate(&app, &agent, third).await;
        app.dispatch().await;
        assert!(app.state.db.outbox().about(third).await.unwrap().iter().all(|r| r.channel.as_str() == "push"));

        // A phone that never answers, until the last attempt: then the mail.
        let account = app.state.db.accounts().by_email("parent@famille.example").await.unwrap().unwrap().id;
        for token in ["vivant", "refuse"] {
            assert!(app.state.db.devices().remove(account, token).await.unwrap());
        }
        register(&app, &parent, "android", "injoignable").await;
        let attempts = famille_server::notifications::dispatcher::MAX_ATTEMPTS as usize;
        fcm.script("injoignable", vec![Scripted::Unavailable { retry_after: Some(1) }; attempts]);
        let fourth = pending_carnet(&app, &luc).await;
        validate(&app, &agent, fourth).await;
        for _ in 0..attempts {
            app.dispatch().await;
            app.state.clock.advance(Duration::hours(2));
        }
        let rows = app.state.db.outbox().about(fourth).await.unwrap();
        assert!(rows.iter().any(|r| r.channel.as_str() == "mail" && r.status.as_str() == "sent"), "{rows:?}");

        // Unless the parent turned the mail off (a day later: logged in again).
        let parent = app.parent().await;
        let agent = app.agent().await;
        app.put("/api/v1/account/notifications", &parent.access, json!({"muted": [], "mail_fallback": false})).await;
        register(&app, &parent, "ios", "encore-desinstalle").await;
        assert!(app.state.db.devices().remove(account, "injoignable").await.unwrap());
        fcm.script("encore-desinstalle", vec![Scripted::Unregistered]);
        let fifth = pending_carnet(&app, &luc).await;
        validate(&app, &agent, fifth).await;
        app.dispatch().await;
        assert!(app.state.db.outbox().about(fifth).await.unwrap().iter().all(|r| r.channel.as_str() == "push"));
    }

    async fn unavailable_is_retried_after_retry_after_and_401_refreshes_the_credentials(app) {
        let (app, fcm) = app.with_demo().await.with_fcm().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let luc = luc(&app, &parent).await;
        register(&app, &parent, "android", "jeton").await;

        fcm.script("jeton", vec![Scripted::Unavailable { retry_after: Some(120) }]);
        let document = pending_carnet(&app, &luc).await;
        validate(&app, &agent, document).await;
        let report = app.dispatch().await;
        assert_eq!((report.sent, report.retried), (0, 1), "{report:?}");
        let row = &app.state.db.outbox().about(document).await.unwrap()[0];
        let wait = row.next_attempt_at - app.state.clock.now();
        assert!(wait > Duration::seconds(110) && wait <= Duration::seconds(120), "Retry-After honoured: {wait}");

        app.state.clock.advance(Duration::seconds(60));
        assert_eq!(app.dispatch().await.sent, 0, "not before Retry-After");
        app.state.clock.advance(Duration::seconds(61));
        assert_eq!(app.dispatch().await.sent, 1);
        assert_eq!(fcm.received().len(), 1);
        assert_eq!(app.state.db.outbox().about(document).await.unwrap()[0].attempts, 2);

        // 429 without Retry-After: exponential backoff from 30 s.
        fcm.script("jeton", vec![Scripted::QuotaExceeded { retry_after: None }, Scripted::Internal]);
        let second = pending_carnet(&app, &luc).await;
        refuse(&app, &agent, second, "Ce n'est pas le bon document.").await;
        assert_eq!(app.dispatch().await.retried, 1);
        app.state.clock.advance(Duration::seconds(31));
        assert_eq!(app.dispatch().await.retried, 1, "500 is retried too");
        app.state.clock.advance(Duration::seconds(40));
        assert_eq!(app.dispatch().await.sent, 0, "the second wait is a minute");
        app.state.clock.advance(Duration::seconds(21));
        assert_eq!(app.dispatch().await.sent, 1);

        // Credentials revoked: the 401 gets a fresh access token and the same send goes through.
        let exchanges = fcm.token_exchanges();
        fcm.script("jeton", vec![Scripted::Unauthenticated]);
        let third = pending_carnet(&app, &luc).await;
        validate(&app, &agent, third).await;
        let report = app.dispatch().await;
        assert_eq!(report.sent, 1, "{report:?}");
        assert_eq!(fcm.token_exchanges(), exchanges + 1);
        assert_eq!(fcm.received().len(), 3);
    }

    async fn a_server_killed_between_commit_and_send_delivers_after_restart(app) {
        let (app, fcm) = app.with_demo().await.with_fcm().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let luc = luc(&app, &parent).await;
        register(&app, &parent, "ios", "jeton-ios").await;
        register(&app, &parent, "android", "jeton-android").await;

        // Killed right after the commit: nothing was sent.
        let first = pending_carnet(&app, &luc).await;
        validate(&app, &agent, first).await;
        // Killed after claiming the second notice's rows, before sending them.
        let second = pending_carnet(&app, &luc).await;
        refuse(&app, &agent, second, "Page manquante.").await;
        let claimed = app.state.db.outbox().claim(app.state.clock.now(), 2).await.unwrap();
        assert_eq!(claimed.len(), 2);
        assert!(claimed.iter().all(|d| d.ref_id == first));

        let app = app.restart().await;
        let report = app.dispatch().await;
        assert_eq!(report.sent, 2, "the unclaimed notice goes at once: {report:?}");
        assert!(fcm.received().iter().all(|m| m["data"]["id"] == second.to_string()));
        app.state.clock.advance(Duration::seconds(61));
        assert_eq!(app.dispatch().await.sent, 2, "the claimed one once its lease is over");
        let received = fcm.received();
        assert_eq!(received.len(), 4);
        assert_eq!(received.iter().filter(|m| m["data"]["id"] == first.to_string()).count(), 2);
        assert_eq!(app.dispatch().await.sent, 0);
        assert_eq!(app.state.db.outbox().pending_count().await.unwrap(), 0);
    }

    async fn without_a_phone_the_notice_comes_by_mail_unless_muted(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let luc = luc(&app, &parent).await;

        let settings = app.get("/api/v1/account/notifications", &parent.access).await;
        assert_eq!(settings.body, json!({"muted": [], "mail_fallback": true}));

        let document = pending_carnet(&app, &luc).await;
        refuse(&app, &agent, document, "Le carnet est illisible.").await;
        let mail = app.wait_for_mail_containing("Carnet de vaccination de Luc : refus").await;
        assert!(mail.contains("To: parent@famille.example"), "{mail}");
        assert!(mail.contains("Carnet de vaccination de Luc"), "{mail}");
        assert!(!mail.contains("illisible"), "the reason stays in the app: {mail}");

        // Muting a kind silences it; turning the fallback off silences the mail.
        let muted = app.put("/api/v1/account/notifications", &parent.access, json!({"muted": ["document_validated"], "mail_fallback": true})).await;
        assert_eq!(muted.status, StatusCode::OK, "{}", muted.body);
        let second = pending_carnet(&app, &luc).await;
        validate(&app, &agent, second).await;
        assert!(app.state.db.outbox().about(second).await.unwrap().is_empty());
        app.put("/api/v1/account/notifications", &parent.access, json!({"muted": [], "mail_fallback": false})).await;
        let third = pending_carnet(&app, &luc).await;
        validate(&app, &agent, third).await;
        assert!(app.state.db.outbox().about(third).await.unwrap().is_empty());
        assert_eq!(
            app.get("/api/v1/account/notifications", &parent.access).await.body,
            json!({"muted": [], "mail_fallback": false})
        );
        let unknown = app.put("/api/v1/account/notifications", &parent.access, json!({"muted": ["sonnerie"], "mail_fallback": true})).await;
        unknown.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(unknown.body["errors"][0]["field"], "muted[0]");
    }
}

backend_tests! {
    async fn phones_unseen_for_two_months_are_forgotten(app) {
        use famille_server::notifications::dispatcher::{DEVICE_TTL, KEEP_DONE};
        let app = app.with_demo().await;
        let parent = app.parent().await;
        register(&app, &parent, "android", "ancien").await;
        register(&app, &parent, "ios", "fidele").await;
        app.state.clock.advance(Duration::days(45));
        // The app re-registers its token at each start: that keeps it.
        let parent = app.parent().await;
        register(&app, &parent, "ios", "fidele").await;
        app.state.clock.advance(Duration::days(20));
        let now = app.state.clock.now();
        let (_, forgotten) = app.state.db.outbox().purge(now - KEEP_DONE, now - DEVICE_TTL).await.unwrap();
        assert_eq!(forgotten, 1);
        let account = app.state.db.accounts().by_email("parent@famille.example").await.unwrap().unwrap().id;
        let left: Vec<String> = app.state.db.devices().of_account(account).await.unwrap().into_iter().map(|(t, _)| t).collect();
        assert_eq!(left, ["fidele"]);
    }
}

backend_tests! {
    async fn document_types_are_managed_by_the_services_with_their_validity(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let types = app.get("/api/v1/document-types", &parent.access).await.body;
        let insurance = types.as_array().unwrap().iter().find(|t| t["code"] == "attestation_assurance").unwrap().clone();
        assert_eq!(insurance["validity"], "school_year");
        app.post("/api/v1/staff/document-types", Some(&parent.access), json!({"code": "x", "label": "X", "scope": "family", "validity": "until_replaced"})).await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        let created = app.post("/api/v1/staff/document-types", Some(&agent.access),
            json!({"code": "certificat_medical", "label": "Certificat médical (sport)", "scope": "child", "validity": "agent_date"})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        app.post("/api/v1/staff/document-types", Some(&agent.access),
            json!({"code": "certificat_medical", "label": "Doublon", "scope": "child", "validity": "agent_date"})).await
            .problem(StatusCode::CONFLICT, "conflict");
        app.post("/api/v1/staff/document-types", Some(&agent.access),
            json!({"code": "Pas Bon", "label": "", "scope": "foyer", "validity": "agent_date"})).await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");

        // A school-year document validated without a date counts until the 31st of August.
        let parent_tokens = app.parent().await;
        let luc = luc(&app, &parent_tokens).await;
        let doc = app.state.db.documents().submit(luc.family_id, Some(luc.child_id), insurance["id"].as_str().unwrap().parse().unwrap(), app.state.clock.now()).await.unwrap();
        let validated = validate(&app, &agent, doc).await;
        let today = famille_model::calendar::paris_date(app.state.clock.now());
        let expected = famille_model::dossier::DocumentValidity::SchoolYear.valid_until(today, None).unwrap();
        assert_eq!(validated["valid_until"], expected.to_string());
        // A type whose end the agent sets needs the date.
        let medical: uuid::Uuid = created.body["id"].as_str().unwrap().parse().unwrap();
        let doc = app.state.db.documents().submit(luc.family_id, Some(luc.child_id), medical, app.state.clock.now()).await.unwrap();
        app.post(&format!("/api/v1/staff/documents/{doc}/validate"), Some(&agent.access), json!({})).await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let until = today + Duration::days(365);
        let ok = app.post(&format!("/api/v1/staff/documents/{doc}/validate"), Some(&agent.access), json!({"valid_until": until})).await;
        assert_eq!(ok.body["valid_until"], until.to_string());
        let renamed = app.put(&format!("/api/v1/staff/document-types/{medical}"), &agent.access,
            json!({"code": "ignore", "label": "Certificat médical", "scope": "child", "validity": "school_year"})).await;
        assert_eq!(renamed.status, StatusCode::NO_CONTENT);
        let types = app.get("/api/v1/document-types", &parent.access).await.body;
        let medical_type = types.as_array().unwrap().iter().find(|t| t["code"] == "certificat_medical").unwrap();
        assert_eq!((medical_type["label"].as_str(), medical_type["validity"].as_str()), (Some("Certificat médical"), Some("school_year")));
    }
}

backend_tests! {
    async fn a_document_that_runs_out_raises_an_alert_once_and_abandoned_uploads_go(app) {
        use famille_server::notifications::dispatcher::hourly;
        let (app, fcm) = app.with_demo().await.with_fcm().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let luc = luc(&app, &parent).await;
        register(&app, &parent, "android", "jeton").await;
        let document = pending_carnet(&app, &luc).await;
        let today = famille_model::calendar::paris_date(app.state.clock.now());
        let reply = app.post(&format!("/api/v1/staff/documents/{document}/validate"), Some(&agent.access),
            json!({"valid_until": today + Duration::days(1)})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        app.dispatch().await;
        let before = fcm.received().len();

        hourly(&app.state).await;
        assert_eq!(app.dispatch().await.sent, 0, "still valid");
        app.state.clock.advance(Duration::days(3));
        hourly(&app.state).await;
        assert_eq!(app.dispatch().await.sent, 1);
        let received = fcm.received();
        assert_eq!(received.len(), before + 1);
        let alert = received.last().unwrap();
        assert_eq!(alert["data"], json!({"kind": "alert", "id": document.to_string()}));
        assert!(alert["notification"]["body"].as_str().unwrap().contains("n'est plus valable"));
        hourly(&app.state).await;
        assert_eq!(app.dispatch().await.sent, 0, "told once");
        // The alert is back on the banner (the carnet is required by activities).
        let parent = app.parent().await;
        let alerts = app.get("/api/v1/alerts", &parent.access).await.body;
        assert!(alerts.as_array().unwrap().iter().any(|a| a["child_id"] == luc.child_id.to_string()), "{alerts}");

        // An upload left unfinished for more than a week is removed with its bytes.
        let created = crate::support::tus(&app, axum::http::Method::POST, "/api/v1/uploads", &parent.access,
            &[("upload-length", "100".into()), ("upload-metadata", crate::support::meta(&[("document_type", "justificatif_domicile")]))], vec![]).await;
        assert_eq!(created.status, StatusCode::CREATED);
        let id = created.headers["location"].to_str().unwrap().rsplit('/').next().unwrap().to_owned();
        let part = app.state.config.uploads_dir().join(format!("{id}.part"));
        assert!(part.exists());
        app.state.clock.advance(Duration::days(8));
        hourly(&app.state).await;
        assert!(!part.exists());
        let head = crate::support::tus(&app, axum::http::Method::HEAD, &format!("/api/v1/uploads/{id}"),
            &app.parent().await.access, &[], vec![]).await;
        assert_eq!(head.status, StatusCode::NOT_FOUND);
    }
}
