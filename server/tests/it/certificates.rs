//! Certificates (issue 14) on both databases: the payment certificate of a year
//! and the tax certificate of childcare costs (children under six on 1 January,
//! meals and surcharges left out), numbered, redrawn when what was paid changes,
//! drawn and announced in January; their PDFs.

use axum::http::StatusCode;
use chrono::{Datelike, TimeZone};
use serde_json::{Value, json};

use crate::billing::{issue, last_month, pdf_text, plain, preview};
use crate::support::backend_tests;

backend_tests! {
    async fn a_year_paid_gives_its_certificates(app) {
        let app = app.with_demo().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let run = preview(&app, &agent, &last_month(&app)).await;
        issue(&app, &agent, &run).await;
        let invoice = app.get("/api/v1/invoices", &parent.access).await.body.as_array().unwrap().iter()
            .find(|i| i["kind"] == "invoice").unwrap().clone();
        let id = invoice["id"].as_str().unwrap();
        let total = invoice["total_cents"].as_i64().unwrap();
        // The demo bills the older children; Luc (who came once unbooked: his day and
        // its surcharge) is made four for the tax certificate to have someone to count.
        let luc = app.get("/api/v1/family", &parent.access).await.body["children"][2]["id"].as_str().unwrap().to_owned();
        let four = chrono::NaiveDate::from_ymd_opt(famille_model::calendar::paris_date(app.state.clock.now()).year() - 4, 6, 1).unwrap();
        crate::support::execute_sql(&app, &format!("UPDATE children SET birth_date = '{four}' WHERE id = $1"),
            &[luc.parse().unwrap()]).await;
        let family = app.get("/api/v1/family", &parent.access).await.body;
        let family_id = family["id"].as_str().unwrap().to_owned();
        let regie = app.get("/api/v1/staff/regies", &agent.access).await.body[0]["id"].as_str().unwrap().to_owned();
        let today = famille_model::calendar::paris_date(app.state.clock.now());
        let year = today.year();
        let paid = app.post(&format!("/api/v1/staff/families/{family_id}/payments"), Some(&agent.access),
            json!({"regie_id": regie, "method": "cheque", "amount_cents": total, "received_on": today})).await;
        assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.body);

        // This year: the payment certificate only (the tax year is not over).
        let list = app.get(&format!("/api/v1/certificates?year={year}"), &parent.access).await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.body);
        let list = list.body.as_array().unwrap().clone();
        assert_eq!(list.len(), 1, "{list:?}");
        let payment = list[0].clone();
        assert_eq!(payment["kind"], "payment");
        assert_eq!(payment["total_cents"], total);
        assert!(payment["number"].as_str().unwrap().starts_with(&format!("ATT-{year}-")), "{payment}");
        // Asked again: the same certificate, not a new number.
        let again = app.get(&format!("/api/v1/certificates?year={year}"), &parent.access).await.body;
        assert_eq!(again[0]["number"], payment["number"]);

        // What the tax certificate must say: under-six children's days, no meals, no surcharges.
        let lines = app.get(&format!("/api/v1/invoices/{id}"), &parent.access).await.body["lines"].clone();
        let births: Vec<(String, chrono::NaiveDate)> = family["children"].as_array().unwrap().iter()
            .map(|c| (c["id"].as_str().unwrap().to_owned(), c["birth_date"].as_str().unwrap().parse().unwrap()))
            .collect();
        let under_six = |child: &str| births.iter().any(|(id, born)| id == child
            && famille_model::certificates::under_six_on_january_first(*born, year));
        let childcare: i64 = lines.as_array().unwrap().iter()
            .filter(|l| l["kind"] == "activity" && under_six(l["child_id"].as_str().unwrap()))
            .map(|l| l["amount_cents"].as_i64().unwrap()).sum();
        let meals: i64 = lines.as_array().unwrap().iter()
            .filter(|l| l["kind"] != "activity" && under_six(l["child_id"].as_str().unwrap()))
            .map(|l| l["amount_cents"].as_i64().unwrap()).sum();
        assert!(childcare > 0 && meals > 0, "Luc's day and its surcharge");

        // January: the tax certificates of last year are drawn and announced once.
        let january = chrono::Utc.with_ymd_and_hms(year + 1, 1, 15, 9, 0, 0).unwrap();
        app.state.clock.set(january);
        assert_eq!(famille_server::certificates::announce_tax_certificates(&app.state).await.unwrap(), 1);
        assert_eq!(famille_server::certificates::announce_tax_certificates(&app.state).await.unwrap(), 0);
        let mail = crate::support::decode_quoted_printable(&app.wait_for_mail_containing("Attestation fiscale").await);
        assert!(mail.contains(&year.to_string()), "{mail}");
        let parent = app.parent().await;
        let list = app.get(&format!("/api/v1/certificates?year={year}"), &parent.access).await.body;
        let tax = list.as_array().unwrap().iter().find(|c| c["kind"] == "tax").expect("the tax certificate").clone();
        assert_eq!(tax["total_cents"], childcare, "meals and surcharges left out: {tax}");
        assert!(tax["rows"].as_array().unwrap().iter().all(|r| under_six(r["child_id"].as_str().unwrap())));
        let pdf = app.get(&format!("/api/v1/certificates/{}/pdf", tax["id"].as_str().unwrap()), &parent.access).await;
        assert_eq!(pdf.status, StatusCode::OK);
        let text = pdf_text(&pdf.raw);
        for needle in [tax["number"].as_str().unwrap(), "ATTESTATION FISCALE", "résidence alternée", "Luc"] {
            assert!(text.contains(needle), "{needle} missing in {text}");
        }
        assert!(text.contains(&plain(&famille_model::fr::euros(childcare))), "{text}");
        assert!(!text.contains("Elena"), "an older child is not on the tax certificate");
        // The organisation's long name is wrapped, not drawn over the title.
        let title_line = text.lines().find(|l| l.contains("ATTESTATION FISCALE")).unwrap();
        assert!(!title_line.contains("Entre-Deux-Mers"), "{title_line}");

        // A payment reversed: the payment certificate is drawn again, new number.
        let agent = app.agent().await;
        let payment_id = paid.body["id"].as_str().unwrap();
        app.post(&format!("/api/v1/staff/families/{family_id}/payments/{payment_id}/reverse"), Some(&agent.access),
            json!({"reason": "Chèque sans provision"})).await;
        // The cheque bounced in January: the year before was never paid.
        let redrawn = app.get(&format!("/api/v1/certificates?year={year}"), &parent.access).await.body;
        let now_payment = redrawn.as_array().unwrap().iter().find(|c: &&Value| c["kind"] == "payment").unwrap().clone();
        assert_ne!(now_payment["number"], payment["number"], "{redrawn}");
        assert_eq!(now_payment["total_cents"], 0);
        let now_tax = redrawn.as_array().unwrap().iter().find(|c: &&Value| c["kind"] == "tax").unwrap().clone();
        assert_eq!(now_tax["total_cents"], 0);

        // Bad years are named; another family sees nothing.
        for bad in ["1999", &(year + 3).to_string(), "deux-mille"] {
            let r = app.get(&format!("/api/v1/certificates?year={bad}"), &parent.access).await;
            r.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
            assert_eq!(r.body["errors"][0]["field"], "year", "{}", r.body);
        }
        let other = app.new_parent("voisine@famille.example").await;
        assert_eq!(app.get(&format!("/api/v1/certificates?year={year}"), &other.access).await.body, json!([]));
        app.get(&format!("/api/v1/certificates/{}/pdf", tax["id"].as_str().unwrap()), &other.access).await
            .problem(StatusCode::NOT_FOUND, "not_found");
    }
}
