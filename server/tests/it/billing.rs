//! Invoices (issue 12) on both databases: what the demo's last month bills, runs
//! that bill each fact once, credit notes, concurrent issues, tariffs and QF
//! records, isolation. Expected amounts come from the demo's grid (QF 850 € is the
//! 800–1,099 bracket: a full day 12,50 €, a morning with meal 6,80 €, meals 3,80 €,
//! surcharge 5,00 €, siblings −10 % and −20 %).

use axum::http::{Method, StatusCode};
use chrono::{Datelike, Months};
use serde_json::{Value, json};

use crate::support::{TestApp, Tokens, backend_tests};

pub fn last_month(app: &TestApp) -> String {
    let today = famille_model::calendar::paris_date(app.state.clock.now());
    let first = today
        .with_day(1)
        .unwrap()
        .checked_sub_months(Months::new(1))
        .unwrap();
    format!("{:04}-{:02}", first.year(), first.month())
}

pub async fn preview(app: &TestApp, agent: &Tokens, month: &str) -> Value {
    let run = app
        .post(
            "/api/v1/staff/billing/runs",
            Some(&agent.access),
            json!({"month": month}),
        )
        .await;
    assert_eq!(run.status, StatusCode::CREATED, "{}", run.body);
    assert_eq!(run.body["status"], "draft");
    run.body
}

