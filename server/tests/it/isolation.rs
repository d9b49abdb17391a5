//! A parent never reaches another family's data. The routes are taken from the
//! OpenAPI document the router is built from, so a route added later is walked too
//! without anyone remembering to add it here.

use std::collections::HashMap;

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::support::backend_tests;

/// A body that deserialises into the request schema (required fields only), so the
/// request reaches the handler's ownership check.
fn sample(schema: &Value, doc: &Value) -> Value {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap();
        return sample(&doc["components"]["schemas"][name], doc);
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let first = options
                .iter()
                .find(|o| o.get("type") != Some(&json!("null")))
                .unwrap_or(&options[0]);
            return sample(first, doc);
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values[0].clone();
    }
    let kind = match schema.get("type") {
        Some(Value::Array(kinds)) => kinds
            .iter()
            .find(|k| *k != "null")
            .cloned()
            .unwrap_or(Value::Null),
        Some(kind) => kind.clone(),
        None => Value::Null,
    };
    match kind.as_str() {
        Some("string") => match schema.get("format").and_then(Value::as_str) {
            Some("uuid") => json!(uuid::Uuid::now_v7()),
            Some("date") => json!("2019-05-04"),
            Some("date-time") => json!("2024-01-01T00:00:00Z"),
            _ => json!("Texte"),
        },
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        Some("object") | None => {
            let mut object = Map::new();
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    if required.contains(&name.as_str()) {
                        object.insert(name.clone(), sample(property, doc));
                    }
                }
            }
            Value::Object(object)
        }
        Some(other) => panic!("no sample for schema type {other}"),
    }
}

fn is_family_scoped(path: &str) -> bool {
    path.starts_with("/api/v1/")
        && !path.starts_with("/api/v1/staff/")
        && !path.starts_with("/api/v1/auth/")
        // The iCalendar feed's only credential is its secret address (tested in bookings).
        && !path.starts_with("/api/v1/calendar/")
        && !matches!(path, "/api/v1/openapi.json" | "/api/v1/docs")
}

