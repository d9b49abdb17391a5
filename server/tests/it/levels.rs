//! What is booked stays shown whatever changes afterwards, flagged when the child no
//! longer fits; and each session is judged on the child's level in its own school
//! year (promotion on 1 September, unless a repeated year was declared).

use axum::http::StatusCode;
use chrono::{Duration, NaiveDate};
use famille_model::booking::Eligibility;
use famille_model::dossier::{SchoolLevel, SchoolYear};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::bookings::{reserve, rules, send, session_for, today};
use crate::support::{TestApp, Tokens, backend_tests, execute_sql};

fn levels(min: SchoolLevel, max: SchoolLevel) -> Eligibility {
    Eligibility {
        min_level: Some(min),
        max_level: Some(max),
        ..Default::default()
    }
}

/// Elena, the demo's CM2 pupil, as the family reads her.
async fn elena(app: &TestApp, parent: &Tokens) -> Value {
    let family = app.get("/api/v1/family", &parent.access).await.body;
    family["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["first_name"] == "Elena")
        .unwrap()
        .clone()
}

/// Rewrites Elena's card with another level (for `school_year`, or this one).
async fn set_level(app: &TestApp, parent: &Tokens, level: &str, school_year: Option<i32>) -> Value {
    let child = elena(app, parent).await;
    let id = child["id"].as_str().unwrap();
    let reply = app.put(&format!("/api/v1/children/{id}"), &parent.access, json!({
        "first_name": child["first_name"], "last_name": child["last_name"], "birth_date": child["birth_date"],
        "school_level": level, "school_year": school_year, "school": child["school"],
    })).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

/// The session's cell in the child's calendar, if the day shows it.
async fn shown(
    app: &TestApp,
    parent: &Tokens,
    child: &str,
    date: NaiveDate,
    session: Uuid,
) -> Option<Value> {
    let cal = app
        .get(
            &format!("/api/v1/children/{child}/calendar?from={date}&to={date}"),
            &parent.access,
        )
        .await;
    assert_eq!(cal.status, StatusCode::OK, "{}", cal.body);
    cal.body["days"][0]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["session_id"] == session.to_string())
        .cloned()
}

async fn roster_entry(app: &TestApp, agent: &Tokens, session: Uuid, child: &str) -> Value {
    let roster = app
        .get(
            &format!("/api/v1/staff/sessions/{session}/roster"),
            &agent.access,
        )
        .await;
    assert_eq!(roster.status, StatusCode::OK, "{}", roster.body);
    roster.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["child_id"] == child)
        .cloned()
        .expect("on the list")
}