pub async fn issue(app: &TestApp, agent: &Tokens, run: &Value) -> Value {
    let id = run["id"].as_str().unwrap();
    let issued = app
        .call(
            Method::POST,
            &format!("/api/v1/staff/billing/runs/{id}/issue"),
            Some(&agent.access),
            None,
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    assert_eq!(issued.body["status"], "issued");
    issued.body
}

async fn lines(app: &TestApp, agent: &Tokens, invoice: &str) -> Vec<Value> {
    let reply = app
        .get(
            &format!("/api/v1/staff/invoices/{invoice}/lines"),
            &agent.access,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body.as_array().unwrap().clone()
}

/// The cents of a child's lines of one kind.
fn of(lines: &[Value], child: &str, kind: &str) -> Vec<i64> {
    lines
        .iter()
        .filter(|l| l["child"] == child && l["kind"] == kind)
        .map(|l| l["amount_cents"].as_i64().unwrap())
        .collect()
}

async fn attend(app: &TestApp, agent: &Tokens, session: &str, child: &str, code: &str) {
    let reply = app
        .put(
            &format!("/api/v1/staff/sessions/{session}/attendance"),
            &agent.access,
            json!({"child_id": child, "code": code}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

backend_tests! {
    async fn the_demo_month_bills_each_state_and_tells_the_family(app) {
        let app = app.with_demo().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let month = last_month(&app);
        let run = preview(&app, &agent, &month).await;
        assert_eq!(run["anomalies"], json!([]), "{run}");
        let invoices = run["invoices"].as_array().unwrap();
        assert_eq!(invoices.len(), 1, "{run}");
        assert_eq!(invoices[0]["number"], Value::Null);
        let draft = invoices[0]["id"].as_str().unwrap().to_owned();
        let l = lines(&app, &agent, &draft).await;
        // Elena: 4 full days (3 present, 1 absent without excuse: billed), eldest.
        assert_eq!(of(&l, "Elena", "activity"), [1250; 4]);
        assert_eq!(of(&l, "Elena", "meal"), [380; 4]);
        // Valentine: excused (not billed), present, cancelled late (billed), in time
        // (not billed): 2 mornings at 6,80 € less 10 %.
        assert_eq!(of(&l, "Valentine", "activity"), [612, 612]);
        assert_eq!(of(&l, "Valentine", "meal"), [380, 380]);
        // Luc, present without booking: the day at −20 %, its meal and the surcharge.
        assert_eq!(of(&l, "Luc", "activity"), [1000]);
        assert_eq!(of(&l, "Luc", "surcharge"), [500]);
        assert!(of(&l, "Chloé", "activity").is_empty());
        let total: i64 = l.iter().map(|l| l["amount_cents"].as_i64().unwrap()).sum();
        assert_eq!(run["total_cents"], total);
        assert_eq!(total, 4 * 1630 + 2 * 992 + 1880);
        assert!(l.iter().filter(|l| l["kind"] == "activity").all(|l| l["bracket"]["qf_min"] == 800));

        // Nothing is real before the issue.
        assert_eq!(app.get("/api/v1/invoices", &parent.access).await.body, json!([]));
        let issued = issue(&app, &agent, &run).await;
        let year = famille_model::calendar::paris_date(app.state.clock.now()).year();
        assert_eq!(issued["invoices"][0]["number"], format!("ENF-{year}-000001"));

        let list = app.get("/api/v1/invoices", &parent.access).await;
        assert_eq!(list.status, StatusCode::OK);
        let invoice = &list.body[0];
        assert_eq!(invoice["total_cents"], total);
        assert_eq!(invoice["status"], "issued");
        assert_eq!(invoice["paid_cents"], 0);
        assert_eq!(invoice["period"], month);
        assert!(invoice["label"].as_str().unwrap().starts_with("Facture d"), "{invoice}");
        let id = invoice["id"].as_str().unwrap();
        let detail = app.get(&format!("/api/v1/invoices/{id}"), &parent.access).await;
        assert_eq!(detail.status, StatusCode::OK);
        let sum: i64 = detail.body["lines"].as_array().unwrap().iter().map(|l| l["amount_cents"].as_i64().unwrap()).sum();
        assert_eq!(sum, total);

        // The family is told: by mail here (no phone), the month and total only.
        let mail = app.wait_for_mail_containing("Nouvelle facture").await;
        let text = crate::support::decode_quoted_printable(&mail);
        assert!(text.contains("Votre facture d"), "{text}");
        assert!(text.contains(&famille_model::fr::euros(total)), "{text}");
        assert!(!text.contains("Elena"), "{text}");

        // The change feed carries the invoice.
        let feed = app.get("/api/v1/sync?cursor=0&limit=500", &parent.access).await;
        let entry = feed.body["changes"].as_array().unwrap().iter().find(|c| c["entity"] == "invoice").expect("an invoice entry").clone();
        assert_eq!(entry["invoice"]["total_cents"], total);

        // The same month again bills nothing: each fact once.
        let again = preview(&app, &agent, &month).await;
        assert_eq!(again["invoices"], json!([]), "{again}");
        assert_eq!(again["total_cents"], 0);
        issue(&app, &agent, &again).await;
        assert_eq!(app.get("/api/v1/invoices", &parent.access).await.body.as_array().unwrap().len(), 1);

        // The export names the lines, in French spreadsheet form.
        let run_id = run["id"].as_str().unwrap();
        let csv = app.send(axum::http::Request::builder().uri(format!("/api/v1/staff/billing/runs/{run_id}/export"))
            .header("authorization", format!("Bearer {}", agent.access)).body(axum::body::Body::empty()).unwrap()).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    }

    async fn a_later_run_bills_what_is_new_and_credits_what_changed(app) {
        let app = app.with_demo().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let month = last_month(&app);
        let first = issue(&app, &agent, &preview(&app, &agent, &month).await).await;
        let invoice = first["invoices"][0]["id"].as_str().unwrap().to_owned();
        let l = lines(&app, &agent, &invoice).await;
        // Valentine's billed morning turns out excused (a medical certificate).
        let valentine = l.iter().find(|l| l["child"] == "Valentine").unwrap();
        let (morning, valentine_id) = (valentine["session_id"].as_str().unwrap(), valentine["child_id"].as_str().unwrap());
        attend(&app, &agent, morning, valentine_id, "excused").await;
        // Chloé came once without booking, noted late.
        let elena = l.iter().find(|l| l["child"] == "Elena").unwrap();
        let family = app.get("/api/v1/family", &parent.access).await;
        let chloe = family.body["children"].as_array().unwrap().iter().find(|c| c["first_name"] == "Chloé").unwrap()["id"].as_str().unwrap().to_owned();
        attend(&app, &agent, elena["session_id"].as_str().unwrap(), &chloe, "present_unbooked").await;

        let second = preview(&app, &agent, &month).await;
        let docs = second["invoices"].as_array().unwrap();
        assert_eq!(docs.len(), 2, "{second}");
        let note = docs.iter().find(|d| d["kind"] == "credit_note").expect("a credit note");
        assert_eq!(note["credits_invoice_id"], invoice.as_str());
        assert_eq!(note["total_cents"], -(612 + 380));
        let new = docs.iter().find(|d| d["kind"] == "invoice").expect("an invoice");
        // Chloé is the fourth child: the last rank's reduction (−20 %) applies.
        assert_eq!(new["total_cents"], 1000 + 380 + 500);
        let issued = issue(&app, &agent, &second).await;
        let year = famille_model::calendar::paris_date(app.state.clock.now()).year();
        let numbers: Vec<&str> = issued["invoices"].as_array().unwrap().iter().map(|d| d["number"].as_str().unwrap()).collect();
        assert!(numbers.contains(&format!("ENF-{year}-000002").as_str()), "{numbers:?}");
        assert!(numbers.contains(&format!("ENF-AV-{year}-000001").as_str()), "{numbers:?}");

        let list = app.get("/api/v1/invoices", &parent.access).await.body;
        let original = list.as_array().unwrap().iter().find(|i| i["id"] == invoice.as_str()).unwrap();
        assert_eq!(original["credited_cents"], 992);
        assert_eq!(original["status"], "issued");
        let credit = list.as_array().unwrap().iter().find(|i| i["kind"] == "credit_note").unwrap();
        assert!(credit["label"].as_str().unwrap().contains(&format!("ENF-{year}-000001")), "{credit}");

        // And a third run finds nothing left to do.
        assert_eq!(preview(&app, &agent, &month).await["invoices"], json!([]));

        // An issued price stands: a new grid does not re-price billed days.
        let admin = app.admin().await;
        let option_id = {
            let tariffs = app.get("/api/v1/tariffs", &parent.access).await.body;
            tariffs["activities"].as_array().unwrap().iter()
                .find(|a| a["activity"].as_str().unwrap().contains("6-11")).unwrap()["options"][0]["option_id"]
                .as_str().unwrap().to_owned()
        };
        let flat = |regie: &str| json!({"regie_id": regie, "tariff": {"pricing": {"mode": "flat", "cents": 2000},
            "non_resident": null, "meal_cents": 400, "sibling_percent": [], "surcharge_cents": null}});
        let regie = app.get("/api/v1/staff/regies", &agent.access).await.body[0]["id"].as_str().unwrap().to_owned();
        let set = app.put(&format!("/api/v1/staff/options/{option_id}/tariff"), &admin.access, flat(&regie)).await;
        assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.body);
        assert_eq!(preview(&app, &agent, &month).await["invoices"], json!([]));
        // Nor does moving the option to another régie bill its days twice.
        let other = app.post("/api/v1/staff/regies", Some(&admin.access), json!({
            "code": "PERI", "name": "Régie Périscolaire", "address": "Mairie", "due_days": 15})).await;
        assert_eq!(other.status, StatusCode::CREATED, "{}", other.body);
        let other = other.body["id"].as_str().unwrap().to_owned();
        app.put(&format!("/api/v1/staff/options/{option_id}/tariff"), &admin.access, flat(&other)).await;
        for scope in [json!({"month": month}), json!({"month": month, "regie_id": other})] {
            let run = app.post("/api/v1/staff/billing/runs", Some(&agent.access), scope).await;
            assert_eq!(run.body["invoices"], json!([]), "{}", run.body);
        }

        // Only a month that is over is billed.
        let this_month = famille_model::calendar::paris_date(app.state.clock.now()).format("%Y-%m").to_string();
        let early = app.post("/api/v1/staff/billing/runs", Some(&agent.access), json!({"month": this_month})).await;
        early.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(early.body["errors"][0]["field"], "month");
    }

    async fn two_agents_issue_at_once_and_one_wins(app) {
        let app = app.with_demo().await;
        let agent = app.agent().await;
        let other = app.admin().await;
        let month = last_month(&app);
        let run = preview(&app, &agent, &month).await;
        let id = run["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/staff/billing/runs/{id}/issue");
        let (a, b) = tokio::join!(
            app.call(Method::POST, &path, Some(&agent.access), None),
            app.call(Method::POST, &path, Some(&other.access), None)
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{} / {}", a.body, b.body);
        let loser = if a.status == StatusCode::CONFLICT { a } else { b };
        loser.problem(StatusCode::CONFLICT, "billing_run_closed");
        assert_eq!(app.state.db.billing().issued_count().await.unwrap(), 1);

        // Two previews of one month: the older is superseded and cannot be issued.
        let parent = app.parent().await;
        let family = app.get("/api/v1/family", &parent.access).await;
        let chloe = family.body["children"].as_array().unwrap().iter().find(|c| c["first_name"] == "Chloé").unwrap()["id"].as_str().unwrap().to_owned();
        let invoice = run["invoices"][0]["id"].as_str().unwrap();
        let session = lines(&app, &agent, invoice).await[0]["session_id"].as_str().unwrap().to_owned();
        attend(&app, &agent, &session, &chloe, "present_unbooked").await;
        let older = preview(&app, &agent, &month).await;
        let newer = preview(&app, &agent, &month).await;
        let older_id = older["id"].as_str().unwrap();
        app.call(Method::POST, &format!("/api/v1/staff/billing/runs/{older_id}/issue"), Some(&agent.access), None)
            .await
            .problem(StatusCode::CONFLICT, "billing_run_closed");
        assert_eq!(newer["invoices"].as_array().unwrap().len(), 1, "{newer}");
        // Facts that change after the preview (Elena's day excused): the issue
        // refuses and the preview is recomputed; issued once looked at again.
        let elena = lines(&app, &agent, invoice).await[0]["child_id"].as_str().unwrap().to_owned();
        attend(&app, &agent, &session, &elena, "excused").await;
        let newer_id = newer["id"].as_str().unwrap();
        app.call(Method::POST, &format!("/api/v1/staff/billing/runs/{newer_id}/issue"), Some(&agent.access), None)
            .await
            .problem(StatusCode::CONFLICT, "billing_run_outdated");
        let refreshed = app.get(&format!("/api/v1/staff/billing/runs/{newer_id}"), &agent.access).await;
        let mut kinds: Vec<&str> = refreshed.body["invoices"].as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
        kinds.sort();
        assert_eq!(kinds, ["credit_note", "invoice"], "{}", refreshed.body);
        issue(&app, &agent, &refreshed.body).await;
        // Numbers stay continuous.
        let regie = app.state.db.billing().regies().await.unwrap()[0].id;
        let year = famille_model::calendar::paris_date(app.state.clock.now()).year();
        let billing = app.state.db.billing();
        assert_eq!(billing.sequences(regie, famille_model::billing::InvoiceKind::Invoice, year).await.unwrap(), [1, 2]);
        assert_eq!(billing.sequences(regie, famille_model::billing::InvoiceKind::CreditNote, year).await.unwrap(), [1]);
    }

    async fn credit_notes_by_hand_and_what_families_may_see(app) {
        let app = app.with_demo().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let month = last_month(&app);
        let issued = issue(&app, &agent, &preview(&app, &agent, &month).await).await;
        let invoice = issued["invoices"][0]["id"].as_str().unwrap().to_owned();
        let l = lines(&app, &agent, &invoice).await;
        let luc: Vec<&str> = l.iter().filter(|l| l["child"] == "Luc").map(|l| l["id"].as_str().unwrap()).collect();
        let path = format!("/api/v1/staff/invoices/{invoice}/credit-notes");
        let note = app.post(&path, Some(&agent.access), json!({"reason": "Geste commercial : journée d'essai", "lines": luc})).await;
        assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
        assert_eq!(note.body["kind"], "credit_note");
        assert_eq!(note.body["total_cents"], -(1000 + 380 + 500));
        assert_eq!(note.body["credits_invoice_id"], invoice.as_str());
        app.post(&path, Some(&agent.access), json!({"reason": "encore", "lines": luc})).await
            .problem(StatusCode::CONFLICT, "nothing_to_credit");
        app.post(&path, Some(&agent.access), json!({"reason": "  "})).await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let empty = app.post(&path, Some(&agent.access), json!({"reason": "rien", "lines": []})).await;
        empty.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(empty.body["errors"][0]["field"], "lines");
        // What an agent waived is not billed again by a later run.
        assert_eq!(preview(&app, &agent, &month).await["invoices"], json!([]));
        // The whole rest cancels the invoice.
        let rest = app.post(&path, Some(&agent.access), json!({"reason": "Erreur de pointage"})).await;
        assert_eq!(rest.status, StatusCode::CREATED, "{}", rest.body);
        let list = app.get("/api/v1/invoices", &parent.access).await.body;
        let original = list.as_array().unwrap().iter().find(|i| i["id"] == invoice.as_str()).unwrap();
        assert_eq!(original["status"], "cancelled", "{original}");

        // Another family sees nothing of it, and no staff route.
        let stranger = app.new_parent("voisin@example.fr").await;
        assert_eq!(app.get("/api/v1/invoices", &stranger.access).await.body, json!([]));
        app.get(&format!("/api/v1/invoices/{invoice}"), &stranger.access).await
            .problem(StatusCode::NOT_FOUND, "not_found");
        app.get(&format!("/api/v1/staff/invoices/{invoice}"), &stranger.access).await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        app.post("/api/v1/staff/billing/runs", Some(&parent.access), json!({"month": month})).await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        let search = app.get("/api/v1/staff/invoices?q=testbo", &agent.access).await;
        assert_eq!(search.status, StatusCode::OK, "{}", search.body);
        assert_eq!(search.body.as_array().unwrap().len(), 3);
        assert_eq!(search.body[0]["family"], "TESTBO");
        assert_eq!(app.get("/api/v1/staff/invoices?q=dupont", &agent.access).await.body, json!([]));
    }

    async fn tariffs_follow_the_quotient_and_bad_settings_are_named(app) {
        let app = app.with_demo().await;
        let agent = app.agent().await;
        let admin = app.admin().await;
        let parent = app.parent().await;
        let tariffs = app.get("/api/v1/tariffs", &parent.access).await;
        assert_eq!(tariffs.status, StatusCode::OK, "{}", tariffs.body);
        assert_eq!(tariffs.body["quotient"]["value"], 850);
        assert_eq!(tariffs.body["quotient"]["source"], "caf");
        let full_day = |body: &Value| {
            body["activities"].as_array().unwrap().iter()
                .find(|a| a["activity"].as_str().unwrap().contains("6-11"))
                .unwrap()["options"][0].clone()
        };
        let option = full_day(&tariffs.body);
        assert_eq!(option["option"], "Journée complète");
        assert_eq!(option["applicable_cents"], 1250);
        assert_eq!(option["brackets"].as_array().unwrap().len(), 6);
        assert_eq!(option["meal_cents"], 380);

        // The calendar prices each day for the family: its QF's day and the meal.
        let elena = app.get("/api/v1/family", &parent.access).await.body["children"][0]["id"].as_str().unwrap().to_owned();
        let price_of_full_day = |body: &Value| -> Vec<Option<i64>> {
            body["days"].as_array().unwrap().iter()
                .flat_map(|d| d["sessions"].as_array().unwrap().clone())
                .filter(|s| s["option"] == "Journée complète" && s["activity"].as_str().unwrap().contains("6-11"))
                .map(|s| s["price_cents"].as_i64())
                .collect()
        };
        let from = famille_model::calendar::paris_date(app.state.clock.now());
        let calendar_path = format!("/api/v1/children/{elena}/calendar?from={from}&to={}", from + chrono::Days::new(40));
        let prices = price_of_full_day(&app.get(&calendar_path, &parent.access).await.body);
        assert!(!prices.is_empty());
        assert!(prices.iter().all(|p| *p == Some(1250 + 380)), "{prices:?}");

        // A new attestation from today: the tariff follows; the old record ends.
        let family_id = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().to_owned();
        let today = famille_model::calendar::paris_date(app.state.clock.now());
        let path = format!("/api/v1/staff/families/{family_id}/quotients");
        let added = app.post(&path, Some(&agent.access), json!({"value": 450, "valid_from": today, "source": "msa"})).await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        assert_eq!(full_day(&app.get("/api/v1/tariffs", &parent.access).await.body)["applicable_cents"], 700);
        let prices = price_of_full_day(&app.get(&calendar_path, &parent.access).await.body);
        assert!(prices.iter().all(|p| *p == Some(700 + 380)), "{prices:?}");
        let records = app.get(&path, &agent.access).await.body;
        assert_eq!(records.as_array().unwrap().len(), 2);
        assert_eq!(records[0]["valid_until"], json!(today.pred_opt().unwrap()));
        assert_eq!(app.get("/api/v1/family", &parent.access).await.body["quotient"]["value"], 450);
        // Ended: no QF today, the highest price.
        let qid = added.body["id"].as_str().unwrap();
        let ended = app.post(&format!("{path}/{qid}/end"), Some(&agent.access), json!({"valid_until": today})).await;
        assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.body);
        let tomorrow = app.get("/api/v1/tariffs", &parent.access).await.body;
        assert_eq!(tomorrow["quotient"]["valid_until"], json!(today));
        // The QF change reaches the phone through its feed.
        let feed = app.get("/api/v1/sync?cursor=0&limit=500", &parent.access).await;
        let entry = feed.body["changes"].as_array().unwrap().iter().rev().find(|c| c["entity"] == "quotient").expect("a quotient entry").clone();
        assert_eq!(entry["quotients"].as_array().unwrap().len(), 2);

        // No QF for last month: the run bills the highest bracket and says so.
        let month = last_month(&app);
        let first_record = records[0]["id"].as_str().unwrap();
        let long_ago = today.checked_sub_months(Months::new(4)).unwrap();
        app.post(&format!("{path}/{first_record}/end"), Some(&agent.access), json!({"valid_until": today.checked_sub_months(Months::new(3)).unwrap()})).await;
        let run = preview(&app, &agent, &month).await;
        let anomalies = run["anomalies"].as_array().unwrap();
        assert!(anomalies.iter().any(|a| a["kind"] == "no_quotient" && a["child"] == "Elena"), "{run}");
        let invoice = run["invoices"][0]["id"].as_str().unwrap();
        assert_eq!(of(&lines(&app, &agent, invoice).await, "Elena", "activity"), [1800; 4]);

        // Settings that cannot be right are refused, naming the field.
        let option_id = option["option_id"].as_str().unwrap();
        let regie = app.get("/api/v1/staff/regies", &agent.access).await.body[0]["id"].as_str().unwrap().to_owned();
        let overlap = json!({"regie_id": regie, "tariff": {"pricing": {"mode": "brackets", "brackets": [
            {"qf_min": 0, "qf_max": 500, "cents": 100}, {"qf_min": 400, "qf_max": null, "cents": 200}]},
            "non_resident": null, "meal_cents": null, "sibling_percent": [], "surcharge_cents": null}});
        let refused = app.put(&format!("/api/v1/staff/options/{option_id}/tariff"), &admin.access, overlap).await;
        refused.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(refused.body["errors"][0]["field"], "tariff.pricing.brackets", "{}", refused.body);
        // Agents read tariffs; only administrators change them.
        let effort = json!({"regie_id": regie, "tariff": {"pricing": {"mode": "effort_rate", "rate_ppm": 8000, "floor_cents": 300, "ceiling_cents": 1500},
            "non_resident": null, "meal_cents": null, "sibling_percent": [], "surcharge_cents": null}});
        app.put(&format!("/api/v1/staff/options/{option_id}/tariff"), &agent.access, effort.clone()).await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        let set = app.put(&format!("/api/v1/staff/options/{option_id}/tariff"), &admin.access, effort).await;
        assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.body);
        assert_eq!(app.get(&format!("/api/v1/staff/options/{option_id}/tariff"), &agent.access).await.body["tariff"]["pricing"]["mode"], "effort_rate");
        for (body, field) in [
            (json!({"month": "2026-13"}), "month"),
            (json!({"month": "26-01"}), "month"),
            (json!({"month": month, "regie_id": uuid::Uuid::now_v7()}), "regie_id"),
        ] {
            let r = app.post("/api/v1/staff/billing/runs", Some(&agent.access), body).await;
            r.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
            assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
        }
        let bad_qf = app.post(&path, Some(&agent.access), json!({"value": 450, "valid_from": today, "valid_until": long_ago, "source": "caf"})).await;
        bad_qf.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(bad_qf.body["errors"][0]["field"], "valid_until");
        app.post(&format!("/api/v1/staff/families/{}/quotients", uuid::Uuid::now_v7()), Some(&agent.access),
            json!({"value": 450, "valid_from": today, "source": "caf"})).await
            .problem(StatusCode::NOT_FOUND, "not_found");
        // A proof that is another family's document is refused.
        let foreign = app.post(&path, Some(&agent.access), json!({"value": 450, "valid_from": today, "source": "caf", "proof_document_id": uuid::Uuid::now_v7()})).await;
        assert_eq!(foreign.body["errors"][0]["field"], "proof_document_id", "{}", foreign.body);
        let dup = app.post("/api/v1/staff/regies", Some(&admin.access), json!({"code": "ENF", "name": "Autre", "address": "Ici", "due_days": 30})).await;
        assert_eq!(dup.body["errors"][0]["field"], "code", "{}", dup.body);
    }
}

/// The text of a PDF, as poppler reads it (`pdftotext -layout`).
pub fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let path = std::env::temp_dir().join(format!("famille-{}.pdf", uuid::Uuid::now_v7()));
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", path.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) runs");
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    plain(&String::from_utf8(out.stdout).unwrap())
}

/// Non-breaking spaces as plain ones (pdftotext gives either, by version).
pub fn plain(text: &str) -> String {
    text.replace(['\u{A0}', '\u{202F}'], " ")
}

backend_tests! {
    async fn the_invoice_pdf_holds_its_number_lines_and_total(app) {
        let app = app.with_demo().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let issued = issue(&app, &agent, &preview(&app, &agent, &last_month(&app)).await).await;
        let invoice = &issued["invoices"][0];
        let id = invoice["id"].as_str().unwrap();
        let number = invoice["number"].as_str().unwrap();
        let get = |path: String, token: String| {
            let app = &app;
            async move {
                app.send(axum::http::Request::builder().uri(path).header("authorization", format!("Bearer {token}"))
                    .body(axum::body::Body::empty()).unwrap()).await
            }
        };
        let reply = get(format!("/api/v1/invoices/{id}/pdf"), parent.access.clone()).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.headers["content-type"], "application/pdf");
        let bytes = reply.raw.clone();
        let text = pdf_text(&bytes);
        let total = famille_model::fr::euros(invoice["total_cents"].as_i64().unwrap());
        for needle in [number, "FACTURE", "Régie Enfance", "Famille TESTBO", "Dossier n° 1", "Elena", "Valentine", "Luc",
                       "Journée complète — repas", "majoration", "QF de 800 à 1\u{202F}099\u{A0}€", total.as_str(),
                       "Reste à payer", "Page 1/1"] {
            assert!(text.contains(&plain(needle)), "{needle:?} not in:\n{text}");
        }
        assert!(!text.contains("Chloé"), "{text}");
        // The staff's copy is the same document; another family's is not found.
        assert_eq!(get(format!("/api/v1/staff/invoices/{id}/pdf"), agent.access.clone()).await.status, StatusCode::OK);
        let stranger = app.new_parent("voisin@example.fr").await;
        get(format!("/api/v1/invoices/{id}/pdf"), stranger.access.clone()).await.problem(StatusCode::NOT_FOUND, "not_found");
    }
}

