use axum::http::StatusCode;
use chrono::{Duration, NaiveDate, NaiveTime};
use famille_model::booking::{
    BookingRules, Day, Eligibility, LateBooking, Opening, SkipDays, TimeRule,
};
use famille_model::calendar::paris_date;
use famille_server::store::catalog::{NewActivity, NewSession};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::{TestApp, Tokens, backend_tests};

pub(crate) fn rules() -> BookingRules {
    BookingRules {
        opening: Opening::Always,
        booking_deadline: TimeRule::DaysBefore {
            days: 2,
            time: NaiveTime::from_hms_opt(23, 59, 0).unwrap(),
            skip: SkipDays::default(),
        },
        cancellation_deadline: TimeRule::DaysBefore {
            days: 7,
            time: NaiveTime::from_hms_opt(23, 59, 0).unwrap(),
            skip: SkipDays::default(),
        },
        late_booking: LateBooking::Refused,
        requires_approval: false,
        waitlist: true,
    }
}

/// An activity for 3-11 year olds with one session on `date`.
pub(crate) async fn session(
    app: &TestApp,
    date: NaiveDate,
    capacity: u32,
    rules: BookingRules,
) -> Uuid {
    let for_3_to_11 = Eligibility {
        min_age: Some(3),
        max_age: Some(11),
        ..Default::default()
    };
    session_for(app, date, capacity, rules, &for_3_to_11).await
}

/// An activity open to `eligibility` with one session on `date`.
pub(crate) async fn session_for(
    app: &TestApp,
    date: NaiveDate,
    capacity: u32,
    rules: BookingRules,
    eligibility: &Eligibility,
) -> Uuid {
    let catalog = app.state.db.catalog();
    let now = app.state.clock.now();
    let category = Uuid::now_v7();
    catalog
        .insert_category(
            category,
            &format!("c{category}"),
            "Mercredis et Vacances",
            0,
        )
        .await
        .unwrap();
    let venue = Uuid::now_v7();
    catalog
        .insert_venue(venue, &format!("ALSH {venue}"), None)
        .await
        .unwrap();
    let activity = Uuid::now_v7();
    catalog
        .insert_activity(&NewActivity {
            id: activity,
            category_id: category,
            venue_id: venue,
            name: "Atelier test",
            description: None,
            eligibility,
            rules: &rules,
            age_split: None,
            now,
        })
        .await
        .unwrap();
    let option = Uuid::now_v7();
    catalog
        .insert_option(option, activity, "Journée complète", 0, now)
        .await
        .unwrap();
    let id = Uuid::now_v7();
    catalog
        .insert_session(&NewSession {
            id,
            activity_id: activity,
            option_id: option,
            date,
            capacity,
            capacity_young: None,
            capacity_old: None,
            now,
        })
        .await
        .unwrap();
    id
}

pub(crate) fn today(app: &TestApp) -> NaiveDate {
    paris_date(app.state.clock.now())
}

