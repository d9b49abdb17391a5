//! Messages (issue 13) on both databases: a family and a service write in a
//! thread, with attachments sent through tus and checked like documents; read
//! marks on both sides; the agents' inbox per service; the queue's
//! `send_message` and `read_thread`, applied once; a sensitive service's subject
//! never leaves the app.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, backend_tests, meta, tus};

/// A finished attachment upload of `bytes`; its id.
pub async fn attach(app: &TestApp, token: &str, bytes: &[u8], filename: &str) -> String {
    let created = tus(
        app,
        Method::POST,
        "/api/v1/uploads",
        token,
        &[
            ("upload-length", bytes.len().to_string()),
            (
                "upload-metadata",
                meta(&[("purpose", "attachment"), ("filename", filename)]),
            ),
        ],
        vec![],
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let at = created.headers["location"].to_str().unwrap().to_owned();
    let done = tus(
        app,
        Method::PATCH,
        &at,
        token,
        &[
            ("upload-offset", "0".into()),
            ("content-type", "application/offset+octet-stream".into()),
        ],
        bytes.to_vec(),
    )
    .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
    let id = done.headers["famille-document-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        at.rsplit('/').next().unwrap(),
        id,
        "an attachment's id is its upload's"
    );
    id
}

/// A 422 naming `field` (or saying `field`'s words).
#[track_caller]
fn field_refused(reply: &crate::support::Reply, field: &str) {
    let detail = reply.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let named = reply.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["field"] == field);
    assert!(
        named || detail.contains(field),
        "{field} not named: {}",
        reply.body
    );
}

fn photo() -> Vec<u8> {
    famille_fixtures::photo("gps_nikon_DSCN0010.jpg").expect("a generated photo")
}

async fn service_id(app: &TestApp, token: &str, name: &str) -> String {
    let services = app.get("/api/v1/services", token).await;
    assert_eq!(services.status, StatusCode::OK, "{}", services.body);
    services
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no service {name}: {}", services.body))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    match &*app.state.db.pool {
        famille_server::store::Pool::Sqlite(pool, _) => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .unwrap()
        }
        famille_server::store::Pool::Postgres(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

fn thread_in(feed: &Value, id: &str) -> Option<Value> {
    feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|c| c["entity"] == "thread" && c["id"] == id)
        .map(|c| c["thread"].clone())
}