#[test]
fn a_long_invoice_runs_over_pages_and_keeps_every_line() {
    use famille_model::api::{Invoice, InvoiceDetail, InvoiceLine, Regie};
    use famille_model::billing::{InvoiceKind, InvoiceStatus, LineKind};
    let day = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
    let lines: Vec<InvoiceLine> = (0..150)
        .map(|i| InvoiceLine {
            id: uuid::Uuid::now_v7(),
            child_id: uuid::Uuid::from_u128(1 + i / 60),
            child: format!("Enfant{}", i / 60),
            session_id: uuid::Uuid::now_v7(),
            date: day + chrono::Days::new((i % 28) as u64),
            activity: "Accueil périscolaire".into(),
            option: "Soir".into(),
            kind: LineKind::Activity,
            quantity: 1,
            unit_cents: 100 + i as i64,
            amount_cents: 100 + i as i64,
            bracket: None,
        })
        .collect();
    let total: i64 = lines.iter().map(|l| l.amount_cents).sum();
    let detail = InvoiceDetail {
        invoice: Invoice {
            id: uuid::Uuid::now_v7(),
            kind: InvoiceKind::Invoice,
            number: "PERI-2027-000042".into(),
            regie: "Régie Périscolaire".into(),
            issued_on: day,
            period: "2027-02".into(),
            label: "Facture de février 2027".into(),
            total_cents: total,
            credited_cents: 0,
            paid_cents: 0,
            status: InvoiceStatus::Issued,
            due_on: day + chrono::Days::new(30),
            credits_invoice_id: None,
            credits_number: None,
            reason: None,
            online_payment: false,
        },
        family_number: 42,
        lines,
    };
    let regie = Regie {
        id: uuid::Uuid::now_v7(),
        code: "PERI".into(),
        name: "Régie Périscolaire".into(),
        address: "Mairie\n33360 Latresne".into(),
        due_days: 30,
        min_amount_cents: 0,
        payment_note: "Par carte bancaire en ligne.".into(),
        territory: vec![],
        payfip_numcli: None,
        payfip_mode: famille_model::payments::PayfipMode::Test,
    };
    let bytes = famille_server::billing::pdf::render(&famille_server::billing::pdf::InvoicePdf {
        regie: &regie,
        detail: &detail,
        family: "DURAND Zoé",
        address: &["1 rue de l'Église".into(), "33360 LATRESNE".into()],
        credits_number: None,
        reason: None,
    })
    .unwrap();
    let text = pdf_text(&bytes);
    let pages = text.matches("Page ").count();
    assert!(pages >= 3, "{pages} pages:\n{text}");
    assert!(text.contains(&format!("Page {pages}/{pages}")), "{text}");
    for i in 0..150 {
        let amount = plain(&famille_model::fr::euros(100 + i));
        assert!(text.contains(&amount), "line {i} ({amount}) missing");
    }
    assert!(text.contains(&plain(&famille_model::fr::euros(total))));
    assert!(text.contains("Enfant2"));
    assert!(text.contains("DURAND Zoé"));
}

