use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;

use crate::support::backend_tests;

backend_tests! {
    async fn malformed_bodies_get_problems_not_500s(app) {
        let app = app.with_demo().await;
        let not_json = Request::post("/api/v1/auth/login")
            .header("content-type", "application/json")
            .body(Body::from("{\"email\": "))
            .unwrap();
        let reply = app.send(not_json).await;
        reply.problem(StatusCode::BAD_REQUEST, "invalid_body");

        let wrong_type = Request::post("/api/v1/auth/login")
            .header("content-type", "text/plain")
            .body(Body::from("email=parent@famille.example"))
            .unwrap();
        app.send(wrong_type).await.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");

        // JSON whose values do not fit: 422, the field named, in French.
        let missing_field = app.post("/api/v1/auth/login", None, json!({"email": "parent@famille.example"})).await;
        missing_field.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(missing_field.body["errors"][0]["field"], "password");
        assert_eq!(missing_field.body["errors"][0]["detail"], "ce champ est obligatoire");

        // An array is never an object, at any depth (serde would read it by position).
        let positional = app.post("/api/v1/auth/login", None, json!(["parent@famille.example", "demo-parent-pw", true])).await;
        positional.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let tokens_for_arrays = app.parent().await;
        let nested = app.put("/api/v1/family/household", &tokens_for_arrays.access,
            json!({"address": ["2 place de la Mairie", "33360", "Latresne"]})).await;
        nested.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(nested.body["errors"][0]["field"], "address");
        let child = app.get("/api/v1/family", &tokens_for_arrays.access).await.body["children"][1]["id"].as_str().unwrap().to_owned();
        let before = app.get(&format!("/api/v1/children/{child}/health"), &tokens_for_arrays.access).await.body;
        app.put(&format!("/api/v1/children/{child}/health"), &tokens_for_arrays.access, json!([])).await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(app.get(&format!("/api/v1/children/{child}/health"), &tokens_for_arrays.access).await.body, before, "nothing erased");

        let wrong_kind = app.post("/api/v1/auth/login", None, json!({"email": 12, "password": ["x"]})).await;
        wrong_kind.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(wrong_kind.body["errors"][0]["field"], "email");

        let huge = json!({"email": "parent@famille.example", "password": "x".repeat(200 * 1024)});
        app.post("/api/v1/auth/login", None, huge).await.problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

        // A very long password is refused before any hashing work.
        let tokens = app.parent().await;
        let long_pw = app.post("/api/v1/auth/password/reset", None, json!({"token": "x", "password": "é".repeat(500)})).await;
        long_pw.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");

        let bad_id = app.get("/api/v1/children/pas-un-uuid", &tokens.access).await;
        bad_id.problem(StatusCode::NOT_FOUND, "not_found");
        let unknown_route = app.get("/api/v1/nulle-part", &tokens.access).await;
        unknown_route.problem(StatusCode::NOT_FOUND, "not_found");
        let wrong_method = app.call(Method::DELETE, "/api/v1/family", Some(&tokens.access), None).await;
        assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(wrong_method.body["code"], "method_not_allowed");

        // A query value that does not fit is a field like any other: 422, named, French.
        let agent = app.agent().await;
        let garbage_query = app.get("/api/v1/staff/families?status=perdu", &agent.access).await;
        garbage_query.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(garbage_query.body["errors"][0]["field"], "status");
        assert!(garbage_query.body["errors"][0]["detail"].as_str().unwrap().contains("perdu"), "{}", garbage_query.body);
        let child = app.get("/api/v1/family", &tokens.access).await.body["children"][0]["id"].as_str().unwrap().to_owned();
        let bad_date = app.get(&format!("/api/v1/children/{child}/calendar?from=2026-13-01&to=2026-12-31"), &tokens.access).await;
        bad_date.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(bad_date.body["errors"][0]["field"], "from");
    }

    async fn a_key_given_twice_is_refused_wherever_it_is(app) {
        let app = app.with_demo().await;
        let tokens = app.parent().await;
        let raw = |path: &str, body: &str, token: Option<&str>| {
            let mut req = Request::post(path).header("content-type", "application/json");
            if let Some(token) = token {
                req = req.header("authorization", format!("Bearer {token}"));
            }
            req.body(Body::from(body.to_owned())).unwrap()
        };
        let login = app.send(raw("/api/v1/auth/login",
            r#"{"email": "parent@famille.example", "password": "x", "password": "demo-parent-pw"}"#, None)).await;
        let detail = login.problem(StatusCode::BAD_REQUEST, "invalid_body");
        assert!(detail.contains("password"), "{detail}");
        // Deep inside a batch, and spelled with an escape: the same key.
        let family = app.get("/api/v1/family", &tokens.access).await.body;
        let child = family["children"][0]["id"].as_str().unwrap();
        let batch = format!(r#"{{"mutations": [{{"id": "{}", "kind": "reserve", "child_id": "{child}",
            "session_id": "{}", "session_id": "{}"}}]}}"#, uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let twice = app.send(raw("/api/v1/mutations", &batch, Some(&tokens.access))).await;
        let detail = twice.problem(StatusCode::BAD_REQUEST, "invalid_body");
        assert!(detail.contains("mutations[0].session_id"), "{detail}");
        // Nothing was applied: the queue log does not know the intent.
        assert_eq!(app.get("/api/v1/family", &tokens.access).await.body, family);
        // Same keys in different objects are fine.
        let fine = app.send(raw("/api/v1/mutations", r#"{"mutations": []}"#, Some(&tokens.access))).await;
        assert_eq!(fine.status, StatusCode::OK, "{}", fine.body);
        // A query parameter given twice.
        let query = app.get(&format!("/api/v1/children/{child}/calendar?from=2026-12-01&from=2026-12-02&to=2026-12-31"), &tokens.access).await;
        let detail = query.problem(StatusCode::BAD_REQUEST, "invalid_body");
        assert!(detail.contains("from"), "{detail}");
    }

    async fn no_input_reaches_a_panic_or_a_500(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let family = app.get("/api/v1/family", &parent.access).await.body;
        let child = family["children"][0]["id"].as_str().unwrap().to_owned();
        // The last and first dates chrono knows, in every period parameter.
        for (from, to) in [("%2B262142-12-31", "%2B262142-12-31"), ("%2B262142-12-31", ""), ("-262143-01-01", "2026-12-31"),
                           ("2026-12-01", "%2B262142-12-31")] {
            let range = if to.is_empty() { format!("from={from}") } else { format!("from={from}&to={to}") };
            for (url, token) in [(format!("/api/v1/children/{child}/calendar?{range}"), &parent.access),
                                 (format!("/api/v1/staff/sessions?{range}"), &agent.access)] {
                let reply = app.get(&url, token).await;
                reply.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
                assert!(["from", "to"].contains(&reply.body["errors"][0]["field"].as_str().unwrap()), "{url}: {}", reply.body);
            }
        }
        // A session on such a date cannot be created.
        let listed = app.get("/api/v1/staff/activities", &agent.access).await.body;
        let activity = &listed[0];
        let far = app.post(&format!("/api/v1/staff/activities/{}/sessions", activity["id"].as_str().unwrap()), Some(&agent.access),
            json!({"option_id": activity["options"][0]["id"], "date": "+262142-12-31", "capacity": 10})).await;
        far.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(far.body["errors"][0]["field"], "date");

        // NUL and other control characters: refused the same on both databases,
        // in a query, a body (at any depth) or an upload's metadata.
        for q in ["TEST%00BO", "%0d%0aSet-Cookie:x", "a%09b"] {
            let search = app.get(&format!("/api/v1/staff/families?q={q}"), &agent.access).await;
            search.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
            assert_eq!(search.body["errors"][0]["field"], "q", "{q}");
        }
        app.get("/api/v1/staff/families?q=%ff", &agent.access).await.problem(StatusCode::BAD_REQUEST, "invalid_body");
        let household = app.put("/api/v1/family/household", &parent.access, json!({
            "address": {"line1": "2 place de la Mairie\u{0}", "postal_code": "33360", "city": "Latresne"}})).await;
        household.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(household.body["errors"][0]["field"], "address.line1");
        let escape = app.put("/api/v1/family/household", &parent.access, json!({
            "address": {"line1": "2 place\u{1b}[31m", "postal_code": "33360", "city": "Latresne"}})).await;
        escape.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let upload = crate::support::tus(&app, Method::POST, "/api/v1/uploads", &parent.access, &[
            ("upload-length", "1000".into()),
            ("upload-metadata", crate::support::meta(&[("document_type", "carnet_vaccination"), ("child_id", &child), ("filename", "carnet\u{0}.jpg")])),
        ], vec![]).await;
        upload.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(upload.body["errors"][0]["field"], "filename");
        let type_code = crate::support::tus(&app, Method::POST, "/api/v1/uploads", &parent.access, &[
            ("upload-length", "1000".into()),
            ("upload-metadata", crate::support::meta(&[("document_type", "carnet\u{0}"), ("child_id", &child)])),
        ], vec![]).await;
        type_code.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        // Line breaks and tabs stay welcome in free text.
        let notes = app.put(&format!("/api/v1/children/{child}/health"), &parent.access, json!({
            "allergies": "arachides\n\tet noix", "pai": false, "vaccinations": []})).await;
        assert_eq!(notes.status, StatusCode::OK, "{}", notes.body);
    }

    async fn vocabularies_take_capitals_and_name_the_field_in_french(app) {
        let app = app.with_demo().await;
        let tokens = app.parent().await;
        let body = |level: &str| json!({"first_name": "Paul", "last_name": "Neuf", "birth_date": "2019-05-04", "school_level": level});
        let capital = app.post("/api/v1/family/children", Some(&tokens.access), body("CE1")).await;
        assert_eq!(capital.status, StatusCode::CREATED, "{}", capital.body);
        let unknown = app.post("/api/v1/family/children", Some(&tokens.access), body("CE7")).await;
        unknown.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(unknown.body["errors"][0]["field"], "school_level");
        let detail = unknown.body["errors"][0]["detail"].as_str().unwrap();
        assert!(detail.contains("CE7") && !detail.contains("expected") && !detail.contains("variant"), "{detail}");
    }

    async fn health_and_openapi_are_served(app) {
        let health = app.call(Method::GET, "/health", None, None).await;
        assert_eq!(health.status, StatusCode::OK);
        assert_eq!(health.body["status"], "ok");
        let expected = match app.backend {
            crate::support::Backend::Sqlite => "SQLite",
            crate::support::Backend::Postgres => "PostgreSQL",
        };
        assert_eq!(health.body["database"], expected);

        let doc = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
        assert_eq!(doc.status, StatusCode::OK);
        for path in ["/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout",
                     "/api/v1/auth/password/forgot", "/api/v1/auth/password/reset", "/api/v1/family",
                     "/api/v1/family/children", "/api/v1/staff/families/{family_id}/validate", "/health"] {
            assert!(doc.body["paths"].get(path).is_some(), "{path} is not documented");
        }
        assert!(doc.body["components"]["schemas"].get("Problem").is_some());
        let page = app.call(Method::GET, "/api/v1/docs", None, None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.as_str().unwrap().contains("openapi.json"));
        // No answer is left to the browser's guessing: pages, documents, problems, 404s.
        let missing = app.call(Method::GET, "/nulle-part", None, None).await;
        for reply in [&health, &doc, &page, &missing] {
            assert_eq!(reply.headers["x-content-type-options"], "nosniff");
            assert!(reply.headers.contains_key("content-type"));
        }
    }

    async fn a_stopped_database_is_a_503_on_health(app) {
        app.state.db.close().await;
        let health = app.call(Method::GET, "/health", None, None).await;
        assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(health.body["status"], "unavailable");
    }
}
