//! Payments (issue 14) on both databases: paying online through the local PayFiP
//! stand-in (every outcome, duplicated and late notifications, an amount that
//! differs, PayFiP down), payments at the desk spread oldest first with the rest
//! kept as credit, reversals, and what another family may see.

use axum::http::StatusCode;
use famille_server::dev::payfip_standin::{Choice, Notify, ScriptedCall};
use serde_json::{Value, json};

use crate::billing::{issue, last_month, preview};
use crate::support::{TestApp, Tokens, backend_tests};

/// The demo's last month issued; the family's first invoice.
async fn issued_invoice(app: &TestApp, agent: &Tokens, parent: &Tokens) -> Value {
    let run = preview(app, agent, &last_month(app)).await;
    issue(app, agent, &run).await;
    let invoices = app.get("/api/v1/invoices", &parent.access).await.body;
    invoices
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "invoice")
        .expect("an invoice")
        .clone()
}

fn id_op_of(redirect: &str) -> String {
    redirect
        .split("idop=")
        .nth(1)
        .expect("an idop in the page URL")
        .to_owned()
}

async fn invoice(app: &TestApp, parent: &Tokens, id: &str) -> Value {
    app.get(&format!("/api/v1/invoices/{id}"), &parent.access)
        .await
        .body
}

/// The page PayFiP sends the browser back to (no token: it is the browser).
async fn back_page(app: &TestApp, url: &str) -> (StatusCode, String) {
    let path = url.trim_start_matches(&app.state.config.public_url);
    let reply = app.call(axum::http::Method::GET, path, None, None).await;
    (
        reply.status,
        String::from_utf8_lossy(&reply.raw).into_owned(),
    )
}

/// The PayFiP operation of a payment (read where the server keeps it).
async fn payfip_op_of(app: &TestApp, _parent: &Tokens, payment_id: &str) -> String {
    app.state
        .db
        .payments()
        .operation(payment_id.parse().unwrap())
        .await
        .unwrap()
        .and_then(|op| op.payfip_idop)
        .expect("an operation id")
}

async fn start(app: &TestApp, parent: &Tokens, id: &str) -> crate::support::Reply {
    app.post(
        &format!("/api/v1/invoices/{id}/payments"),
        Some(&parent.access),
        json!({"method": "payfip"}),
    )
    .await
}

