//! Démarches (issue 13): the kinds a family may make, served with their French
//! forms so that the apps draw them from data.

use axum::http::StatusCode;

use crate::support::backend_tests;

backend_tests! {
    async fn the_request_kinds_are_served_with_their_forms(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let kinds = app.get("/api/v1/request-kinds", &parent.access).await;
        assert_eq!(kinds.status, StatusCode::OK, "{}", kinds.body);
        let names: Vec<&str> = kinds.body.as_array().unwrap().iter().map(|k| k["kind"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["report_absence", "report_move", "pai_request", "new_child",
            "school_enrolment", "situation_change", "early_childhood_info"]);
        let absence = &kinds.body[0];
        assert_eq!(absence["label"], "Signaler une absence");
        assert_eq!(absence["child_required"], true);
        let reason = absence["fields"].as_array().unwrap().iter().find(|f| f["name"] == "reason").unwrap();
        assert_eq!(reason["kind"], "choice");
        assert_eq!(reason["choices"][0], serde_json::json!({"value": "illness", "label": "Maladie"}));
        assert_eq!(absence["proofs"][0]["kind"], "medical_certificate");
        assert_eq!(absence["proofs"][0]["required"], false);
        // Health data is flagged where it is asked: the PAI request only.
        let health: Vec<&str> = kinds.body.as_array().unwrap().iter()
            .filter(|k| k["health"] == true).map(|k| k["kind"].as_str().unwrap()).collect();
        assert_eq!(health, vec!["pai_request"]);
        // A login is needed.
        let anonymous = app.call(axum::http::Method::GET, "/api/v1/request-kinds", None, None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    }
}
