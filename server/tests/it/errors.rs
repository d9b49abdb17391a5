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

        let garbage_query = app.get("/api/v1/staff/families?status=perdu", &app.agent().await.access).await;
        garbage_query.problem(StatusCode::BAD_REQUEST, "invalid_body");
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
    }

    async fn a_stopped_database_is_a_503_on_health(app) {
        app.state.db.close().await;
        let health = app.call(Method::GET, "/health", None, None).await;
        assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(health.body["status"], "unavailable");
    }
}