backend_tests! {
    async fn a_family_pays_an_invoice_online(app) {
        let (app, payfip) = app.with_demo().await.with_payfip().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let inv = issued_invoice(&app, &agent, &parent).await;
        let id = inv["id"].as_str().unwrap();
        let total = inv["total_cents"].as_i64().unwrap();

        let started = start(&app, &parent, id).await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
        let redirect = started.body["redirect_url"].as_str().unwrap().to_owned();
        assert!(redirect.starts_with(&payfip.page_url()), "{redirect}");
        let id_op = id_op_of(&redirect);
        // What PayFiP was asked, in its own words.
        let asked = payfip.operation(&id_op).expect("the operation");
        assert_eq!(asked["refdet"], inv["number"].as_str().unwrap().replace('-', ""));
        assert_eq!(asked["montant"], total.to_string());
        assert_eq!(asked["numcli"], "123456");
        assert_eq!(asked["saisie"], "T");
        assert_eq!(asked["mel"], "parent@famille.example");
        assert!(asked["objet"].chars().all(|c| c.is_ascii_alphanumeric() || c == ' '), "{}", asked["objet"]);
        assert_eq!(asked["urlnotif"], format!("{}/api/v1/payfip/notifications", app.state.config.public_url));
        let payment_id = started.body["payment_id"].as_str().unwrap().to_owned();
        let pending = app.get(&format!("/api/v1/payments/{payment_id}"), &parent.access).await;
        assert_eq!(pending.body["status"], "pending", "{}", pending.body);
        // A second tap gives the same operation back.
        let again = start(&app, &parent, id).await;
        assert_eq!(again.body["payment_id"], started.body["payment_id"]);
        assert_eq!(payfip.soap_calls(), 2, "one creation, one detail (the status read)");

        // The parent pays: PayFiP notifies, then sends the browser back.
        let back = payfip.choose(&id_op, Choice::Paid).await.expect("a return URL");
        assert_eq!(payfip.notifications_sent(), 1);
        let (status, page) = back_page(&app, &back).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Paiement accepté") && page.contains("lang=\"fr\""), "{page}");
        let paid = invoice(&app, &parent, id).await;
        assert_eq!(paid["status"], "paid", "{paid}");
        assert_eq!(paid["paid_cents"], total);
        let payment = app.get(&format!("/api/v1/payments/{payment_id}"), &parent.access).await.body;
        assert_eq!(payment["status"], "paid");
        assert_eq!(payment["paid_cents"], total);
        assert_eq!(payment["allocations"][0]["invoice_id"], inv["id"]);
        assert_eq!(payment["allocations"][0]["cents"], total);
        // The phone learns it from its feed, and is told.
        let feed = app.get("/api/v1/sync?cursor=0&limit=500", &parent.access).await.body;
        let last = feed["changes"].as_array().unwrap().iter().rev().find(|c| c["entity"] == "invoice").unwrap().clone();
        assert_eq!(last["invoice"]["status"], "paid");
        let mail = crate::support::decode_quoted_printable(&app.wait_for_mail_containing("Paiement").await);
        assert!(mail.contains(inv["number"].as_str().unwrap()), "{mail}");
        // Nothing left to pay.
        start(&app, &parent, id).await.problem(StatusCode::CONFLICT, "invoice_settled");

        // Another family sees none of it.
        let other = app.new_parent("autre@famille.example").await;
        app.get(&format!("/api/v1/payments/{payment_id}"), &other.access).await.problem(StatusCode::NOT_FOUND, "not_found");
        start(&app, &other, id).await.problem(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(app.get("/api/v1/payments", &other.access).await.body, json!([]));
        // An operation we never started.
        let unknown = axum::http::Request::builder().method("POST").uri("/api/v1/payfip/notifications")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from("idop=inconnu")).unwrap();
        app.send(unknown).await.problem(StatusCode::NOT_FOUND, "not_found");
    }

    async fn every_payfip_outcome_is_applied_once(app) {
        let (app, payfip) = app.with_demo().await.with_payfip().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let inv = issued_invoice(&app, &agent, &parent).await;
        let id = inv["id"].as_str().unwrap();
        let total = inv["total_cents"].as_i64().unwrap();
        let status_of = |body: &Value| body["status"].as_str().unwrap_or_else(|| panic!("no status: {body}")).to_owned();

        // PayFiP down when starting: a clear 503, the attempt kept as failed.
        payfip.script_calls([ScriptedCall::Unavailable]);
        start(&app, &parent, id).await.problem(StatusCode::SERVICE_UNAVAILABLE, "provider_unavailable");
        // PayFiP says no (its client number, its limits): retrying will not help.
        payfip.script_calls([ScriptedCall::Fault("S1".into())]);
        let no = start(&app, &parent, id).await.problem(StatusCode::CONFLICT, "online_payment_unavailable");
        assert!(no.contains("code S1"), "{no}");
        let list = app.get("/api/v1/payments", &parent.access).await.body;
        assert!(list.as_array().unwrap().iter().all(|p| p["status"] == "failed"), "{list}");

        // Refused by the bank.
        let r = start(&app, &parent, id).await;
        payfip.choose(&id_op_of(r.body["redirect_url"].as_str().unwrap()), Choice::Refused).await;
        let p = app.get(&format!("/api/v1/payments/{}", r.body["payment_id"].as_str().unwrap()), &parent.access).await.body;
        assert_eq!(status_of(&p), "refused");
        assert_eq!(invoice(&app, &parent, id).await["status"], "issued");

        // Abandoned, and PayFiP never notifies: the return page asks.
        let a = start(&app, &parent, id).await;
        assert_ne!(a.body["payment_id"], r.body["payment_id"], "a settled operation is not reused");
        payfip.script_notify([Notify::Never]);
        let back = payfip.choose(&id_op_of(a.body["redirect_url"].as_str().unwrap()), Choice::Abandoned).await.unwrap();
        let (_, page) = back_page(&app, &back).await;
        assert!(page.contains("abandonné"), "{page}");

        // The parent closed the page: after 20 minutes the checker calls it expired.
        let e = start(&app, &parent, id).await;
        let e_id = e.body["payment_id"].as_str().unwrap().to_owned();
        assert_eq!(famille_server::payments::check_open_operations(&app.state).await.unwrap(), 0);
        app.state.clock.advance(chrono::Duration::minutes(25));
        assert_eq!(famille_server::payments::check_open_operations(&app.state).await.unwrap(), 1);
        // Sessions ran out meanwhile.
        let (agent, parent) = (app.agent().await, app.parent().await);
        assert_eq!(status_of(&app.get(&format!("/api/v1/payments/{e_id}"), &parent.access).await.body), "expired");

        // Paid, but less than asked, and notified twice at once: applied once,
        // flagged for an agent.
        let m = start(&app, &parent, id).await;
        payfip.script_paid_amount(total - 500);
        payfip.script_notify([Notify::Twice]);
        payfip.choose(&id_op_of(m.body["redirect_url"].as_str().unwrap()), Choice::Paid).await;
        assert_eq!(payfip.notifications_sent(), 3, "refused once, then twice");
        let partly = invoice(&app, &parent, id).await;
        assert_eq!(partly["status"], "partially_paid", "{partly}");
        assert_eq!(partly["paid_cents"], total - 500);
        let family_id = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().to_owned();
        let staff = app.get(&format!("/api/v1/staff/families/{family_id}/payments"), &agent.access).await.body;
        let flagged: Vec<&Value> = staff["payments"].as_array().unwrap().iter().filter(|p| p["mismatch"] == true).collect();
        assert_eq!(flagged.len(), 1, "{staff}");
        assert_eq!(flagged[0]["payment"]["paid_cents"], total - 500);
        // The services' list of what PayFiP contradicted names the family.
        let to_look_at = app.get("/api/v1/staff/payments?mismatch=true", &agent.access).await.body;
        assert_eq!(to_look_at.as_array().unwrap().len(), 1, "{to_look_at}");
        assert_eq!(to_look_at[0]["family_id"], family_id.as_str());
        assert_eq!(to_look_at[0]["entry"]["payment"]["id"], flagged[0]["payment"]["id"]);

        // The rest, with the browser back before the (late) notification.
        let l = start(&app, &parent, id).await;
        assert_eq!(payfip.operation(&id_op_of(l.body["redirect_url"].as_str().unwrap())).unwrap()["montant"], "500");
        payfip.script_notify([Notify::Late(300)]);
        let back = payfip.choose(&id_op_of(l.body["redirect_url"].as_str().unwrap()), Choice::Paid).await.unwrap();
        let (_, page) = back_page(&app, &back).await;
        assert!(page.contains("Paiement accepté"), "{page}");
        for _ in 0..100 {
            if payfip.notifications_sent() == 4 { break; }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(payfip.notifications_sent(), 4);
        let done = invoice(&app, &parent, id).await;
        assert_eq!(done["status"], "paid");
        assert_eq!(done["paid_cents"], total, "never more than paid");
        let paid: Vec<Value> = app.get("/api/v1/payments", &parent.access).await.body.as_array().unwrap().iter()
            .filter(|p| p["status"] == "paid").cloned().collect();
        assert_eq!(paid.len(), 2);

        // The parent went back to the page we had called expired, and paid: PayFiP
        // notifies, the money is recorded (the invoice being paid, as credit).
        let expired_op = payfip_op_of(&app, &parent, &e_id).await;
        payfip.choose(&expired_op, Choice::Paid).await;
        assert_eq!(status_of(&app.get(&format!("/api/v1/payments/{e_id}"), &parent.access).await.body), "paid");
        let staff = app.get(&format!("/api/v1/staff/families/{family_id}/payments"), &agent.access).await.body;
        assert_eq!(staff["credit"][0]["cents"], total, "{staff}");
    }

    async fn credit_notes_and_new_invoices_move_the_money(app) {
        let app = app.with_demo().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let family_id = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().to_owned();
        let regie = app.get("/api/v1/staff/regies", &agent.access).await.body[0]["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/staff/families/{family_id}/payments");
        let today = famille_model::calendar::paris_date(app.state.clock.now());
        // Paid before the invoice exists: credit, which pays the invoice once issued.
        let early = app.post(&path, Some(&agent.access), json!({"regie_id": regie, "method": "cash",
            "amount_cents": 2000, "received_on": today})).await;
        assert_eq!(early.status, StatusCode::CREATED, "{}", early.body);
        assert_eq!(app.get(&path, &agent.access).await.body["credit"][0]["cents"], 2000);
        let inv = issued_invoice(&app, &agent, &parent).await;
        let id = inv["id"].as_str().unwrap();
        let total = inv["total_cents"].as_i64().unwrap();
        assert!(total > 2000, "the demo's month costs more than 20 €");
        assert_eq!(invoice(&app, &parent, id).await["paid_cents"], 2000, "credit pays the new invoice");
        // The rest by cheque: paid.
        app.post(&path, Some(&agent.access), json!({"regie_id": regie, "method": "cheque",
            "amount_cents": total - 2000, "received_on": today})).await;
        assert_eq!(invoice(&app, &parent, id).await["status"], "paid");
        // A credit note cancels a paid line: its money goes back to the family as
        // credit, never lost, and the invoice stays paid for what is left.
        let lines = app.get(&format!("/api/v1/staff/invoices/{id}/lines"), &agent.access).await.body;
        let line = lines.as_array().unwrap().iter().find(|l| l["kind"] == "activity").unwrap().clone();
        let cents = line["amount_cents"].as_i64().unwrap();
        let note = app.post(&format!("/api/v1/staff/invoices/{id}/credit-notes"), Some(&agent.access),
            json!({"reason": "Journée annulée par le centre", "lines": [line["id"]]})).await;
        assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
        let after = invoice(&app, &parent, id).await;
        assert_eq!((after["status"].as_str().unwrap(), after["paid_cents"].as_i64().unwrap(), after["credited_cents"].as_i64().unwrap()),
            ("paid", total - cents, cents), "{after}");
        let staff = app.get(&path, &agent.access).await.body;
        assert_eq!(staff["credit"][0]["cents"], cents, "{staff}");
        let allocated: i64 = staff["payments"].as_array().unwrap().iter()
            .flat_map(|p| p["payment"]["allocations"].as_array().unwrap().clone())
            .map(|a| a["cents"].as_i64().unwrap()).sum();
        assert_eq!(allocated, total - cents, "allocations add up to what the invoice shows paid");
    }

    async fn an_address_payfip_cannot_take_is_said_plainly(app) {
        let (app, payfip) = app.with_demo().await.with_payfip().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let inv = issued_invoice(&app, &agent, &parent).await;
        let long = format!("{}@famille.example", "parent".repeat(13));
        crate::support::execute_sql(&app, &format!("UPDATE accounts SET email = '{long}' WHERE email = 'parent@famille.example'"), &[]).await;
        let refused = start(&app, &parent, inv["id"].as_str().unwrap()).await;
        let detail = refused.problem(StatusCode::CONFLICT, "online_payment_unavailable");
        assert!(detail.contains("80 caractères"), "{detail}");
        assert_eq!(payfip.soap_calls(), 0, "PayFiP is not asked");
    }

    async fn desk_payments_pay_the_oldest_first_and_can_be_reversed(app) {
        let app = app.with_demo().await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let inv = issued_invoice(&app, &agent, &parent).await;
        let id = inv["id"].as_str().unwrap();
        let total = inv["total_cents"].as_i64().unwrap();
        let family_id = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().to_owned();
        let regie = app.get("/api/v1/staff/regies", &agent.access).await.body[0]["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/staff/families/{family_id}/payments");
        let today = famille_model::calendar::paris_date(app.state.clock.now());

        // Part of it by cheque.
        let cheque = app.post(&path, Some(&agent.access), json!({"regie_id": regie, "method": "cheque",
            "amount_cents": 1000, "received_on": today, "reference": "CHQ 0012345"})).await;
        assert_eq!(cheque.status, StatusCode::CREATED, "{}", cheque.body);
        assert_eq!(invoice(&app, &parent, id).await["status"], "partially_paid");
        // More than the rest: the invoice is paid, the rest is credit.
        let transfer = app.post(&path, Some(&agent.access), json!({"regie_id": regie, "method": "transfer",
            "amount_cents": total, "received_on": today, "invoice_ids": [id]})).await;
        assert_eq!(transfer.status, StatusCode::CREATED, "{}", transfer.body);
        let paid = invoice(&app, &parent, id).await;
        assert_eq!((paid["status"].as_str().unwrap(), paid["paid_cents"].as_i64().unwrap()), ("paid", total));
        let staff = app.get(&path, &agent.access).await.body;
        assert_eq!(staff["credit"][0]["cents"], 1000, "{staff}");
        assert_eq!(staff["payments"][0]["recorded_by"], "agent@famille.example");
        // The family sees its payments, without the agents' names.
        let mine = app.get("/api/v1/payments", &parent.access).await.body;
        assert_eq!(mine.as_array().unwrap().len(), 2);
        assert!(mine[0].get("recorded_by").is_none());

        // The cheque bounced: reversed by an opposite entry; the transfer's credit
        // pays what it paid.
        let cheque_id = cheque.body["id"].as_str().unwrap();
        let reversal = app.post(&format!("{path}/{cheque_id}/reverse"), Some(&agent.access), json!({"reason": "Chèque sans provision"})).await;
        assert_eq!(reversal.status, StatusCode::CREATED, "{}", reversal.body);
        let after = invoice(&app, &parent, id).await;
        assert_eq!((after["status"].as_str().unwrap(), after["paid_cents"].as_i64().unwrap()), ("paid", total));
        let staff = app.get(&path, &agent.access).await.body;
        assert_eq!(staff["credit"], json!([]), "{staff}");
        let entries = staff["payments"].as_array().unwrap();
        assert_eq!(entries.len(), 3, "never deleted");
        assert!(entries.iter().any(|p| p["payment"]["status"] == "reversed" && p["payment"]["id"] == cheque_id));
        assert!(entries.iter().any(|p| p["payment"]["amount_cents"] == -1000 && p["reason"] == "Chèque sans provision"));
        app.post(&format!("{path}/{cheque_id}/reverse"), Some(&agent.access), json!({"reason": "encore"})).await
            .problem(StatusCode::CONFLICT, "conflict");
        // The transfer reversed too: the invoice is open again.
        let transfer_id = transfer.body["id"].as_str().unwrap();
        app.post(&format!("{path}/{transfer_id}/reverse"), Some(&agent.access), json!({"reason": "Erreur de saisie"})).await;
        let open = invoice(&app, &parent, id).await;
        assert_eq!((open["status"].as_str().unwrap(), open["paid_cents"].as_i64().unwrap()), ("issued", 0));
        // A line of it credited now: nothing is given back twice (the reversals
        // took the money back already), and no credit appears from nowhere.
        let lines = app.get(&format!("/api/v1/staff/invoices/{id}/lines"), &agent.access).await.body;
        let first_line = lines[0]["id"].clone();
        let note = app.post(&format!("/api/v1/staff/invoices/{id}/credit-notes"), Some(&agent.access),
            json!({"reason": "Journée offerte", "lines": [first_line]})).await;
        assert_eq!(note.status, StatusCode::CREATED, "{}", note.body);
        assert_eq!(invoice(&app, &parent, id).await["paid_cents"], 0);
        assert_eq!(app.get(&path, &agent.access).await.body["credit"], json!([]));

        // The régie's list of the day: the four entries, newest first.
        let day = app.get(&format!("/api/v1/staff/payments?regie_id={regie}&from={today}&to={today}"), &agent.access).await;
        assert_eq!(day.status, StatusCode::OK, "{}", day.body);
        assert_eq!(day.body.as_array().unwrap().len(), 4, "{}", day.body);
        let backwards = app.get(&format!("/api/v1/staff/payments?from={today}&to={}", today.pred_opt().unwrap()), &agent.access).await;
        backwards.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(backwards.body["errors"][0]["field"], "to");
        app.get("/api/v1/staff/payments", &parent.access).await.problem(StatusCode::FORBIDDEN, "forbidden");

        // Bad input names its field; others are refused.
        let tomorrow = today + chrono::Days::new(1);
        for (body, field) in [
            (json!({"regie_id": regie, "method": "payfip", "amount_cents": 100, "received_on": today}), "method"),
            (json!({"regie_id": regie, "method": "cash", "amount_cents": 0, "received_on": today}), "amount_cents"),
            (json!({"regie_id": regie, "method": "cash", "amount_cents": 100, "received_on": tomorrow}), "received_on"),
            (json!({"regie_id": uuid::Uuid::now_v7(), "method": "cash", "amount_cents": 100, "received_on": today}), "regie_id"),
            (json!({"regie_id": regie, "method": "cash", "amount_cents": 100, "received_on": today, "invoice_ids": [uuid::Uuid::now_v7()]}), "invoice_ids"),
            (json!({"regie_id": regie, "method": "bitcoin", "amount_cents": 100, "received_on": today}), "method"),
        ] {
            let r = app.post(&path, Some(&agent.access), body).await;
            r.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
            assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
        }
        app.post(&format!("/api/v1/staff/families/{}/payments", uuid::Uuid::now_v7()), Some(&agent.access),
            json!({"regie_id": regie, "method": "cash", "amount_cents": 100, "received_on": today})).await
            .problem(StatusCode::NOT_FOUND, "not_found");
        app.post(&path, Some(&parent.access), json!({"regie_id": regie, "method": "cash", "amount_cents": 100, "received_on": today})).await
            .problem(StatusCode::FORBIDDEN, "forbidden");
        // A régie without a PayFiP number has no online payment.
        let admin = app.admin().await;
        let mut settings = app.get("/api/v1/staff/regies", &agent.access).await.body[0].clone();
        settings.as_object_mut().unwrap().remove("id");
        // Left out, a change keeps the PayFiP settings; "" takes the number away.
        settings.as_object_mut().unwrap().remove("payfip_numcli");
        settings.as_object_mut().unwrap().remove("payfip_mode");
        let kept = app.put(&format!("/api/v1/staff/regies/{regie}"), &admin.access, settings.clone()).await;
        assert!(kept.status.is_success(), "{}", kept.body);
        let after = app.get("/api/v1/staff/regies", &agent.access).await.body[0].clone();
        assert_eq!((after["payfip_numcli"].as_str(), after["payfip_mode"].as_str()), (Some("123456"), Some("test")));
        settings["payfip_numcli"] = json!("");
        let put = app.put(&format!("/api/v1/staff/regies/{regie}"), &admin.access, settings).await;
        assert!(put.status.is_success(), "{}", put.body);
        start(&app, &parent, id).await.problem(StatusCode::CONFLICT, "online_payment_unavailable");
    }
}

