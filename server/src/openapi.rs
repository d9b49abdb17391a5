//! The OpenAPI document, as served: what each route's annotations say, completed
//! by the answers every route of a kind can give (so that a generated client knows
//! them): errors are `application/problem+json` with the `Problem` schema; a route
//! with a JSON body can answer 400, 413, 415 and 422; one with query parameters 400
//! and 422; a route behind a login 401 and 403; one with ids in its path 404; any
//! route 500 and 503. The rules are the API's own (`crate::input`, `crate::error`):
//! written once here rather than repeated on sixty routes.

use serde_json::{Map, Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portail Famille",
        description = "API du Portail Famille : comptes, dossier famille, réservations, documents, factures. \
                       Les erreurs sont au format application/problem+json avec un `code` stable et un `detail` en français."
    ),
    modifiers(&BearerAuth),
    // Vocabularies only used in paths (`/{verdict}`): their schemas must exist too.
    components(schemas(famille_model::api::ApprovalAnswer, famille_model::api::DocumentVerdict)),
    tags(
        (name = "comptes", description = "Connexion, mot de passe, sessions"),
        (name = "famille", description = "Le dossier de la famille connectée"),
        (name = "réservations", description = "Calendrier et réservations (file d'actions du téléphone)"),
        (name = "documents", description = "Justificatifs de la famille et leur validation"),
        (name = "factures", description = "Tarifs et factures de la famille"),
        (name = "messages", description = "Messagerie de la famille avec les services"),
        (name = "demarches", description = "Démarches de la famille (« Mes démarches »)"),
        (name = "services", description = "Routes des agents et administrateurs"),
        (name = "système", description = "Santé et documentation"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

pub const PROBLEM_JSON: &str = "application/problem+json";

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "options", "head"];

/// The answers a route of each kind can give, with their French description.
const STANDARD: [(&str, &str); 9] = [
    (
        "400",
        "`invalid_body` : requête illisible (JSON mal formé, champ donné deux fois)",
    ),
    (
        "401",
        "`unauthenticated`, `token_expired` : connexion requise",
    ),
    ("403", "`forbidden` : réservé à un autre rôle"),
    ("404", "`not_found` : inconnu, ou d'une autre famille"),
    ("413", "`payload_too_large`"),
    (
        "415",
        "`unsupported_media_type` : le corps doit être du JSON",
    ),
    (
        "422",
        "`invalid_field` : valeurs à corriger, champ par champ",
    ),
    ("500", "`internal` : erreur du serveur"),
    (
        "503",
        "`unavailable` : base de données indisponible, réessayer",
    ),
];

/// The document served at `/api/v1/openapi.json`.
pub fn document(openapi: &utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(openapi).expect("the OpenAPI document serialises");
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for method in METHODS {
                if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                    complete(op);
                }
            }
        }
    }
    doc
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    })
}

fn is_problem(content: &Value) -> bool {
    content.pointer("/schema/$ref").and_then(Value::as_str) == Some("#/components/schemas/Problem")
}

/// One operation: its error answers in problem+json, and the standard ones added.
fn complete(op: &mut Map<String, Value>) {
    let parameters = op
        .get("parameters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let has = |place: &str| parameters.iter().any(|p| p["in"] == place);
    let body = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .is_some_and(|c| c.contains_key("application/json"));
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter()
                .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
        });
    let (query, path) = (has("query"), has("path"));
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
            continue;
        };
        if let Some(json) = content.get("application/json").filter(|c| is_problem(c)) {
            let json = json.clone();
            content.remove("application/json");
            content.insert(PROBLEM_JSON.to_owned(), json);
        }
    }
    for (status, description) in STANDARD {
        let applies = match status {
            "400" | "422" => body || query,
            "401" | "403" => secured,
            "404" => path,
            "413" | "415" => body,
            _ => true,
        };
        if applies && !responses.contains_key(status) {
            responses.insert(status.to_owned(), problem(description));
        }
    }
}