backend_tests! {
    async fn a_booked_day_stays_shown_and_cancellable_when_the_child_no_longer_fits(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let agent = app.agent().await;
        let child = elena(&app, &parent).await;
        let id = child["id"].as_str().unwrap().to_owned();
        let date = today(&app) + Duration::days(12);
        let primary = session_for(&app, date, 10, rules(), &levels(SchoolLevel::Cp, SchoolLevel::Cm2)).await;
        let other = session_for(&app, date + Duration::days(1), 10, rules(), &levels(SchoolLevel::Cp, SchoolLevel::Cm2)).await;
        let booked = send(&app, &parent, json!([reserve(&id, primary)])).await;
        assert_eq!(booked[0]["status"], "applied", "{booked:?}");
        let cell = shown(&app, &parent, &id, date, primary).await.expect("booked");
        assert_eq!(cell["no_longer_eligible"], false);

        // The parent corrects her level: 6e. The day stays, flagged, for her and the services.
        set_level(&app, &parent, "6e", None).await;
        let cell = shown(&app, &parent, &id, date, primary).await.expect("a booked day never disappears");
        assert_eq!((cell["state"].as_str(), cell["no_longer_eligible"].as_bool()), (Some("reserved"), Some(true)), "{cell}");
        assert_eq!(roster_entry(&app, &agent, primary, &id).await["no_longer_eligible"], true);
        // Nothing new can be booked on the same rules; the unbooked day is not shown.
        assert!(shown(&app, &parent, &id, date + Duration::days(1), other).await.is_none());
        let refused = send(&app, &parent, json!([reserve(&id, other)])).await;
        assert_eq!(refused[0]["code"], "not_eligible", "{refused:?}");
        // And what is booked can be cancelled.
        let cancel = send(&app, &parent, json!([{"id": Uuid::now_v7(), "kind": "cancel", "reservation_id": cell["reservation_id"]}])).await;
        assert_eq!(cancel[0]["status"], "applied", "{cancel:?}");
        assert!(shown(&app, &parent, &id, date, primary).await.is_none(), "cancelled and ineligible: gone");

        // The services narrow the activity's rules after Valentine (CE2) booked: flagged too.
        let valentine = app.get("/api/v1/family", &parent.access).await.body["children"].as_array().unwrap()
            .iter().find(|c| c["first_name"] == "Valentine").unwrap()["id"].as_str().unwrap().to_owned();
        assert_eq!(send(&app, &parent, json!([reserve(&valentine, other)])).await[0]["status"], "applied");
        execute_sql(&app, "UPDATE activities SET eligibility = '{\"min_level\":\"cm1\",\"max_level\":\"cm2\"}' \
            WHERE id = (SELECT activity_id FROM sessions WHERE id = $1)", &[other]).await;
        let cell = shown(&app, &parent, &valentine, date + Duration::days(1), other).await.expect("still shown");
        assert_eq!(cell["no_longer_eligible"], true, "{cell}");
        assert_eq!(roster_entry(&app, &agent, other, &valentine).await["no_longer_eligible"], true);
    }

    async fn each_session_is_judged_on_the_level_of_its_school_year(app) {
        let app = app.with_demo().await;
        let parent = app.parent().await;
        let child = elena(&app, &parent).await;
        let id = child["id"].as_str().unwrap().to_owned();
        let this_year = SchoolYear::of(today(&app)).0;
        assert_eq!(child["school_level"], "cm2");
        assert_eq!(child["school_levels"], json!([{"school_year": this_year, "level": "cm2"}]));

        let september = NaiveDate::from_ymd_opt(this_year + 1, 9, 15).unwrap();
        let primary = session_for(&app, september, 10, rules(), &levels(SchoolLevel::Cp, SchoolLevel::Cm2)).await;
        let college = session_for(&app, september, 10, rules(), &levels(SchoolLevel::Sixieme, SchoolLevel::Troisieme)).await;
        // Next September she is in 6e: the collège's day, not the primary school's.
        assert!(shown(&app, &parent, &id, september, primary).await.is_none());
        assert!(shown(&app, &parent, &id, september, college).await.is_some());
        assert_eq!(send(&app, &parent, json!([reserve(&id, primary)])).await[0]["code"], "not_eligible");

        // She will repeat her CM2: said in advance for next year.
        let card = set_level(&app, &parent, "cm2", Some(this_year + 1)).await;
        assert_eq!(card["school_level"], "cm2", "this year's level is unchanged");
        assert_eq!(card["school_levels"], json!([
            {"school_year": this_year, "level": "cm2"}, {"school_year": this_year + 1, "level": "cm2"}]));
        assert!(shown(&app, &parent, &id, september, primary).await.is_some());
        assert!(shown(&app, &parent, &id, september, college).await.is_none());
        assert_eq!(send(&app, &parent, json!([reserve(&id, primary)])).await[0]["status"], "applied");

        // Only this school year, the one before or the next can be declared.
        let child = elena(&app, &parent).await;
        let far = app.put(&format!("/api/v1/children/{id}"), &parent.access, json!({
            "first_name": child["first_name"], "last_name": child["last_name"], "birth_date": child["birth_date"],
            "school_level": "cm2", "school_year": this_year + 3,
        })).await;
        far.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(far.body["errors"][0]["field"], "school_year");
    }
}
