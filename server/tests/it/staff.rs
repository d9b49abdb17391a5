use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{backend_tests, token_in_mail, urlencode};

backend_tests! {
    async fn agents_find_and_validate_pending_dossiers(app) {
        let app = app.with_demo().await;
        let parent = app.new_parent("nouveaux@example.fr").await;
        let family_id = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().to_owned();
        let agent = app.agent().await;

        let pending = app.get("/api/v1/staff/families?status=pending", &agent.access).await;
        assert_eq!(pending.status, StatusCode::OK, "{}", pending.body);
        let ids: Vec<&str> = pending.body.as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [family_id.as_str()]);
        assert_eq!(pending.body[0]["name"], "CURIE Marie");

        let testbo = app.get("/api/v1/staff/families?q=testbo", &agent.access).await;
        assert_eq!(testbo.body.as_array().unwrap().len(), 1);
        assert_eq!(testbo.body[0]["name"], "TESTBO patricia et TESTBO patrice");
        assert_eq!(testbo.body[0]["children"], json!(["Elena", "Valentine", "Luc", "Chloé"]));
        let by_child = app.get("/api/v1/staff/families?q=chlo", &agent.access).await;
        assert_eq!(by_child.body.as_array().unwrap().len(), 1);
        let by_number = app.get("/api/v1/staff/families?q=1", &agent.access).await;
        assert!(by_number.body.as_array().unwrap().iter().any(|f| f["number"] == 1));
        let nobody = app.get("/api/v1/staff/families?q=zzzz", &agent.access).await;
        assert_eq!(nobody.body, json!([]));

        let validated = app.call(Method::POST, &format!("/api/v1/staff/families/{family_id}/validate"), Some(&agent.access), None).await;
        assert_eq!(validated.status, StatusCode::OK, "{}", validated.body);
        assert_eq!(validated.body["status"], "active");
        assert_eq!(app.get("/api/v1/family", &parent.access).await.body["status"], "active");
        let twice = app.call(Method::POST, &format!("/api/v1/staff/families/{family_id}/validate"), Some(&agent.access), None).await;
        twice.problem(StatusCode::CONFLICT, "already_validated");
        let missing = app.call(Method::POST, &format!("/api/v1/staff/families/{}/validate", uuid::Uuid::now_v7()), Some(&agent.access), None).await;
        missing.problem(StatusCode::NOT_FOUND, "not_found");

        // Parents never reach staff routes.
        let parent_try = app.call(Method::POST, &format!("/api/v1/staff/families/{family_id}/validate"), Some(&parent.access), None).await;
        parent_try.problem(StatusCode::FORBIDDEN, "forbidden");
    }

    async fn agents_find_names_whatever_the_case_accents_and_order(app) {
        let app = app.with_demo().await;
        let registered = app
            .post("/api/v1/auth/register", None, json!({
                "email": "noel.dupre@example.fr", "password": "un-mot-de-passe-solide",
                "first_name": "Noël", "last_name": "DUPRÉ"
            }))
            .await;
        assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
        let family_id = registered.body["family_id"].as_str().unwrap().to_owned();
        let parent = app.login("noel.dupre@example.fr", "un-mot-de-passe-solide").await;
        let child = app.post("/api/v1/family/children", Some(&parent.access), json!({
            "first_name": "E\u{301}lo\u{ef}se", "last_name": "Dupré", "birth_date": "2018-03-04", "school_level": "ce2"
        })).await;
        assert_eq!(child.status, StatusCode::CREATED, "{}", child.body);
        let agent = app.agent().await;
        let finds = |q: &'static str| {
            let app = &app;
            let agent = &agent;
            async move {
                let url = format!("/api/v1/staff/families?q={}", urlencode(q));
                let reply = app.get(&url, &agent.access).await;
                assert_eq!(reply.status, StatusCode::OK, "{q}: {}", reply.body);
                reply.body.as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
            }
        };
        for q in ["DUPRÉ", "dupré", "dupre", "DUPRE", "Dupre\u{301}", "noel dupre", "dupré  noël", "NOËL", "eloise", "Éloïse dupre", "noel.dupre@example"] {
            assert_eq!(finds(q).await, std::slice::from_ref(&family_id), "{q:?}");
        }
        for q in ["dupré zzz", "eloise testbo"] {
            assert!(finds(q).await.is_empty(), "{q:?}");
        }

        // Rows written before search keys existed get theirs when the server starts.
        for table in ["guardians", "children"] {
            crate::support::execute_sql(&app, &format!("UPDATE {table} SET search_key = NULL"), &[]).await;
        }
        let app = app.restart().await;
        let agent = app.agent().await;
        let reply = app.get("/api/v1/staff/families?q=dupre%20eloise", &agent.access).await;
        assert_eq!(reply.body.as_array().unwrap().len(), 1, "{}", reply.body);
    }

    async fn agents_edit_the_household_and_quotient(app) {
        let app = app.with_demo().await;
        let agent = app.agent().await;
        let hit = app.get("/api/v1/staff/families?q=testbo", &agent.access).await;
        let id = hit.body[0]["id"].as_str().unwrap().to_owned();
        let read = app.get(&format!("/api/v1/staff/families/{id}"), &agent.access).await;
        assert_eq!(read.body["quotient"]["value"], 850);
        let cleared = app.put(&format!("/api/v1/staff/families/{id}/quotient"), &agent.access, json!({"quotient": null})).await;
        assert!(cleared.body["quotient"].is_null(), "{}", cleared.body);
        let set = app
            .put(&format!("/api/v1/staff/families/{id}/quotient"), &agent.access,
                 json!({"quotient": {"value": 612, "date": "2026-01-15", "source": "msa"}}))
            .await;
        assert_eq!(set.body["quotient"], json!({"value": 612, "date": "2026-01-15", "source": "msa"}));
        let household = app
            .put(&format!("/api/v1/staff/families/{id}/household"), &agent.access, json!({
                "address": {"line1": "2 place de la Mairie", "postal_code": "33360", "city": "Latresne"}
            }))
            .await;
        assert_eq!(household.body["address"]["line1"], "2 place de la Mairie");
        let family = read.body;
        let luc = family["children"][2]["id"].as_str().unwrap();
        let child = app
            .put(&format!("/api/v1/staff/families/{id}/children/{luc}"), &agent.access, json!({
                "first_name": "Luc", "last_name": "Testbo", "birth_date": family["children"][2]["birth_date"], "school_level": "ce1"
            }))
            .await;
        assert_eq!(child.body["school_level"], "ce1", "{}", child.body);
        let persons = app.get(&format!("/api/v1/staff/families/{id}/children/{luc}/authorized-persons"), &agent.access).await;
        assert_eq!(persons.body[0]["first_name"], "Berte");
        let consents = app.get(&format!("/api/v1/staff/families/{id}/children/{luc}/consents"), &agent.access).await;
        assert_eq!(consents.body["consents"].as_array().unwrap().len(), 8);
        // A child id under the wrong family is not found.
        let other = app.new_parent("autre@example.fr").await;
        let other_family = app.get("/api/v1/family", &other.access).await.body["id"].as_str().unwrap().to_owned();
        let wrong = app.get(&format!("/api/v1/staff/families/{other_family}/children/{luc}/consents"), &agent.access).await;
        wrong.problem(StatusCode::NOT_FOUND, "not_found");
        let added = app
            .post(&format!("/api/v1/staff/families/{other_family}/children"), Some(&agent.access), json!({
                "first_name": "Léa", "last_name": "Curie", "birth_date": "2020-02-02", "school_level": "gs"
            }))
            .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        assert_eq!(app.get("/api/v1/family", &other.access).await.body["children"][0]["first_name"], "Léa");
        // Parents may not set their own quotient.
        let parent = app.parent().await;
        let denied = app.put(&format!("/api/v1/staff/families/{id}/quotient"), &parent.access, json!({"quotient": null})).await;
        denied.problem(StatusCode::FORBIDDEN, "forbidden");
    }

    async fn admins_create_staff_who_choose_their_password(app) {
        let app = app.with_demo().await;
        let admin = app.admin().await;
        let agent = app.agent().await;
        let body = json!({"email": "directrice@famille.example", "first_name": "Claire", "last_name": "Lefèvre", "role": "agent"});
        app.post("/api/v1/staff/accounts", Some(&agent.access), body.clone()).await.problem(StatusCode::FORBIDDEN, "forbidden");
        let created = app.post("/api/v1/staff/accounts", Some(&admin.access), body.clone()).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["role"], "agent");
        let mail = app.wait_for_mail(1).await;
        assert!(mail.contains("To: directrice@famille.example"));
        assert!(mail.contains("compte des services") && !mail.contains("dossier famille"), "an agent's words: {mail}");
        let token = token_in_mail(&mail);
        let reset = app.post("/api/v1/auth/password/reset", None, json!({"token": token, "password": "mot-de-passe-agent"})).await;
        assert_eq!(reset.status, StatusCode::NO_CONTENT);
        let tokens = app.login("directrice@famille.example", "mot-de-passe-agent").await;
        assert_eq!(app.get("/api/v1/staff/families", &tokens.access).await.status, StatusCode::OK);
        app.post("/api/v1/staff/accounts", Some(&admin.access), body).await.problem(StatusCode::CONFLICT, "email_taken");
        let parent_role = json!({"email": "x@famille.example", "first_name": "X", "last_name": "Y", "role": "parent"});
        app.post("/api/v1/staff/accounts", Some(&admin.access), parent_role).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    }
}