pub(crate) async fn children(app: &TestApp, tokens: &Tokens) -> Vec<String> {
    let family = app.get("/api/v1/family", &tokens.access).await.body;
    family["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) async fn send(app: &TestApp, tokens: &Tokens, mutations: Value) -> Vec<Value> {
    let reply = app
        .post(
            "/api/v1/mutations",
            Some(&tokens.access),
            json!({"mutations": mutations}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["results"].as_array().unwrap().clone()
}

pub(crate) fn reserve(child: &str, session: Uuid) -> Value {
    json!({"id": Uuid::now_v7(), "kind": "reserve", "child_id": child, "session_id": session})
}

pub(crate) async fn cell(
    app: &TestApp,
    tokens: &Tokens,
    child: &str,
    date: NaiveDate,
    session: Uuid,
) -> Value {
    let cal = app
        .get(
            &format!("/api/v1/children/{child}/calendar?from={date}&to={date}"),
            &tokens.access,
        )
        .await;
    assert_eq!(cal.status, StatusCode::OK, "{}", cal.body);
    cal.body["days"][0]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_id"] == session.to_string())
        .cloned()
        .unwrap_or_else(|| panic!("session not in the calendar: {}", cal.body))
}

backend_tests! {
    async fn reserve_then_cancel_in_time(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let kids = children(&app, &parent).await;
        let (elena, valentine) = (&kids[0], &kids[1]);
        let date = today(&app) + Duration::days(20);
        let s = session(&app, date, 10, rules()).await;
        assert_eq!(cell(&app, &parent, valentine, date, s).await["state"], "available");

        let results = send(&app, &parent, json!([reserve(valentine, s), reserve(elena, s)])).await;
        assert_eq!(results.len(), 2);
        assert!(results.iter().all(|r| r["status"] == "applied"), "{results:?}");
        let booked = cell(&app, &parent, valentine, date, s).await;
        assert_eq!(booked["state"], "reserved");
        assert_eq!(booked["places_left"], 8);
        assert_eq!(booked["reservation_id"], results[0]["reservation_id"]);

        let cancel = json!([{"id": Uuid::now_v7(), "kind": "cancel", "reservation_id": results[0]["reservation_id"]}]);
        let cancelled = send(&app, &parent, cancel).await;
        assert_eq!(cancelled[0]["status"], "applied", "{cancelled:?}");
        let after = cell(&app, &parent, valentine, date, s).await;
        assert_eq!(after["state"], "cancelled");
        assert_eq!(after["places_left"], 9);
        // Booking again after a cancellation is allowed.
        let again = send(&app, &parent, json!([reserve(valentine, s)])).await;
        assert_eq!(again[0]["status"], "applied");
        assert_eq!(cell(&app, &parent, valentine, date, s).await["state"], "reserved");
        assert_eq!(app.state.db.bookings().overbooked_sessions().await.unwrap(), 0);
    }

    async fn replayed_batches_apply_once(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let kids = children(&app, &parent).await;
        let date = today(&app) + Duration::days(20);
        let s = session(&app, date, 10, rules()).await;
        let batch = json!([reserve(&kids[0], s), reserve(&kids[1], s), {"id": Uuid::now_v7(), "kind": "teleport", "x": 1}]);
        let first = send(&app, &parent, batch.clone()).await;
        let second = send(&app, &parent, batch.clone()).await;
        assert_eq!(first, second, "a replay answers exactly as the first time");
        assert_eq!(first[2]["status"], "rejected");
        assert_eq!(first[2]["code"], "invalid_mutation");
        assert_eq!(cell(&app, &parent, &kids[0], date, s).await["places_left"], 8);
        // The same id from another family reveals nothing and changes nothing.
        let stranger = app.new_parent("voisin@example.fr").await;
        let stolen = send(&app, &stranger, json!([batch[0].clone()])).await;
        assert_eq!(stolen[0]["code"], "not_found");
        assert_eq!(cell(&app, &parent, &kids[0], date, s).await["places_left"], 8);
    }

    async fn every_rejection_code(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let kids = children(&app, &parent).await;
        let (elena, valentine, luc, chloe) = (&kids[0], &kids[1], &kids[2], &kids[3]);
        let date = today(&app) + Duration::days(20);
        let s = session(&app, date, 1, rules()).await;
        let mut eleven_plus = rules();
        eleven_plus.waitlist = false;
        let no_waitlist = session(&app, date, 1, eleven_plus).await;

        let code = |r: &Vec<Value>| r[0]["code"].as_str().unwrap_or("").to_owned();
        // Unknown session, unknown child.
        assert_eq!(code(&send(&app, &parent, json!([reserve(elena, Uuid::now_v7())])).await), "not_found");
        assert_eq!(code(&send(&app, &parent, json!([reserve(&Uuid::now_v7().to_string(), s)])).await), "not_found");
        // Chloé is 4 and the demo's 6-11 Wednesdays are not for her.
        let chloe_cal = app.get(&format!("/api/v1/children/{chloe}/calendar?from={}&to={}", today(&app), today(&app) + Duration::days(30)), &parent.access).await;
        assert!(chloe_cal.body["days"].as_array().unwrap().iter()
            .flat_map(|d| d["sessions"].as_array().unwrap()).all(|s| !s["activity"].as_str().unwrap().contains("6-11")),
            "only the activities the child may attend are shown");
        let demo_wednesday = app.get(&format!("/api/v1/children/{elena}/calendar?from={}&to={}", today(&app), today(&app) + Duration::days(30)), &parent.access).await
            .body["days"].as_array().unwrap().iter().flat_map(|d| d["sessions"].as_array().unwrap().clone())
            .find(|s| s["activity"].as_str().unwrap().contains("6-11")).unwrap()["session_id"].as_str().unwrap().parse::<Uuid>().unwrap();
        let refused = send(&app, &parent, json!([reserve(chloe, demo_wednesday)])).await;
        assert_eq!(code(&refused), "not_eligible");
        assert!(refused[0]["detail"].as_str().unwrap().contains("âge"));
        // Luc has not sent his carnet de vaccination: the holidays are blocked for him.
        let holidays = app.get(&format!("/api/v1/children/{luc}/calendar?from={}&to={}", today(&app), today(&app) + Duration::days(56)), &parent.access).await;
        let blocked = holidays.body["days"].as_array().unwrap().iter().flat_map(|d| d["sessions"].as_array().unwrap().clone())
            .find(|s| s["state"] == "blocked");
        if let Some(blocked) = blocked {
            assert_eq!(blocked["blocked_by"], "document_required");
            assert_eq!(blocked["missing_documents"], json!(["Carnet de vaccination"]));
            let id: Uuid = blocked["session_id"].as_str().unwrap().parse().unwrap();
            let r = send(&app, &parent, json!([reserve(luc, id)])).await;
            assert_eq!(code(&r), "document_required");
            assert!(r[0]["detail"].as_str().unwrap().contains("Carnet de vaccination"), "{r:?}");
        }
        // Already booked, then full, then the waitlist questions.
        assert_eq!(send(&app, &parent, json!([reserve(elena, s)])).await[0]["status"], "applied");
        assert_eq!(code(&send(&app, &parent, json!([reserve(elena, s)])).await), "already_booked");
        let full = send(&app, &parent, json!([reserve(valentine, s)])).await;
        assert_eq!(code(&full), "session_full");
        assert!(full[0]["detail"].as_str().unwrap().contains("liste d'attente"));
        assert_eq!(cell(&app, &parent, valentine, date, s).await["state"], "full");
        let join = |child: &str, session: Uuid| json!([{"id": Uuid::now_v7(), "kind": "join_waitlist", "child_id": child, "session_id": session}]);
        assert_eq!(code(&send(&app, &parent, join(valentine, no_waitlist)).await), "places_available");
        assert_eq!(send(&app, &parent, json!([reserve(elena, no_waitlist)])).await[0]["status"], "applied");
        assert_eq!(code(&send(&app, &parent, join(valentine, no_waitlist)).await), "waitlist_unavailable");
        // Closed: a session whose day has come.
        let past = session(&app, today(&app), 5, rules()).await;
        assert_eq!(code(&send(&app, &parent, json!([reserve(valentine, past)])).await), "booking_closed");
        assert_eq!(cell(&app, &parent, valentine, today(&app), past).await["state"], "closed");
        // A pending dossier cannot book.
        let newcomer = app.new_parent("nouveau@example.fr").await;
        let child = app.post("/api/v1/family/children", Some(&newcomer.access), json!({
            "first_name": "Paul", "last_name": "Curie", "birth_date": "2018-05-04", "school_level": "ce2"})).await;
        let paul = child.body["id"].as_str().unwrap();
        assert_eq!(cell(&app, &newcomer, paul, date, s).await["blocked_by"], "dossier_pending");
        assert_eq!(code(&send(&app, &newcomer, json!([reserve(paul, s)])).await), "dossier_pending");
        // Someone else's reservation cannot be cancelled.
        let elena_booking = cell(&app, &parent, elena, date, s).await["reservation_id"].clone();
        let foreign = send(&app, &newcomer, json!([{"id": Uuid::now_v7(), "kind": "cancel", "reservation_id": elena_booking}])).await;
        assert_eq!(code(&foreign), "not_found");
        assert_eq!(cell(&app, &parent, elena, date, s).await["state"], "reserved");
    }

    async fn late_cancellation_is_applied_and_billed(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let kids = children(&app, &parent).await;
        let date = today(&app) + Duration::days(9);
        let s = session(&app, date, 5, rules()).await;
        let booked = send(&app, &parent, json!([reserve(&kids[1], s)])).await;
        assert_eq!(cell(&app, &parent, &kids[1], date, s).await["state"], "reserved");
        // Seven days before at 23:59 has passed: still booked, no longer cancellable for free.
        app.state.clock.advance(Duration::days(3));
        let parent = app.parent().await;
        assert_eq!(cell(&app, &parent, &kids[1], date, s).await["state"], "reserved_locked");
        let cancel = send(&app, &parent, json!([{"id": Uuid::now_v7(), "kind": "cancel", "reservation_id": booked[0]["reservation_id"]}])).await;
        assert_eq!(cancel[0]["status"], "applied", "a late cancellation is applied, and billed");
        assert_eq!(cancel[0]["billed"], true);
        assert_eq!(cancel[0]["code"], "cancel_deadline_passed");
        assert!(cancel[0]["detail"].as_str().unwrap().starts_with("OUPS"));
        let after = cell(&app, &parent, &kids[1], date, s).await;
        assert_eq!(after["state"], "late");
        assert_eq!(after["places_left"], 5, "the place is freed all the same");
    }

    async fn late_booking_with_surcharge_and_approval(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let kids = children(&app, &parent).await;
        let date = today(&app) + Duration::days(1);
        let mut surcharged = rules();
        surcharged.late_booking = LateBooking::Surcharged;
        let s = session(&app, date, 5, surcharged).await;
        assert_eq!(cell(&app, &parent, &kids[0], date, s).await["state"], "available");
        assert_eq!(send(&app, &parent, json!([reserve(&kids[0], s)])).await[0]["status"], "applied");
        assert_eq!(cell(&app, &parent, &kids[0], date, s).await["state"], "late");

        let mut approval = rules();
        approval.requires_approval = true;
        let later = today(&app) + Duration::days(20);
        let a = session(&app, later, 5, approval).await;
        assert_eq!(send(&app, &parent, json!([reserve(&kids[0], a)])).await[0]["status"], "applied");
        let pending = cell(&app, &parent, &kids[0], later, a).await;
        assert_eq!(pending["state"], "pending_approval");
        assert_eq!(pending["places_left"], 4, "a booking awaiting approval holds its place");
    }

    async fn a_freed_place_goes_to_the_first_on_the_waitlist(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let kids = children(&app, &parent).await;
        let other = app.new_parent("attente@example.fr").await;
        // The other family is validated and has one child.
        let agent = app.agent().await;
        let other_family = app.get("/api/v1/family", &other.access).await.body["id"].as_str().unwrap().to_owned();
        app.call(axum::http::Method::POST, &format!("/api/v1/staff/families/{other_family}/validate"), Some(&agent.access), None).await;
        let paul = app.post("/api/v1/family/children", Some(&other.access), json!({
            "first_name": "Paul", "last_name": "Curie", "birth_date": "2018-05-04", "school_level": "ce2"})).await.body["id"].as_str().unwrap().to_owned();

        let date = today(&app) + Duration::days(10);
        let s = session(&app, date, 1, rules()).await;
        let first = send(&app, &parent, json!([reserve(&kids[0], s)])).await;
        let join = |child: &str| json!([{"id": Uuid::now_v7(), "kind": "join_waitlist", "child_id": child, "session_id": s}]);
        assert_eq!(send(&app, &other, join(&paul)).await[0]["status"], "applied");
        assert_eq!(send(&app, &parent, join(&kids[1])).await[0]["status"], "applied");
        assert_eq!(cell(&app, &other, &paul, date, s).await["state"], "waitlisted");

        // Past the cancellation deadline: Elena's cancellation is late, Paul (first in line) gets the place.
        app.state.clock.advance(Duration::days(4));
        let (parent, other) = (app.parent().await, app.login("attente@example.fr", "un-mot-de-passe-solide").await);
        let cancel = send(&app, &parent, json!([{"id": Uuid::now_v7(), "kind": "cancel", "reservation_id": first[0]["reservation_id"]}])).await;
        assert_eq!(cancel[0]["code"], "cancel_deadline_passed");
        let promoted = cell(&app, &other, &paul, date, s).await;
        assert_eq!(promoted["state"], "reserved", "promoted after the deadline, still cancellable for 24 hours");
        assert_eq!(cell(&app, &parent, &kids[1], date, s).await["state"], "waitlisted");
        let mail = app.wait_for_mail(1).await;
        assert!(mail.contains("To: attente@example.fr") && mail.contains("Paul"), "{mail}");
        // Within the 24 hours, Paul's family cancels without charge; Valentine is next.
        let paul_cancel = send(&app, &other, json!([{"id": Uuid::now_v7(), "kind": "cancel", "reservation_id": promoted["reservation_id"]}])).await;
        assert_eq!(paul_cancel[0]["status"], "applied", "{paul_cancel:?}");
        assert_eq!(cell(&app, &other, &paul, date, s).await["state"], "cancelled");
        assert_eq!(cell(&app, &parent, &kids[1], date, s).await["state"], "reserved");
        // Leaving the waitlist when promoted meanwhile says so.
        let leave = send(&app, &parent, json!([{"id": Uuid::now_v7(), "kind": "leave_waitlist",
            "reservation_id": cell(&app, &parent, &kids[1], date, s).await["reservation_id"]}])).await;
        assert_eq!(leave[0]["code"], "already_booked");
        assert_eq!(app.state.db.bookings().overbooked_sessions().await.unwrap(), 0);
    }

    async fn booking_deadlines_follow_paris_time_across_dst(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let kids = children(&app, &parent).await;
        let mut tuesday = rules();
        tuesday.booking_deadline = TimeRule::PreviousWeekday { weekday: Day::Tuesday, time: NaiveTime::from_hms_opt(23, 59, 0).unwrap(), skip: SkipDays::default() };
        // Wednesday 31 March 2027, in summer time (clocks went forward on 28 March).
        let wednesday = NaiveDate::from_ymd_opt(2027, 3, 31).unwrap();
        let s = session(&app, wednesday, 5, tuesday).await;
        // Tuesday 30 March 2027, 23:58:30 in Paris = 21:58:30 UTC (UTC+2): open.
        app.state.clock.set("2027-03-30T21:58:30Z".parse().unwrap());
        let parent = app.parent().await;
        assert_eq!(send(&app, &parent, json!([reserve(&kids[0], s)])).await[0]["status"], "applied");
        // 21:59:30 UTC is 23:59:30 in Paris: closed, although it would be 22:59 in winter.
        app.state.clock.set("2027-03-30T21:59:30Z".parse().unwrap());
        let late = send(&app, &parent, json!([reserve(&kids[1], s)])).await;
        assert_eq!(late[0]["code"], "booking_closed");
        let c = cell(&app, &parent, &kids[1], wednesday, s).await;
        assert_eq!(c["state"], "closed");
        assert_eq!(c["booking_deadline"], "2027-03-30T21:59:00Z");
    }

    async fn sixty_children_twenty_places(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let family_id: Uuid = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().parse().unwrap();
        let date = today(&app) + Duration::days(20);
        let s = session(&app, date, 20, rules()).await;
        let mut children = Vec::new();
        for i in 0..60 {
            let id = Uuid::now_v7();
            app.state.db.families().insert_child(family_id, id, &famille_model::api::ChildInput {
                first_name: format!("Enfant{i}"), last_name: "TESTBO".into(),
                birth_date: NaiveDate::from_ymd_opt(2018, 1, 1).unwrap(), school_level: famille_model::dossier::SchoolLevel::Ce2, school_year: None, school: None,
            }, app.state.clock.now()).await.unwrap();
            children.push(id);
        }
        let mut tasks = Vec::new();
        for child in children {
            let router = app.router.clone();
            let token = parent.access.clone();
            tasks.push(tokio::spawn(async move {
                use tower::ServiceExt;
                let body = json!({"mutations": [reserve(&child.to_string(), s)]}).to_string();
                let req = axum::http::Request::post("/api/v1/mutations")
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {token}"))
                    .body(axum::body::Body::from(body))
                    .unwrap();
                let res = router.oneshot(req).await.unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                let bytes = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
                let v: Value = serde_json::from_slice(&bytes).unwrap();
                v["results"][0]["code"].as_str().map(str::to_owned)
            }));
        }
        let mut applied = 0;
        let mut full = 0;
        for task in tasks {
            match task.await.unwrap().as_deref() {
                None => applied += 1,
                Some("session_full") => full += 1,
                other => panic!("unexpected answer {other:?}"),
            }
        }
        assert_eq!((applied, full), (20, 40));
        assert_eq!(app.state.db.bookings().overbooked_sessions().await.unwrap(), 0);
    }
}

backend_tests! {
    async fn staff_approve_refuse_cancel_roster_attendance(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let kids = children(&app, &parent).await;
        let (elena, valentine, luc) = (&kids[0], &kids[1], &kids[2]);
        let date = today(&app) + Duration::days(20);
        let mut approval = rules();
        approval.requires_approval = true;
        let s = session(&app, date, 2, approval).await;
        let booked = send(&app, &parent, json!([reserve(elena, s), reserve(valentine, s)])).await;
        let (elena_booking, valentine_booking) = (booked[0]["reservation_id"].as_str().unwrap(), booked[1]["reservation_id"].as_str().unwrap());
        assert_eq!(cell(&app, &parent, elena, date, s).await["state"], "pending_approval");
        // Luc waits: the two places are held by the pending bookings.
        assert_eq!(send(&app, &parent, json!([reserve(luc, s)])).await[0]["code"], "session_full");
        let join = send(&app, &parent, json!([{"id": Uuid::now_v7(), "kind": "join_waitlist", "child_id": luc, "session_id": s}])).await;
        assert_eq!(join[0]["status"], "applied");

        // Parents never reach these routes.
        app.call(axum::http::Method::POST, &format!("/api/v1/staff/reservations/{elena_booking}/approve"), Some(&parent.access), None).await
            .problem(StatusCode::FORBIDDEN, "forbidden");

        let approve = app.call(axum::http::Method::POST, &format!("/api/v1/staff/reservations/{elena_booking}/approve"), Some(&agent.access), None).await;
        assert_eq!(approve.status, StatusCode::NO_CONTENT, "{}", approve.body);
        assert_eq!(cell(&app, &parent, elena, date, s).await["state"], "reserved");
        app.call(axum::http::Method::POST, &format!("/api/v1/staff/reservations/{elena_booking}/approve"), Some(&agent.access), None).await
            .problem(StatusCode::CONFLICT, "conflict");
        // Refusing Valentine frees her place: Luc, first in line, gets it, for the
        // services to approve like any booking of this activity.
        let refuse = app.call(axum::http::Method::POST, &format!("/api/v1/staff/reservations/{valentine_booking}/refuse"), Some(&agent.access), None).await;
        assert_eq!(refuse.status, StatusCode::NO_CONTENT);
        assert_eq!(cell(&app, &parent, valentine, date, s).await["state"], "full");
        assert_eq!(cell(&app, &parent, luc, date, s).await["state"], "pending_approval");

        // The roster: booked children with their health flags, the read audited.
        app.put(&format!("/api/v1/children/{luc}/health"), &parent.access, json!({"allergies": "Arachides", "pai": true})).await;
        let roster = app.get(&format!("/api/v1/staff/sessions/{s}/roster"), &agent.access).await;
        assert_eq!(roster.status, StatusCode::OK, "{}", roster.body);
        let entries = roster.body["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{entries:?}");
        let luc_entry = entries.iter().find(|e| e["child_id"] == luc.as_str()).unwrap();
        assert_eq!((luc_entry["has_allergies"].clone(), luc_entry["pai"].clone()), (json!(true), json!(true)));
        assert!(luc_entry.get("allergies").is_none(), "flags only, not the details");
        let audit = app.get("/api/v1/family/audit", &parent.access).await.body;
        assert!(audit.as_array().unwrap().iter().any(|e| e["action"] == "roster.read" && e["child_id"] == luc.as_str()));

        // Pointage: present for a booked child, "present without booking" for another.
        let mark = |child: &str, code: &str| json!({"child_id": child, "code": code});
        let present = app.put(&format!("/api/v1/staff/sessions/{s}/attendance"), &agent.access, mark(elena, "present")).await;
        assert_eq!(present.status, StatusCode::OK, "{}", present.body);
        app.put(&format!("/api/v1/staff/sessions/{s}/attendance"), &agent.access, mark(valentine, "present")).await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let walk_in = app.put(&format!("/api/v1/staff/sessions/{s}/attendance"), &agent.access, mark(valentine, "present_unbooked")).await;
        let codes: Vec<(String, Value)> = walk_in.body["entries"].as_array().unwrap().iter()
            .map(|e| (e["first_name"].as_str().unwrap().to_owned(), e["attendance"].clone())).collect();
        assert!(codes.contains(&("Elena".to_owned(), json!("present"))), "{codes:?}");
        assert!(codes.contains(&("Valentine".to_owned(), json!("present_unbooked"))), "{codes:?}");

        // Cancelling the session cancels every booking without charge and tells the family.
        let cancelled = app.call(axum::http::Method::POST, &format!("/api/v1/staff/sessions/{s}/cancel"), Some(&agent.access), None).await;
        assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
        assert_eq!(cancelled.body["status"], "cancelled");
        assert_eq!(cell(&app, &parent, elena, date, s).await["state"], "cancelled");
        assert_eq!(cell(&app, &parent, luc, date, s).await["state"], "cancelled");
        app.wait_for_mail_containing("ne vous sera pas factur").await;
        app.call(axum::http::Method::POST, &format!("/api/v1/staff/sessions/{s}/cancel"), Some(&agent.access), None).await
            .problem(StatusCode::CONFLICT, "conflict");
        app.call(axum::http::Method::POST, &format!("/api/v1/staff/sessions/{}/cancel", Uuid::now_v7()), Some(&agent.access), None).await
            .problem(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(app.state.db.bookings().overbooked_sessions().await.unwrap(), 0);
    }
}

backend_tests! {
    async fn calendar_feed_behind_a_revocable_secret(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let kids = children(&app, &parent).await;
        let date = today(&app) + Duration::days(20);
        let s = session(&app, date, 5, rules()).await;
        send(&app, &parent, json!([reserve(&kids[0], s)])).await;
        let created = app.call(axum::http::Method::POST, "/api/v1/family/calendar-feed", Some(&parent.access), None).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let url = created.body["url"].as_str().unwrap().to_owned();
        let path = url.split_once("/api/").map(|(_, p)| format!("/api/{p}")).unwrap();
        let req = axum::http::Request::get(&path).body(axum::body::Body::empty()).unwrap();
        let feed = app.send(req).await;
        assert_eq!(feed.status, StatusCode::OK);
        assert_eq!(feed.headers["content-type"], "text/calendar; charset=utf-8");
        let ics = feed.body.as_str().unwrap().to_owned();
        assert!(ics.contains(&format!("DTSTART;VALUE=DATE:{}", date.format("%Y%m%d"))), "{ics}");
        assert!(ics.contains("SUMMARY:Elena — Atelier test (Journée complète)"), "{ics}");
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1);
        // A new address replaces the old one; revoking ends it.
        let again = app.call(axum::http::Method::POST, "/api/v1/family/calendar-feed", Some(&parent.access), None).await;
        assert_ne!(again.body["url"], created.body["url"]);
        let old = app.send(axum::http::Request::get(&path).body(axum::body::Body::empty()).unwrap()).await;
        old.problem(StatusCode::NOT_FOUND, "not_found");
        let new_path = again.body["url"].as_str().unwrap().split_once("/api/").map(|(_, p)| format!("/api/{p}")).unwrap();
        let revoked = app.call(axum::http::Method::DELETE, "/api/v1/family/calendar-feed", Some(&parent.access), None).await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT);
        let gone = app.send(axum::http::Request::get(&new_path).body(axum::body::Body::empty()).unwrap()).await;
        gone.problem(StatusCode::NOT_FOUND, "not_found");
        let guessed = app.send(axum::http::Request::get("/api/v1/calendar/nimporte-quoi.ics").body(axum::body::Body::empty()).unwrap()).await;
        guessed.problem(StatusCode::NOT_FOUND, "not_found");
    }
}

backend_tests! {
    async fn staff_build_the_catalog_with_age_groups(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let kids = children(&app, &parent).await;
        let (valentine, chloe) = (&kids[1], &kids[3]);
        let mut r = rules();
        r.waitlist = false;
        let activity = app
            .post("/api/v1/staff/activities", Some(&agent.access), json!({
                "category": "mercredis_vacances", "venue": "ALSH Cénac", "name": "Vacances de printemps",
                "eligibility": {"min_age": 3, "max_age": 11}, "rules": r, "age_split": 6,
                "options": ["Journée complète", "Matin avec repas"], "required_documents": []
            }))
            .await;
        assert_eq!(activity.status, StatusCode::CREATED, "{}", activity.body);
        let activity_id = activity.body["id"].as_str().unwrap().to_owned();
        app.post("/api/v1/staff/activities", Some(&parent.access), json!({})).await.problem(StatusCode::FORBIDDEN, "forbidden");
        let bad_category = app
            .post("/api/v1/staff/activities", Some(&agent.access), json!({
                "category": "inconnue", "venue": "ALSH Cénac", "name": "X", "eligibility": {}, "rules": rules(), "options": ["Journée"]
            }))
            .await;
        bad_category.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        // Settings that admit nobody, or close every session for ever, are refused.
        let mut forever = rules();
        forever.booking_deadline = TimeRule::DaysBefore { days: 2_147_483_647, time: NaiveTime::from_hms_opt(12, 0, 0).unwrap(), skip: SkipDays::default() };
        let nonsense = app
            .post("/api/v1/staff/activities", Some(&agent.access), json!({
                "category": "mercredis_vacances", "venue": "ALSH Cénac", "name": "Stage impossible",
                "eligibility": {"min_age": 12, "max_age": 3, "min_level": "cm2", "max_level": "cp"}, "rules": forever, "options": ["Journée"]
            }))
            .await;
        nonsense.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let fields: Vec<&str> = nonsense.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["eligibility.min_age", "eligibility.min_level", "rules.booking_deadline.days"], "{}", nonsense.body);

        // The option ids come with the activity in the services' list (and in the feed).
        let listed = app.get("/api/v1/staff/activities", &agent.access).await.body;
        let ours = listed.as_array().unwrap().iter().find(|a| a["id"] == activity_id.as_str()).unwrap().clone();
        assert_eq!(ours["options"].as_array().unwrap().len(), 2);
        assert_eq!(ours["age_split"], 6);
        let option_id = ours["options"][0]["id"].as_str().unwrap().to_owned();
        // A new category, by an admin only.
        let admin = app.admin().await;
        let category = json!({"code": "stages_ete", "name": "Stages d'été"});
        app.post("/api/v1/staff/categories", Some(&agent.access), category.clone()).await.problem(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(app.post("/api/v1/staff/categories", Some(&admin.access), category.clone()).await.status, StatusCode::CREATED);
        app.post("/api/v1/staff/categories", Some(&admin.access), category).await.problem(StatusCode::CONFLICT, "conflict");
        app.post("/api/v1/staff/categories", Some(&admin.access), json!({"code": "Été!", "name": "x"})).await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let date = today(&app) + Duration::days(20);
        let session = app
            .post(&format!("/api/v1/staff/activities/{activity_id}/sessions"), Some(&agent.access), json!({
                "option_id": option_id, "date": date, "capacity": 10, "capacity_young": 1, "capacity_old": 9
            }))
            .await;
        assert_eq!(session.status, StatusCode::CREATED, "{}", session.body);
        let s: Uuid = session.body["id"].as_str().unwrap().parse().unwrap();
        app.post(&format!("/api/v1/staff/activities/{activity_id}/sessions"), Some(&agent.access), json!({
            "option_id": option_id, "date": date, "capacity": 10})).await.problem(StatusCode::CONFLICT, "conflict");
        app.post(&format!("/api/v1/staff/activities/{}/sessions", Uuid::now_v7()), Some(&agent.access), json!({
            "option_id": option_id, "date": date, "capacity": 10})).await.problem(StatusCode::NOT_FOUND, "not_found");

        // Chloé (4) takes the only under-6 place; the over-6 group still has room.
        assert_eq!(send(&app, &parent, json!([reserve(chloe, s)])).await[0]["status"], "applied");
        let chloe_cell = cell(&app, &parent, chloe, date, s).await;
        assert_eq!(chloe_cell["places_left"], 0);
        let valentine_cell = cell(&app, &parent, valentine, date, s).await;
        assert_eq!(valentine_cell["state"], "available");
        assert_eq!(valentine_cell["places_left"], 9);
        assert_eq!(send(&app, &parent, json!([reserve(valentine, s)])).await[0]["status"], "applied");

        // Capacities cannot drop below the places held; closing stops bookings.
        let update = |capacity: u32, young: u32, status: &str| json!({"capacity": capacity, "capacity_young": young, "capacity_old": 9, "status": status});
        app.put(&format!("/api/v1/staff/sessions/{s}"), &agent.access, json!({"capacity": 1, "capacity_young": 1, "capacity_old": 1, "status": "open"}))
            .await
            .problem(StatusCode::CONFLICT, "conflict");
        app.put(&format!("/api/v1/staff/sessions/{s}"), &agent.access, update(10, 11, "open")).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        app.put(&format!("/api/v1/staff/sessions/{s}"), &agent.access, update(10, 1, "fermee")).await.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        let closed = app.put(&format!("/api/v1/staff/sessions/{s}"), &agent.access, update(10, 1, "closed")).await;
        assert_eq!(closed.status, StatusCode::NO_CONTENT, "{}", closed.body);
        assert_eq!(send(&app, &parent, json!([reserve(&kids[0], s)])).await[0]["code"], "booking_closed");
        assert_eq!(cell(&app, &parent, &kids[0], date, s).await["state"], "closed");
        assert_eq!(app.put(&format!("/api/v1/staff/sessions/{s}"), &agent.access, update(10, 1, "open")).await.status, StatusCode::NO_CONTENT);
        assert_eq!(send(&app, &parent, json!([reserve(&kids[0], s)])).await[0]["status"], "applied");

        // The planning shows it with its counts.
        let planning = app.get(&format!("/api/v1/staff/sessions?from={date}&to={date}"), &agent.access).await;
        let ours = planning.body.as_array().unwrap().iter().find(|x| x["id"] == s.to_string()).unwrap().clone();
        assert_eq!((ours["held"].clone(), ours["capacity_young"].clone(), ours["status"].clone()), (json!(3), json!(1), json!("open")));
        app.get(&format!("/api/v1/staff/sessions?from={date}&to={}", date + Duration::days(200)), &agent.access).await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        app.get("/api/v1/staff/sessions", &parent.access).await.problem(StatusCode::FORBIDDEN, "forbidden");
    }
}

backend_tests! {
    async fn a_large_cancellation_writes_the_feed_in_chunks(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let family_id: Uuid = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().parse().unwrap();
        let date = today(&app) + Duration::days(20);
        let s = session(&app, date, 1100, rules()).await;
        let now = app.state.clock.now();
        let mut mutations = Vec::new();
        for i in 0..1100 {
            let id = Uuid::now_v7();
            app.state.db.families().insert_child(family_id, id, &famille_model::api::ChildInput {
                first_name: format!("Enfant{i}"), last_name: "TESTBO".into(),
                birth_date: NaiveDate::from_ymd_opt(2018, 1, 1).unwrap(), school_level: famille_model::dossier::SchoolLevel::Ce2, school_year: None, school: None,
            }, now).await.unwrap();
            mutations.push(famille_model::api::Mutation::Reserve { id: Uuid::now_v7(), child_id: id, session_id: s });
        }
        let account: Uuid = app.get("/api/v1/account", &parent.access).await.body["id"].as_str().unwrap().parse().unwrap();
        let actor = famille_server::store::queue::Actor { family_id, account_id: account };
        for chunk in mutations.chunks(200) {
            let chunk: Vec<&famille_model::api::Mutation> = chunk.iter().collect();
            let outcomes = famille_server::queue::apply(&app.state, actor, &chunk).await.unwrap();
            assert!(outcomes.iter().all(|o| o.status == famille_model::queue::MutationStatus::Applied));
        }
        let head = app.get("/api/v1/sync?cursor=0&limit=1", &parent.access).await;
        let before: i64 = app.state.db.feed().head().await.unwrap();
        assert!(head.status.is_success());
        let cancelled = app.call(axum::http::Method::POST, &format!("/api/v1/staff/sessions/{s}/cancel"), Some(&agent.access), None).await;
        assert_eq!(cancelled.status, StatusCode::OK);
        assert_eq!(app.state.db.feed().head().await.unwrap(), before + 1101, "one entry per reservation, one for the session");
        // Every entry is there, in order, once.
        let page = app.get(&format!("/api/v1/sync?cursor={before}&limit=2000"), &parent.access).await.body;
        let changes = page["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 1101);
        assert!(changes.iter().filter(|c| c["entity"] == "reservation").all(|c| c["reservation"]["status"] == "cancelled"));
        assert_eq!(page["cursor"], before + 1101);
    }
}

backend_tests! {
    async fn the_red_banner_names_what_is_missing(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let kids = children(&app, &parent).await;
        let alerts = app.get("/api/v1/alerts", &parent.access).await;
        assert_eq!(alerts.status, StatusCode::OK);
        let list = alerts.body.as_array().unwrap();
        assert_eq!(list.len(), 1, "only Luc's carnet de vaccination: {list:?}");
        assert_eq!(list[0]["kind"], "document_required");
        assert_eq!(list[0]["child_id"], kids[2].as_str());
        assert!(list[0]["message"].as_str().unwrap().starts_with("Carnet de vaccination à fournir pour Luc"));
        assert!(list[0]["blocks"].as_array().unwrap().iter().any(|b| b.as_str().unwrap().starts_with("Multisports")));

        // Once a valid carnet is on file, the banner and the block go away together.
        let family_id: Uuid = app.get("/api/v1/family", &parent.access).await.body["id"].as_str().unwrap().parse().unwrap();
        let vaccination = app.state.db.catalog().document_type_id("carnet_vaccination").await.unwrap().unwrap();
        app.state.db.catalog().insert_validated_document(family_id, Some(kids[2].parse().unwrap()), vaccination, None, app.state.clock.now()).await.unwrap();
        assert_eq!(app.get("/api/v1/alerts", &parent.access).await.body, json!([]));
        let cal = app.get(&format!("/api/v1/children/{}/calendar?from={}&to={}", kids[2], today(&app), today(&app) + Duration::days(14)), &parent.access).await;
        assert!(cal.body["days"].as_array().unwrap().iter().flat_map(|d| d["sessions"].as_array().unwrap()).all(|s| s["state"] != "blocked"));

        // A new family: its dossier waits for validation.
        let newcomer = app.new_parent("nouveau@example.fr").await;
        let pending = app.get("/api/v1/alerts", &newcomer.access).await.body;
        assert_eq!(pending[0]["kind"], "dossier_pending");
    }
}