backend_tests! {
    async fn every_family_route_answers_404_to_another_family(app) {
        let app = app.with_demo().await;
        let owner = app.parent().await;
        let family = app.get("/api/v1/family", &owner.access).await.body;
        let luc = family["children"][2]["id"].as_str().unwrap().to_owned();
        let berte = app.get(&format!("/api/v1/children/{luc}/authorized-persons"), &owner.access).await.body[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let upload = crate::support::tus(&app, Method::POST, "/api/v1/uploads", &owner.access,
            &[("upload-length", "100".into()), ("upload-metadata", crate::support::meta(&[("document_type", "justificatif_domicile")]))], vec![]).await;
        assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.body);
        let upload_id = upload.headers["location"].to_str().unwrap().rsplit('/').next().unwrap().to_owned();
        // The family's invoice of last month (the demo's bookings).
        let agent = app.agent().await;
        let today = famille_model::calendar::paris_date(app.state.clock.now());
        let last_month = today.checked_sub_months(chrono::Months::new(1)).unwrap().format("%Y-%m").to_string();
        let run = app.post("/api/v1/staff/billing/runs", Some(&agent.access), serde_json::json!({"month": last_month})).await;
        let run_id = run.body["id"].as_str().unwrap().to_owned();
        let issued = app.call(Method::POST, &format!("/api/v1/staff/billing/runs/{run_id}/issue"), Some(&agent.access), None).await;
        let invoice_id = issued.body["invoices"][0]["id"].as_str().expect("the demo's invoice").to_owned();
        // A payment of the family, received at the desk.
        let family_id = family["id"].as_str().unwrap();
        let regie = app.get("/api/v1/staff/regies", &agent.access).await.body[0]["id"].as_str().unwrap().to_owned();
        let paid = app.post(&format!("/api/v1/staff/families/{family_id}/payments"), Some(&agent.access),
            serde_json::json!({"regie_id": regie, "method": "cash", "amount_cents": 500, "received_on": today})).await;
        let payment_id = paid.body["id"].as_str().expect("a payment").to_owned();
        // Its payment certificate of this year.
        let certificates = app.get(&format!("/api/v1/certificates?year={}", today.format("%Y")), &owner.access).await;
        let certificate_id = certificates.body[0]["id"].as_str().expect("a certificate").to_owned();
        // The family's thread with the billing service (the demo's), and a photo sent in it.
        let thread_id = app.get("/api/v1/threads", &owner.access).await.body[0]["id"].as_str().expect("the demo's thread").to_owned();
        let photo = famille_fixtures::photo("gps_nikon_DSCN0010.jpg").unwrap();
        let attachment_id = crate::messages::attach(&app, &owner.access, &photo, "photo.jpg").await;
        let sent = app.post(&format!("/api/v1/threads/{thread_id}/messages"), Some(&owner.access),
            serde_json::json!({"body": "Voici la photo", "attachments": [attachment_id]})).await;
        assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
        let ids: HashMap<&str, String> = HashMap::from([
            ("thread_id", thread_id),
            ("attachment_id", attachment_id),
            ("invoice_id", invoice_id.clone()),
            ("payment_id", payment_id),
            ("certificate_id", certificate_id),
            ("upload_id", upload_id),
            ("child_id", luc.clone()),
            ("person_id", berte.clone()),
            ("guardian_id", family["guardians"][1]["id"].as_str().unwrap().to_owned()),
        ]);
        let owner_ids: Vec<String> = std::iter::once(family["id"].as_str().unwrap().to_owned())
            .chain(family["children"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()))
            .chain(ids.values().cloned())
            .chain(app.get("/api/v1/documents", &owner.access).await.body.as_array().unwrap().iter()
                .map(|d| d["id"].as_str().unwrap().to_owned()))
            .chain(std::iter::once(invoice_id))
            .collect();
        assert!(owner_ids.len() > 8, "the demo family's documents are among the ids that must not leak");

        let stranger = app.new_parent("voisin@example.fr").await;
        let doc = app.call(Method::GET, "/api/v1/openapi.json", None, None).await.body;
        let mut walked_with_ids = 0;
        let mut walked_without = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            if !is_family_scoped(path) {
                continue;
            }
            for (method, operation) in item.as_object().unwrap() {
                let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
                let mut concrete = path.clone();
                let mut has_ids = false;
                for segment in path.split('/').filter(|s| s.starts_with('{')) {
                    let name = segment.trim_matches(|c| c == '{' || c == '}');
                    let id = ids.get(name).unwrap_or_else(|| {
                        panic!("{path}: no fixture for path parameter `{name}`; add the owner's id to this test")
                    });
                    concrete = concrete.replace(segment, id);
                    has_ids = true;
                }
                let body = operation
                    .get("requestBody")
                    .map(|b| sample(&b["content"]["application/json"]["schema"], &doc));
                let reply = app.call(method.clone(), &concrete, Some(&stranger.access), body).await;
                if has_ids {
                    walked_with_ids += 1;
                    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path} with another family's ids: {}", reply.body);
                    // A HEAD answer has no body to carry the problem.
                    if method != Method::HEAD {
                        assert_eq!(reply.body["code"], "not_found", "{method} {path}");
                    }
                } else {
                    walked_without += 1;
                    let text = reply.body.to_string();
                    for id in &owner_ids {
                        assert!(!text.contains(id.as_str()), "{method} {path} leaks the owner's id {id}");
                    }
                }
            }
        }
        assert!(walked_with_ids >= 12, "only {walked_with_ids} id-bearing family routes were walked");
        assert!(walked_without >= 3, "only {walked_without} family routes without ids were walked");

        // Nothing of the owner's changed.
        let persons = app.get(&format!("/api/v1/children/{luc}/authorized-persons"), &owner.access).await;
        assert_eq!(persons.body[0]["id"], berte.as_str());
        assert_eq!(persons.body[0]["first_name"], "Berte");
        let again = app.get("/api/v1/family", &owner.access).await.body;
        assert_eq!(again["children"], family["children"]);
        assert_eq!(again["guardians"], family["guardians"]);
        let health = app.get(&format!("/api/v1/children/{luc}/health"), &owner.access).await;
        assert!(health.body["updated_at"].is_null());
    }
}

/// Replaces every string of a sample body with a long one, every number with a huge one.
fn stretched(value: &Value) -> Value {
    match value {
        Value::String(_) => json!("ê".repeat(5000)),
        Value::Number(_) => json!(i64::MAX),
        Value::Array(items) => Value::Array(items.iter().map(stretched).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), stretched(v))).collect())
        }
        other => other.clone(),
    }
}

backend_tests! {
    async fn no_route_answers_500_to_bad_input(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let admin = app.admin().await;
        let doc = app.call(Method::GET, "/api/v1/openapi.json", None, None).await.body;
        let mut calls = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
                let token = if path.starts_with("/api/v1/staff/") { &admin.access } else { &parent.access };
                let sample_body = operation
                    .get("requestBody")
                    .map(|b| sample(&b["content"]["application/json"]["schema"], &doc));
                let mut bodies = vec![None, Some(json!({})), Some(json!([])), Some(json!("texte")), Some(json!(null))];
                if let Some(body) = &sample_body {
                    bodies.push(Some(body.clone()));
                    bodies.push(Some(stretched(body)));
                }
                for id in ["pas-un-uuid", &uuid::Uuid::now_v7().to_string(), "00000000-0000-0000-0000-000000000000"] {
                    let concrete: String = path
                        .split('/')
                        .map(|s| if s.starts_with('{') { id } else { s })
                        .collect::<Vec<_>>()
                        .join("/");
                    for body in &bodies {
                        // Logging out the parent's own session would end this test's login.
                        if path == "/api/v1/auth/logout" {
                            continue;
                        }
                        let reply = app.call(method.clone(), &concrete, Some(token), body.clone()).await;
                        calls += 1;
                        assert!(
                            !reply.status.is_server_error(),
                            "{method} {concrete} with {body:?} answered {}: {}",
                            reply.status,
                            reply.body
                        );
                    }
                }
            }
        }
        assert!(calls > 200, "only {calls} calls made");
    }
}