backend_tests! {
    async fn a_quotient_running_out_asks_the_family_once(app) {
        let app = app.with_demo().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let family_id = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().to_owned();
        let today = famille_model::calendar::paris_date(app.state.clock.now());
        let until = today + chrono::Days::new(20);
        let path = format!("/api/v1/staff/families/{family_id}/quotients");
        let record = app.get(&path, &agent.access).await.body[0]["id"].as_str().unwrap().to_owned();
        let ended = app.post(&format!("{path}/{record}/end"), Some(&agent.access), json!({"valid_until": until})).await;
        assert_eq!(ended.status, StatusCode::NO_CONTENT, "{}", ended.body);
        let alerts = app.get("/api/v1/alerts", &parent.access).await.body;
        let alert = alerts.as_array().unwrap().iter().find(|a| a["kind"] == "quotient_expiring").expect("the banner").clone();
        assert!(alert["message"].as_str().unwrap().contains(&famille_model::fr::date(until)), "{alert}");
        // Told once, by the housekeeping.
        assert_eq!(famille_server::billing::notify_quotients_expiring(&app.state).await.unwrap(), 1);
        assert_eq!(famille_server::billing::notify_quotients_expiring(&app.state).await.unwrap(), 0);
        let mail = crate::support::decode_quoted_printable(&app.wait_for_mail_containing("Quotient familial").await);
        assert!(mail.contains("tarif maximum"), "{mail}");
        // The new attestation entered: no banner.
        let next = app.post(&path, Some(&agent.access), json!({"value": 700, "valid_from": until + chrono::Days::new(1), "source": "caf"})).await;
        assert_eq!(next.status, StatusCode::CREATED, "{}", next.body);
        let alerts = app.get("/api/v1/alerts", &parent.access).await.body;
        assert!(!alerts.as_array().unwrap().iter().any(|a| a["kind"] == "quotient_expiring"), "{alerts}");
    }
}

