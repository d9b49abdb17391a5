//! The served OpenAPI document tells the truth: parameters where they are read,
//! errors as problem+json, the answers every route of a kind gives, and the
//! constraints the server enforces.

use axum::http::{Method, StatusCode};
use famille_model::validate::{NAME_MAX_CHARS, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
use serde_json::Value;

use crate::support::{Backend, TestApp};

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "options", "head"];

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn the_openapi_document_tells_the_truth() {
    let app = TestApp::new(Backend::Sqlite).await;
    let doc = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.body;
    let ops = operations(&doc);
    assert!(ops.len() > 50, "{} operations", ops.len());
    for (method, path, op) in &ops {
        let at = format!("{method} {path}");
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        // A path parameter is in the template, and every template name is one.
        let in_path: Vec<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let templated: Vec<&str> = path
            .split('{')
            .skip(1)
            .map(|s| s.split('}').next().unwrap())
            .collect();
        let mut sorted = in_path.clone();
        sorted.sort();
        let mut expected = templated.clone();
        expected.sort();
        assert_eq!(sorted, expected, "{at}: path parameters");
        let responses = op["responses"].as_object().unwrap();
        // Errors are problem+json (health says its own body).
        for (status, response) in responses {
            if (status.starts_with('4') || status.starts_with('5'))
                && path != "/health"
                && let Some(content) = response.get("content").and_then(Value::as_object)
            {
                let types: Vec<&String> = content.keys().collect();
                assert_eq!(types, ["application/problem+json"], "{at} {status}");
            }
        }
        // The answers of the route's kind are all documented.
        let has_body = op["requestBody"]["content"]
            .get("application/json")
            .is_some();
        let has_query = params.iter().any(|p| p["in"] == "query");
        let secured = op["security"].as_array().is_some_and(|s| {
            s.iter()
                .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
        });
        let mut needed = vec!["500", "503"];
        if has_body {
            needed.extend(["400", "413", "415", "422"]);
        }
        if has_query {
            needed.extend(["400", "422"]);
        }
        if secured {
            needed.extend(["401", "403"]);
        }
        if !in_path.is_empty() {
            needed.push("404");
        }
        for status in needed {
            assert!(
                responses.contains_key(status),
                "{at}: {status} is not documented"
            );
        }
    }
    // The query parameters of the calendar, the planning, sync and the staff search.
    for (path, names) in [
        ("/api/v1/children/{child_id}/calendar", vec!["from", "to"]),
        ("/api/v1/staff/sessions", vec!["from", "to"]),
        ("/api/v1/sync", vec!["cursor", "limit"]),
        ("/api/v1/staff/families", vec!["q", "status"]),
    ] {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
        for name in names {
            let p = params
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{path} {name}"));
            assert_eq!(p["in"], "query", "{path} {name}");
        }
    }
    // Every reference resolves.
    let text = doc.to_string();
    for reference in text
        .split("\"$ref\":\"")
        .skip(1)
        .map(|r| r.split('"').next().unwrap())
    {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{reference}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{reference} does not resolve"
        );
    }
    // Constraints the server enforces, said to generated clients.
    let schemas = &doc["components"]["schemas"];
    let register = &schemas["RegisterRequest"]["properties"];
    assert_eq!(register["password"]["minLength"], PASSWORD_MIN_CHARS);
    assert_eq!(register["password"]["maxLength"], PASSWORD_MAX_CHARS);
    assert_eq!(
        schemas["ResetPasswordRequest"]["properties"]["password"]["minLength"],
        PASSWORD_MIN_CHARS
    );
    for schema in ["RegisterRequest", "ChildInput", "GuardianInput"] {
        assert_eq!(
            schemas[schema]["properties"]["first_name"]["maxLength"], NAME_MAX_CHARS,
            "{schema}"
        );
    }
    assert_eq!(
        schemas["MutationBatch"]["properties"]["mutations"]["maxItems"],
        famille_server::queue::MAX_BATCH
    );
    let limit = doc["paths"]["/api/v1/sync"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    assert_eq!(limit["schema"]["maximum"], famille_server::sync::MAX_PAGE);
}