backend_tests! {
    async fn overdue_invoices_block_bookings_until_paid_or_lifted(app) {
        use famille_model::booking::BookingRules;
        let app = app.with_demo().await;
        let mut config = app.state.config.clone();
        config.unpaid_block_cents = Some(1000);
        let app = app.restart_with(config).await;
        let agent = app.agent().await;
        let parent = app.parent().await;
        let inv = issued_invoice(&app, &agent, &parent).await;
        let family = app.get("/api/v1/family", &parent.access).await.body;
        assert_eq!(family["unpaid_rule"], json!({"threshold_cents": 1000, "lifted": false}), "the phone learns the rule");
        let family_id = family["id"].as_str().unwrap().to_owned();
        let elena = family["children"][0]["id"].as_str().unwrap().to_owned();

        // Not due yet: booking is open.
        let today = crate::bookings::today(&app);
        let soon = crate::bookings::session(&app, today + chrono::Days::new(12), 10, BookingRules::days_before(1, 1)).await;
        let done = crate::bookings::send(&app, &parent, json!([crate::bookings::reserve(&elena, soon)])).await;
        assert_eq!(done[0]["status"], "applied", "{done:?}");

        // Past its due date, more than 10 € owed: new bookings are refused, and the
        // calendar says why before the parent taps.
        app.state.clock.advance(chrono::Duration::days(inv["due_on"].as_str().unwrap().parse::<chrono::NaiveDate>().unwrap()
            .signed_duration_since(today).num_days() + 1));
        let (agent, parent) = (app.agent().await, app.parent().await);
        let later = crate::bookings::today(&app) + chrono::Days::new(5);
        let day = crate::bookings::session(&app, later, 10, BookingRules::days_before(1, 1)).await;
        let refused = crate::bookings::send(&app, &parent, json!([crate::bookings::reserve(&elena, day)])).await;
        assert_eq!((refused[0]["status"].as_str(), refused[0]["code"].as_str()), (Some("rejected"), Some("unpaid_invoices")), "{refused:?}");
        assert!(refused[0]["detail"].as_str().unwrap().contains("Mes factures"));
        let cell = crate::bookings::cell(&app, &parent, &elena, later, day).await;
        assert_eq!(cell["blocked_by"], "unpaid_invoices", "{cell}");

        // An agent lifts it for the family: booking again.
        let lift = app.put(&format!("/api/v1/staff/families/{family_id}/unpaid-block"), &agent.access, json!({"lifted": true})).await;
        assert_eq!(lift.status, StatusCode::NO_CONTENT, "{}", lift.body);
        let ok = crate::bookings::send(&app, &parent, json!([crate::bookings::reserve(&elena, day)])).await;
        assert_eq!(ok[0]["status"], "applied", "{ok:?}");
        // Restored, then the invoice paid: nothing overdue, nothing blocked.
        app.put(&format!("/api/v1/staff/families/{family_id}/unpaid-block"), &agent.access, json!({"lifted": false})).await;
        let other = crate::bookings::session(&app, later + chrono::Days::new(1), 10, BookingRules::days_before(1, 1)).await;
        let again = crate::bookings::send(&app, &parent, json!([crate::bookings::reserve(&elena, other)])).await;
        assert_eq!(again[0]["code"], "unpaid_invoices");
        let regie = app.get("/api/v1/staff/regies", &agent.access).await.body[0]["id"].as_str().unwrap().to_owned();
        let received = crate::bookings::today(&app);
        app.post(&format!("/api/v1/staff/families/{family_id}/payments"), Some(&agent.access), json!({"regie_id": regie,
            "method": "cash", "amount_cents": inv["total_cents"], "received_on": received})).await;
        let paid = crate::bookings::send(&app, &parent, json!([crate::bookings::reserve(&elena, other)])).await;
        assert_eq!(paid[0]["status"], "applied", "{paid:?}");
        // Someone else's family, or a parent: refused.
        app.put(&format!("/api/v1/staff/families/{}/unpaid-block", uuid::Uuid::now_v7()), &agent.access, json!({"lifted": true})).await
            .problem(StatusCode::NOT_FOUND, "not_found");
        app.put(&format!("/api/v1/staff/families/{family_id}/unpaid-block"), &parent.access, json!({"lifted": true})).await
            .problem(StatusCode::FORBIDDEN, "forbidden");
    }
}
