use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::backend_tests;

fn child_id(family: &Value, first_name: &str) -> String {
    family["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["first_name"] == first_name)
        .unwrap_or_else(|| panic!("no child {first_name}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

backend_tests! {
    async fn demo_family_is_the_guides(app) {
        let app = app.with_demo().await;
        let tokens = app.parent().await;
        let family = app.get("/api/v1/family", &tokens.access).await;
        assert_eq!(family.status, StatusCode::OK);
        let names: Vec<&str> = family.body["children"].as_array().unwrap().iter().map(|c| c["first_name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Elena", "Valentine", "Luc", "Chloé"]);
        assert_eq!(family.body["status"], "active");
        assert_eq!(family.body["address"]["city"], "LATRESNE");
        assert_eq!(family.body["situation"], "marie");
        assert_eq!(family.body["dependent_children"], 4);
        let guardians: Vec<&str> = family.body["guardians"].as_array().unwrap().iter().map(|g| g["first_name"].as_str().unwrap()).collect();
        assert_eq!(guardians, ["patricia", "patrice"]);
        let luc = child_id(&family.body, "Luc");
        let persons = app.get(&format!("/api/v1/children/{luc}/authorized-persons"), &tokens.access).await;
        assert_eq!(persons.body[0]["first_name"], "Berte");
        assert_eq!(persons.body[0]["may_pick_up"], true);
        assert_eq!(persons.body[0]["quality"], "grand-mère/grand-père");
        let consents = app.get("/api/v1/consent-types", &tokens.access).await;
        assert_eq!(consents.body.as_array().unwrap().len(), 8);
    }

    async fn household_is_validated_and_normalised(app) {
        let app = app.with_demo().await;
        let tokens = app.parent().await;
        let bad = app
            .put("/api/v1/family/household", &tokens.access, json!({
                "address": {"line1": "1 rue du Port", "postal_code": "3336", "city": "Latresne"},
                "phone": "12 34", "situation": "marie", "dependent_children": 2
            }))
            .await;
        bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let fields: Vec<&str> = bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["address.postal_code", "phone"]);

        let unknown_situation = app
            .put("/api/v1/family/household", &tokens.access, json!({
                "address": {"line1": "1 rue du Port", "postal_code": "33360", "city": "Latresne"},
                "situation": "polygame"
            }))
            .await;
        unknown_situation.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(unknown_situation.body["errors"][0]["field"], "situation");
        assert!(unknown_situation.body["errors"][0]["detail"].as_str().unwrap().contains("« polygame » inconnue"));

        let ok = app
            .put("/api/v1/family/household", &tokens.access, json!({
                "address": {"line1": " 1 rue du Port ", "postal_code": "33360", "city": "Latresne"},
                "phone": "+33 5 56 20 83 61", "situation": "pacse", "dependent_children": 3
            }))
            .await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
        assert_eq!(ok.body["address"]["line1"], "1 rue du Port");
        assert_eq!(ok.body["address"]["city"], "LATRESNE");
        assert_eq!(ok.body["phone"], "05 56 20 83 61");
        assert_eq!(ok.body["situation"], "pacse");
        let again = app.get("/api/v1/family", &tokens.access).await;
        assert_eq!(again.body["dependent_children"], 3);
    }

    async fn children_are_added_edited_and_confirmed(app) {
        let tokens = app.new_parent("famille@example.fr").await;
        let future = app
            .post("/api/v1/family/children", Some(&tokens.access), json!({
                "first_name": "Paul", "last_name": "Curie", "birth_date": "2099-01-01", "school_level": "cp"
            }))
            .await;
        future.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let bad_date = app
            .post("/api/v1/family/children", Some(&tokens.access), json!({
                "first_name": "Paul", "last_name": "Curie", "birth_date": "2019-02-30", "school_level": "cp"
            }))
            .await;
        bad_date.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(bad_date.body["errors"][0]["field"], "birth_date");

        let created = app
            .post("/api/v1/family/children", Some(&tokens.access), json!({
                "first_name": "Paul", "last_name": "Curie", "birth_date": "2019-05-04", "school_level": "cp", "school": "École Jules Ferry"
            }))
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert_eq!(created.body["last_name"], "CURIE");
        let id = created.body["id"].as_str().unwrap();
        let edited = app
            .put(&format!("/api/v1/children/{id}"), &tokens.access, json!({
                "first_name": "Paul", "last_name": "Curie", "birth_date": "2019-05-04", "school_level": "ce1"
            }))
            .await;
        assert_eq!(edited.body["school_level"], "ce1");
        assert!(edited.body["school"].is_null());
        assert!(edited.body["data_confirmed_at"].is_null());
        let confirmed = app.call(Method::POST, &format!("/api/v1/children/{id}/confirm"), Some(&tokens.access), None).await;
        assert_eq!(confirmed.status, StatusCode::OK);
        assert!(confirmed.body["data_confirmed_at"].is_string());
        let family = app.get("/api/v1/family", &tokens.access).await;
        assert_eq!(family.body["children"][0]["school_level"], "ce1");
    }

    async fn authorized_persons_add_edit_remove(app) {
        let app = app.with_demo().await;
        let tokens = app.parent().await;
        let family = app.get("/api/v1/family", &tokens.access).await;
        let elena = child_id(&family.body, "Elena");
        let base = format!("/api/v1/children/{elena}/authorized-persons");

        let no_phone = app
            .post(&base, Some(&tokens.access), json!({
                "first_name": "Jean", "last_name": "Voisin", "quality": "voisin", "may_pick_up": true
            }))
            .await;
        let detail = no_phone.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert!(detail.contains("téléphone"), "{detail}");

        let added = app
            .post(&base, Some(&tokens.access), json!({
                "first_name": "Jean", "last_name": "Voisin", "quality": "voisin", "mobile_phone": "0612345678",
                "email": "jean@example.fr", "may_pick_up": true, "emergency_contact": true
            }))
            .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        assert_eq!(added.body["mobile_phone"], "06 12 34 56 78");
        let person = added.body["id"].as_str().unwrap();
        let edited = app
            .put(&format!("{base}/{person}"), &tokens.access, json!({
                "first_name": "Jean", "last_name": "Voisin", "quality": "voisin", "mobile_phone": "0612345678",
                "may_pick_up": false, "emergency_contact": true
            }))
            .await;
        assert_eq!(edited.body["may_pick_up"], false);
        assert!(edited.body["email"].is_null());
        assert_eq!(app.get(&base, &tokens.access).await.body.as_array().unwrap().len(), 2);
        let deleted = app.call(Method::DELETE, &format!("{base}/{person}"), Some(&tokens.access), None).await;
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        let again = app.call(Method::DELETE, &format!("{base}/{person}"), Some(&tokens.access), None).await;
        again.problem(StatusCode::NOT_FOUND, "not_found");
        let left = app.get(&base, &tokens.access).await;
        assert_eq!(left.body.as_array().unwrap().len(), 1);
        assert_eq!(left.body[0]["first_name"], "Berte");
    }

    async fn consents_yes_no_unanswered(app) {
        let app = app.with_demo().await;
        let tokens = app.parent().await;
        let family = app.get("/api/v1/family", &tokens.access).await;
        let chloe = child_id(&family.body, "Chloé");
        let path = format!("/api/v1/children/{chloe}/consents");
        let before = app.get(&path, &tokens.access).await;
        let consents = before.body["consents"].as_array().unwrap();
        assert_eq!(consents.len(), 8);
        assert_eq!(consents[0]["code"], "antipyretiques");
        assert_eq!(consents[0]["answer"], "yes");
        assert!(consents[1..].iter().all(|c| c["answer"] == "unanswered"));
        let image = consents.iter().find(|c| c["code"] == "droit_image").unwrap()["consent_type_id"].clone();
        let first = consents[0]["consent_type_id"].clone();

        let after = app
            .put(&path, &tokens.access, json!({"answers": [
                {"consent_type_id": image, "answer": "no"},
                {"consent_type_id": first, "answer": "unanswered"}
            ]}))
            .await;
        assert_eq!(after.status, StatusCode::OK, "{}", after.body);
        let by_code = |code: &str| after.body["consents"].as_array().unwrap().iter().find(|c| c["code"] == code).unwrap()["answer"].clone();
        assert_eq!(by_code("droit_image"), "no");
        assert_eq!(by_code("antipyretiques"), "unanswered");

        let unknown = app
            .put(&path, &tokens.access, json!({"answers": [{"consent_type_id": uuid::Uuid::now_v7(), "answer": "yes"}]}))
            .await;
        unknown.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    }

    async fn health_record_round_trip_and_staff_reads_are_audited(app) {
        let app = app.with_demo().await;
        let tokens = app.parent().await;
        let family = app.get("/api/v1/family", &tokens.access).await;
        let luc = child_id(&family.body, "Luc");
        let path = format!("/api/v1/children/{luc}/health");
        let empty = app.get(&path, &tokens.access).await;
        assert_eq!(empty.body["pai"], false);
        assert!(empty.body["updated_at"].is_null());

        let saved = app
            .put(&path, &tokens.access, json!({
                "allergies": "Arachides", "diet": "sans porc", "doctor_name": "Dr Martin",
                "doctor_phone": "05 56 00 00 01", "pai": true, "pai_details": "Stylo d'adrénaline dans le sac",
                "vaccinations": [{"vaccine": "DTP", "date": "2020-03-01"}, {"vaccine": "ROR", "date": "2019-11-02"}]
            }))
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        assert_eq!(saved.body["pai"], true);
        assert_eq!(saved.body["vaccinations"][0]["vaccine"], "ROR", "sorted by date");
        assert!(saved.body["updated_at"].is_string());

        let future_vaccine = app
            .put(&path, &tokens.access, json!({"vaccinations": [{"vaccine": "DTP", "date": "2099-01-01"}]}))
            .await;
        let fields = future_vaccine.body["errors"].clone();
        future_vaccine.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(fields[0]["field"], "vaccinations[0].date");

        // A parent cannot use the staff route; an agent's read is logged.
        let forbidden = app.get(&format!("/api/v1/staff/children/{luc}/health"), &tokens.access).await;
        forbidden.problem(StatusCode::FORBIDDEN, "forbidden");
        let agent = app.agent().await;
        let read = app.get(&format!("/api/v1/staff/children/{luc}/health"), &agent.access).await;
        assert_eq!(read.body["allergies"], "Arachides");
        let audit = app.get("/api/v1/family/audit", &tokens.access).await;
        let actions: Vec<(&str, &str)> = audit.body.as_array().unwrap().iter()
            .map(|e| (e["action"].as_str().unwrap(), e["actor_email"].as_str().unwrap()))
            .collect();
        assert_eq!(actions, [("health_record.read", "agent@famille.example"), ("health_record.updated", "parent@famille.example")]);
    }

    async fn a_second_guardian_then_no_third(app) {
        let tokens = app.new_parent("solo@example.fr").await;
        let second = app
            .post("/api/v1/family/guardians", Some(&tokens.access), json!({
                "first_name": "Pierre", "last_name": "Curie", "mobile_phone": "07 00 00 00 01"
            }))
            .await;
        assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
        assert_eq!(second.body["rank"], 2);
        assert_eq!(second.body["has_account"], false);
        let third = app
            .post("/api/v1/family/guardians", Some(&tokens.access), json!({"first_name": "Irène", "last_name": "Curie"}))
            .await;
        third.problem(StatusCode::CONFLICT, "conflict");
        let id = second.body["id"].as_str().unwrap();
        let edited = app
            .put(&format!("/api/v1/family/guardians/{id}"), &tokens.access, json!({
                "first_name": "Pierre", "last_name": "Curie", "work_phone": "05 56 00 00 02", "email": "Pierre@Example.fr"
            }))
            .await;
        assert_eq!(edited.body["work_phone"], "05 56 00 00 02");
        assert_eq!(edited.body["email"], "pierre@example.fr");
    }
}