backend_tests! {
    async fn an_agent_fetches_the_quotient_from_api_particulier(app) {
        use famille_server::dev::api_particulier_standin::Scripted;
        let app = app.with_demo().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let family_id = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/staff/families/{family_id}/quotients");
        let fetch = format!("{path}/fetch");
        let known = json!({"allocataire": "1234567", "postal_code": "33360"});
        // Without a key, the agent is told to enter the QF by hand.
        let off = app.post(&fetch, Some(&agent.access), known.clone()).await;
        off.problem(StatusCode::SERVICE_UNAVAILABLE, "provider_unavailable");
        assert!(off.body["detail"].as_str().unwrap().contains("pas configurée"), "{}", off.body);

        let (app, standin) = app.with_api_particulier().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let today = famille_model::calendar::paris_date(app.state.clock.now());
        // Digits typed on a full-width keyboard, with spaces, are the same number.
        let fetched = app.post(&fetch, Some(&agent.access), json!({"allocataire": "１２３ ４５６７", "postal_code": " 33360 "})).await;
        assert_eq!(fetched.status, StatusCode::CREATED, "{}", fetched.body);
        let records = app.get(&path, &agent.access).await.body;
        let latest = records.as_array().unwrap().last().unwrap().clone();
        assert_eq!(latest["id"], fetched.body["id"]);
        assert_eq!(latest["value"], 612);
        assert_eq!(latest["source"], "api_particulier");
        assert_eq!(latest["valid_from"], json!(today));
        let until = today.checked_add_months(Months::new(12)).unwrap().pred_opt().unwrap();
        assert_eq!(latest["valid_until"], json!(until));
        assert_eq!(records[0]["valid_until"], json!(today.pred_opt().unwrap()), "the previous record ends yesterday");
        assert_eq!(app.get("/api/v1/family", &parent.access).await.body["quotient"]["value"], 612);
        // Who asked the State about the family is in the family's audit trail.
        let audit = app.get("/api/v1/family/audit", &parent.access).await.body;
        assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "quotient.fetched"), "{audit}");
        let count = |records: &Value| records.as_array().unwrap().len();
        let before = count(&app.get(&path, &agent.access).await.body);

        // No file for this number and postal code: the field is named.
        let unknown = app.post(&fetch, Some(&agent.access), json!({"allocataire": "9999999", "postal_code": "33360"})).await;
        unknown.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(unknown.body["errors"][0]["field"], "allocataire", "{}", unknown.body);
        // Malformed input never reaches the State's API.
        let calls = standin.calls();
        let bad = app.post(&fetch, Some(&agent.access), json!({"allocataire": "12a", "postal_code": "3336"})).await;
        bad.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(bad.body["errors"].as_array().unwrap().len(), 2, "{}", bad.body);
        assert_eq!(standin.calls(), calls);

        // The provider down, throttled, slow or hanging: a 503 that says what to do,
        // and nothing recorded.
        for (answer, words) in [
            (Scripted::Unavailable, "ne répond pas"),
            (Scripted::ProviderError, "ne répond pas"),
            (Scripted::TooManyRequests, "ne répond pas"),
            (Scripted::ProviderTimeout, "à temps"),
            (Scripted::Hang, "à temps"),
        ] {
            standin.script_next([answer]);
            let r = app.post(&fetch, Some(&agent.access), known.clone()).await;
            r.problem(StatusCode::SERVICE_UNAVAILABLE, "provider_unavailable");
            assert!(r.body["detail"].as_str().unwrap().contains(words), "{answer:?}: {}", r.body);
        }
        assert_eq!(count(&app.get(&path, &agent.access).await.body), before);

        // A key the API refuses: the administrator must be told.
        let mut config = app.state.config.clone();
        config.api_particulier_token = Some("cle-revoquee".into());
        let app = app.restart_with(config).await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let refused = app.post(&fetch, Some(&agent.access), known.clone()).await;
        refused.problem(StatusCode::SERVICE_UNAVAILABLE, "provider_unavailable");
        assert!(refused.body["detail"].as_str().unwrap().contains("refuse la clé"), "{}", refused.body);

        // Another family's id that does not exist, and a parent: refused before any call.
        let calls = standin.calls();
        app.post(&format!("/api/v1/staff/families/{}/quotients/fetch", uuid::Uuid::now_v7()), Some(&agent.access), known.clone()).await
            .problem(StatusCode::NOT_FOUND, "not_found");
        app.post(&fetch, Some(&parent.access), known).await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(standin.calls(), calls);
    }
}