backend_tests! {
    async fn a_family_and_a_service_talk_with_read_marks_on_both_sides(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let service = service_id(&app, &parent.access, "Petite enfance").await;
        let photo = photo();
        let attachment = attach(&app, &parent.access, &photo, "certificat.jpg").await;
        // A free attachment is nobody's document.
        let documents = app.get("/api/v1/documents", &parent.access).await.body;
        assert!(!documents.to_string().contains(&attachment), "an attachment is not a dossier document");

        let opened = app.post("/api/v1/threads", Some(&parent.access), json!({
            "service": service, "subject": "  Absence de Luc ", "body": "Bonjour,\nLuc est malade.", "attachments": [attachment],
        })).await;
        assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
        let thread = opened.body["id"].as_str().unwrap().to_owned();
        assert_eq!(opened.body["subject"], "Absence de Luc");
        assert_eq!(opened.body["opened_by"], "family");
        assert_eq!(opened.body["messages"][0]["attachments"][0]["content_type"], "image/jpeg");
        assert_eq!(opened.body["messages"][0]["read"], false);

        // The agent's inbox: unread first, with the family's name.
        let inbox = app.get("/api/v1/staff/threads", &agent.access).await;
        assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
        let first = &inbox.body[0];
        assert_eq!(first["id"], thread.as_str(), "the unread thread comes first: {}", inbox.body);
        assert_eq!(first["unread"], 1);
        assert_eq!(first["family"], "TESTBO");
        let one_service = app.get(&format!("/api/v1/staff/threads?service_id={service}"), &agent.access).await.body;
        assert_eq!(one_service.as_array().unwrap().len(), 1);

        // The agent opens it: the file, audited; then marks it read.
        let staff_view = app.get(&format!("/api/v1/staff/threads/{thread}"), &agent.access).await;
        assert_eq!(staff_view.status, StatusCode::OK, "{}", staff_view.body);
        assert_eq!(staff_view.body["unread"], 1, "the agent's count, as in the inbox");
        assert!(staff_view.body["messages"][0]["author"].as_str().unwrap().contains("TESTBO"), "{}", staff_view.body);
        let file = app.get(&format!("/api/v1/staff/threads/{thread}/attachments/{attachment}"), &agent.access).await;
        assert_eq!(file.status, StatusCode::OK);
        assert_eq!(file.raw, photo);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'attachment.read'").await, 1);
        let last = staff_view.body["messages"][0]["created_at"].clone();
        let read = app.post(&format!("/api/v1/staff/threads/{thread}/read"), Some(&agent.access), json!({"up_to": last})).await;
        assert_eq!(read.status, StatusCode::NO_CONTENT, "{}", read.body);
        let family_view = app.get(&format!("/api/v1/threads/{thread}"), &parent.access).await.body;
        assert_eq!(family_view["messages"][0]["read"], true, "the family sees « lu »");
        let inbox = app.get("/api/v1/staff/threads", &agent.access).await.body;
        let ours = inbox.as_array().unwrap().iter().position(|t| t["id"] == thread.as_str()).unwrap();
        assert_eq!(inbox[ours]["unread"], 0);
        assert_eq!(inbox[0]["unread"], 1, "the demo's unread question now comes first: {inbox}");

        // The agent answers: the family is told (mail: no phone), without the body.
        let answer = app.post(&format!("/api/v1/staff/threads/{thread}/messages"), Some(&agent.access),
            json!({"body": "Bien reçu, prompt rétablissement."})).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        let mail = app.wait_for_mail_containing("Absence de Luc").await;
        assert!(mail.contains("Petite enfance"), "{mail}");
        assert!(!mail.contains("rétablissement"), "never the body: {mail}");
        let threads = app.get("/api/v1/threads", &parent.access).await.body;
        let summary = threads.as_array().unwrap().iter().find(|t| t["id"] == thread.as_str()).unwrap();
        assert_eq!(summary["unread"], 1);
        let family_view = app.get(&format!("/api/v1/threads/{thread}"), &parent.access).await.body;
        assert_eq!(family_view["messages"][1]["author"], "Petite enfance", "agents are not named to families");
        assert_eq!(family_view["messages"][1]["read"], false);

        // The family reads it; the mark never moves back, nor past now.
        let newest = family_view["messages"][1]["created_at"].clone();
        let read = app.post(&format!("/api/v1/threads/{thread}/read"), Some(&parent.access), json!({"up_to": newest})).await;
        assert_eq!(read.status, StatusCode::NO_CONTENT, "{}", read.body);
        let back = app.post(&format!("/api/v1/threads/{thread}/read"), Some(&parent.access), json!({"up_to": "2000-01-01T00:00:00Z"})).await;
        assert_eq!(back.status, StatusCode::NO_CONTENT, "{}", back.body);
        let staff_view = app.get(&format!("/api/v1/staff/threads/{thread}"), &agent.access).await.body;
        assert_eq!(staff_view["messages"][1]["read"], true, "the services see « lu »: {staff_view}");
        assert_eq!(app.get("/api/v1/threads", &parent.access).await.body.as_array().unwrap().iter()
            .find(|t| t["id"] == thread.as_str()).unwrap()["unread"], 0);

        // A phone whose clock runs ahead reads nothing not yet written; each answer
        // is told (and mailed) on its own.
        app.post(&format!("/api/v1/threads/{thread}/read"), Some(&parent.access), json!({"up_to": "2100-01-01T00:00:00Z"})).await;
        app.state.clock.advance(chrono::Duration::seconds(5));
        let second = app.post(&format!("/api/v1/staff/threads/{thread}/messages"), Some(&agent.access),
            json!({"body": "Pensez au certificat."})).await;
        assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
        let view = app.get(&format!("/api/v1/threads/{thread}"), &parent.access).await.body;
        assert_eq!(view["unread"], 1, "the later answer is unread: {view}");
        assert_eq!(view["messages"][2]["read"], false);
        for _ in 0..200 {
            app.dispatch().await;
            if app.outbox().iter().filter(|m| m.contains("Absence de Luc")).count() >= 2 { break; }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(app.outbox().iter().filter(|m| m.contains("Absence de Luc")).count(), 2, "one mail per answer");
        let newest = view["messages"][2]["created_at"].clone();
        app.post(&format!("/api/v1/threads/{thread}/read"), Some(&parent.access), json!({"up_to": newest})).await;

        // The feed carries the thread with its messages (the phone reads it offline).
        let feed = app.get("/api/v1/sync?cursor=0", &parent.access).await.body;
        let synced = thread_in(&feed, &thread).expect("the thread is in the feed");
        assert_eq!(synced["messages"].as_array().unwrap().len(), 3);
        assert_eq!(synced["messages"][0]["read"], true);

        // Closed, then reopened by the family's next message.
        let closed = app.call(Method::POST, &format!("/api/v1/staff/threads/{thread}/close"), Some(&agent.access), None).await;
        assert_eq!(closed.status, StatusCode::NO_CONTENT);
        assert_eq!(app.get(&format!("/api/v1/threads/{thread}"), &parent.access).await.body["status"], "closed");
        let again = app.post(&format!("/api/v1/threads/{thread}/messages"), Some(&parent.access), json!({"body": "Merci !"})).await;
        assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
        assert_eq!(again.body["status"], "open");
    }

    async fn attachments_are_checked_and_taken_once(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let service = service_id(&app, &parent.access, "Petite enfance").await;
        // A fake PDF: refused at its last byte, nothing stored.
        let fake = b"%PDF-1.4 ceci n'est pas un PDF".to_vec();
        let created = tus(&app, Method::POST, "/api/v1/uploads", &parent.access, &[
            ("upload-length", fake.len().to_string()),
            ("upload-metadata", meta(&[("purpose", "attachment"), ("filename", "faux.pdf")])),
        ], vec![]).await;
        let at = created.headers["location"].to_str().unwrap().to_owned();
        let refused = tus(&app, Method::PATCH, &at, &parent.access, &[
            ("upload-offset", "0".into()), ("content-type", "application/offset+octet-stream".into()),
        ], fake).await;
        assert!(refused.status.is_client_error(), "{}", refused.body);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM attachments").await, 0);
        let fake_id = at.rsplit('/').next().unwrap();
        let with_fake = app.post("/api/v1/threads", Some(&parent.access), json!({
            "service": service, "subject": "Crèche", "body": "Voici", "attachments": [fake_id],
        })).await;
        field_refused(&with_fake, "attachments");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM threads WHERE subject = 'Crèche'").await, 0, "nothing written");

        // An unknown purpose is named.
        let odd = tus(&app, Method::POST, "/api/v1/uploads", &parent.access, &[
            ("upload-length", "10".into()), ("upload-metadata", meta(&[("purpose", "avatar")])),
        ], vec![]).await;
        field_refused(&odd, "purpose");

        // Another family's attachment cannot be sent; one attachment goes with one message.
        let photo = photo();
        let stranger = app.new_parent("voisine@example.fr").await;
        let theirs = attach(&app, &stranger.access, &photo, "photo.jpg").await;
        let stolen = app.post("/api/v1/threads", Some(&parent.access), json!({
            "service": service, "subject": "Crèche", "body": "Voici", "attachments": [theirs],
        })).await;
        field_refused(&stolen, "attachments");
        // A photo the parent withdrew (tus termination) goes with no message.
        let withdrawn = attach(&app, &parent.access, &photo, "photo.jpg").await;
        let gone = tus(&app, Method::DELETE, &format!("/api/v1/uploads/{withdrawn}"), &parent.access, &[], vec![]).await;
        assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
        let with_withdrawn = app.post("/api/v1/threads", Some(&parent.access), json!({
            "service": service, "subject": "Crèche", "body": "Voici", "attachments": [withdrawn],
        })).await;
        field_refused(&with_withdrawn, "attachments");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM attachments").await, 1, "only the stranger's is left");

        // A photo alone is a message; the name it came with is made safe to show.
        let mine = attach(&app, &parent.access, &photo, "../../tmp/photo\u{202e}.jpg").await;
        let sent = app.post("/api/v1/threads", Some(&parent.access), json!({
            "service": service, "subject": "Crèche", "body": "", "attachments": [mine],
        })).await;
        assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
        assert_eq!(sent.body["messages"][0]["attachments"][0]["filename"], "photo.jpg");
        assert_eq!(sent.body["messages"][0]["body"], "");
        let thread = sent.body["id"].as_str().unwrap().to_owned();
        let twice = app.post(&format!("/api/v1/threads/{thread}/messages"), Some(&parent.access),
            json!({"body": "Encore", "attachments": [mine]})).await;
        twice.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let many: Vec<String> = (0..6).map(|i| format!("00000000-0000-0000-0000-00000000000{i}")).collect();
        let too_many = app.post(&format!("/api/v1/threads/{thread}/messages"), Some(&parent.access),
            json!({"body": "Voici", "attachments": many})).await;
        field_refused(&too_many, "5 pièces jointes");
        // The stranger reads neither the thread nor the file.
        app.get(&format!("/api/v1/threads/{thread}"), &stranger.access).await.problem(StatusCode::NOT_FOUND, "not_found");
        app.get(&format!("/api/v1/threads/{thread}/attachments/{mine}"), &stranger.access).await
            .problem(StatusCode::NOT_FOUND, "not_found");
        let own = app.get(&format!("/api/v1/threads/{thread}/attachments/{mine}"), &parent.access).await;
        assert_eq!((own.status, own.raw.len()), (StatusCode::OK, photo.len()));
    }

    async fn the_queue_sends_a_message_once(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let service = service_id(&app, &parent.access, "Périscolaire et restauration").await;
        let id = uuid::Uuid::now_v7();
        let intent = json!({"kind": "send_message", "id": id, "service": service,
            "subject": "Cantine", "body": "Luc ne mange pas de porc.", "uploads": []});
        let first = app.post("/api/v1/mutations", Some(&parent.access), json!({"mutations": [intent.clone()]})).await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        assert_eq!(first.body["results"][0]["status"], "applied", "{}", first.body);
        let thread = first.body["results"][0]["thread_id"].as_str().expect("the new thread").to_owned();
        let replay = app.post("/api/v1/mutations", Some(&parent.access), json!({"mutations": [intent]})).await;
        assert_eq!(replay.body["results"][0], first.body["results"][0]);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM messages m JOIN threads t ON t.id = m.thread_id WHERE t.subject = 'Cantine'").await, 1);

        // An answer and a read mark, queued; a foreign or missing target is refused.
        let now = app.state.clock.now();
        let batch = json!({"mutations": [
            {"kind": "send_message", "id": uuid::Uuid::now_v7(), "thread_id": thread, "body": "Ni de bœuf."},
            {"kind": "read_thread", "id": uuid::Uuid::now_v7(), "thread_id": thread, "up_to": now},
            {"kind": "send_message", "id": uuid::Uuid::now_v7(), "body": "Nulle part"},
            {"kind": "send_message", "id": uuid::Uuid::now_v7(), "thread_id": uuid::Uuid::now_v7(), "body": "Ailleurs"},
            {"kind": "send_message", "id": uuid::Uuid::now_v7(), "thread_id": thread, "body": " "},
        ]});
        let answers = app.post("/api/v1/mutations", Some(&parent.access), batch).await.body;
        let statuses: Vec<(&str, Option<&str>)> = answers["results"].as_array().unwrap().iter()
            .map(|r| (r["status"].as_str().unwrap(), r["code"].as_str())).collect();
        assert_eq!(statuses, vec![("applied", None), ("applied", None), ("rejected", Some("invalid_field")),
            ("rejected", Some("not_found")), ("rejected", Some("invalid_field"))], "{answers}");
        assert!(answers["results"][4]["detail"].as_str().unwrap().contains("body"), "{answers}");
        let stranger = app.new_parent("voisin@example.fr").await;
        let foreign = app.post("/api/v1/mutations", Some(&stranger.access), json!({"mutations": [
            {"kind": "send_message", "id": uuid::Uuid::now_v7(), "thread_id": thread, "body": "Intrus"},
            {"kind": "read_thread", "id": uuid::Uuid::now_v7(), "thread_id": thread, "up_to": now},
        ]})).await.body;
        assert_eq!(foreign["results"][0]["code"], "not_found");
        assert_eq!(foreign["results"][1]["code"], "not_found");
        let view = app.get(&format!("/api/v1/threads/{thread}"), &parent.access).await.body;
        assert_eq!(view["messages"].as_array().unwrap().len(), 2);

        // A message refused for its attachment opens no thread (the batch is committed
        // with its refusal logged).
        let threads_before = count(&app, "SELECT COUNT(*) FROM threads").await;
        let theirs = attach(&app, &stranger.access, &photo(), "photo.jpg").await;
        let refused = app.post("/api/v1/mutations", Some(&parent.access), json!({"mutations": [
            {"kind": "send_message", "id": uuid::Uuid::now_v7(), "service": service, "subject": "Vol", "body": "Voici", "uploads": [theirs]},
            {"kind": "send_message", "id": uuid::Uuid::now_v7(), "thread_id": thread, "service": service, "body": "Les deux"},
            {"kind": "send_message", "id": uuid::Uuid::now_v7(), "thread_id": thread, "body": 123},
        ]})).await.body;
        assert_eq!(refused["results"][0]["code"], "invalid_field", "{refused}");
        assert!(refused["results"][0]["detail"].as_str().unwrap().contains("attachments"), "{refused}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM threads").await, threads_before, "no empty thread");
        assert!(refused["results"][1]["detail"].as_str().unwrap().contains("service"), "{refused}");
        assert_eq!(refused["results"][2]["code"], "invalid_field", "a known kind with a bad field: {refused}");

        // A loop writing messages is stopped before it floods the inbox.
        let flood: Vec<Value> = (0..30).map(|i| json!({"kind": "send_message", "id": uuid::Uuid::now_v7(),
            "thread_id": thread, "body": format!("Message {i}")})).collect();
        app.post("/api/v1/mutations", Some(&parent.access), json!({"mutations": flood})).await
            .problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        assert_eq!(app.get(&format!("/api/v1/threads/{thread}"), &parent.access).await.body["messages"].as_array().unwrap().len(), 2);
    }

    async fn agents_see_their_services_and_sensitive_subjects_stay_in_the_app(app) {
        let app = app.with_demo().await;
        let admin = app.admin().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let family_id = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().to_owned();
        let services = app.get("/api/v1/staff/services", &agent.access).await.body;
        let agent_id = services[0]["agents"][0].as_str().unwrap().to_owned();
        // An admin makes a sensitive service without the demo agent.
        let created = app.post("/api/v1/staff/services", Some(&admin.access),
            json!({"name": "Service social", "sensitive": true, "agents": []})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let social = created.body["id"].as_str().unwrap().to_owned();
        let clash = app.post("/api/v1/staff/services", Some(&admin.access), json!({"name": "Service social"})).await;
        field_refused(&clash, "name");
        let by_agent = app.post("/api/v1/staff/services", Some(&agent.access), json!({"name": "Autre"})).await;
        by_agent.problem(StatusCode::FORBIDDEN, "forbidden");

        // The admin writes first to the family; the agent outside the service sees nothing.
        let opened = app.post(&format!("/api/v1/staff/families/{family_id}/threads"), Some(&admin.access),
            json!({"service": social, "subject": "Aide aux vacances", "body": "Votre dossier d'aide est complet."})).await;
        assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
        let thread = opened.body["id"].as_str().unwrap().to_owned();
        assert_eq!(opened.body["opened_by"], "services");
        app.get(&format!("/api/v1/staff/threads/{thread}"), &agent.access).await.problem(StatusCode::NOT_FOUND, "not_found");
        let inbox = app.get("/api/v1/staff/threads", &agent.access).await.body;
        assert!(!inbox.to_string().contains(&thread), "{inbox}");
        let outside = app.get(&format!("/api/v1/staff/threads?service_id={social}"), &agent.access).await.body;
        assert_eq!(outside, json!([]));
        // The mail tells that the services wrote, never whom nor about what.
        app.wait_for_mail_containing("Les services vous ont écrit").await;
        let all = app.outbox().join("\n");
        assert!(!all.contains("Aide aux vacances") && !all.contains("Service social") && !all.contains("dossier d'aide"), "{all}");

        // Once in the service, the agent reads it and may take it.
        let put = app.put(&format!("/api/v1/staff/services/{social}"), &admin.access,
            json!({"name": "Service social", "sensitive": true, "agents": [agent_id]})).await;
        assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.body);
        assert_eq!(app.get(&format!("/api/v1/staff/threads/{thread}"), &agent.access).await.status, StatusCode::OK);
        let taken = app.put(&format!("/api/v1/staff/threads/{thread}/assignee"), &agent.access, json!({"account_id": agent_id})).await;
        assert_eq!(taken.status, StatusCode::NO_CONTENT, "{}", taken.body);
        let mine = app.get("/api/v1/staff/threads?mine=true", &agent.access).await.body;
        assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
        assert_eq!(mine[0]["assigned_to"], agent_id.as_str());
        let parent_id = app.get("/api/v1/family", &parent.access).await.body["guardians"][0]["id"].clone();
        let not_agent = app.put(&format!("/api/v1/staff/threads/{thread}/assignee"), &agent.access, json!({"account_id": parent_id})).await;
        field_refused(&not_agent, "account_id");
        // A rename keeps the service sensitive and its agents; an agent taken out
        // hands their threads back to the service.
        let renamed = app.put(&format!("/api/v1/staff/services/{social}"), &admin.access, json!({"name": "Action sociale 2"})).await;
        assert_eq!(renamed.status, StatusCode::NO_CONTENT, "{}", renamed.body);
        let services = app.get("/api/v1/staff/services", &admin.access).await.body;
        let kept = services.as_array().unwrap().iter().find(|s| s["id"] == social.as_str()).unwrap();
        assert_eq!((kept["sensitive"].clone(), kept["agents"].clone()), (json!(true), json!([agent_id])), "{kept}");
        app.put(&format!("/api/v1/staff/services/{social}"), &admin.access, json!({"name": "Action sociale 2", "agents": []})).await;
        let thread_now = app.get(&format!("/api/v1/staff/threads/{thread}"), &admin.access).await.body;
        assert!(thread_now["assigned_to"].is_null(), "{thread_now}");
        // A parent opens no staff route.
        app.get("/api/v1/staff/threads", &parent.access).await.problem(StatusCode::FORBIDDEN, "forbidden");
    }
}
