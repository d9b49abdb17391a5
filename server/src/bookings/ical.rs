//! The family's bookings as an iCalendar feed (RFC 5545) behind a secret, revocable
//! address, so parents see them in their phone's own calendar. Children's first
//! names, activities and places only: nothing sensitive.

use chrono::{DateTime, Duration, Utc};
use famille_model::booking::ReservationStatus;
use famille_model::calendar::paris_date;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::bookings::FeedEvent;

/// Escapes TEXT values (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Folds a content line at 75 octets, never inside a UTF-8 character (§3.1).
fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
    out
}

/// Creates or replaces the family's secret feed address.
pub async fn new_calendar_feed(state: &AppState, family_id: uuid::Uuid) -> AppResult<String> {
    let token = crate::accounts::tokens::random_token();
    let hash = crate::accounts::tokens::token_hash(&token);
    state
        .db
        .bookings()
        .set_calendar_feed(family_id, &hash, state.clock.now())
        .await?;
    Ok(format!(
        "{}/api/v1/calendar/{token}.ics",
        state.config.public_url
    ))
}

/// The feed's content, from a month ago to a year ahead.
pub async fn calendar_feed(state: &AppState, file: &str) -> AppResult<String> {
    let token = token_from_file(file).ok_or(AppError::NotFound)?;
    let family_id = state
        .db
        .bookings()
        .calendar_feed_family(&crate::accounts::tokens::token_hash(token))
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.clock.now();
    let today = paris_date(now);
    let events = state
        .db
        .bookings()
        .feed_events(
            family_id,
            today - Duration::days(31),
            today + Duration::days(366),
        )
        .await?;
    Ok(render(&state.config.organisation_name, &events, now))
}

pub fn render(organisation: &str, events: &[FeedEvent], now: DateTime<Utc>) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Portail Famille//Reservations//FR".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        format!(
            "X-WR-CALNAME:{}",
            escape(&format!("Réservations — {organisation}"))
        ),
        "X-WR-TIMEZONE:Europe/Paris".to_owned(),
    ];
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    for e in events {
        let pending = e.status == ReservationStatus::PendingApproval;
        lines.extend([
            "BEGIN:VEVENT".to_owned(),
            format!("UID:{}@portail-famille", e.reservation_id),
            format!("DTSTAMP:{stamp}"),
            format!("LAST-MODIFIED:{}", e.updated_at.format("%Y%m%dT%H%M%SZ")),
            format!("DTSTART;VALUE=DATE:{}", e.date.format("%Y%m%d")),
            format!(
                "DTEND;VALUE=DATE:{}",
                e.date.succ_opt().unwrap_or(e.date).format("%Y%m%d")
            ),
            format!(
                "SUMMARY:{}",
                escape(&format!(
                    "{} — {} ({}){}",
                    e.child,
                    e.activity,
                    e.option,
                    if pending {
                        " — en attente de validation"
                    } else {
                        ""
                    }
                ))
            ),
            format!("LOCATION:{}", escape(&e.venue)),
            format!("STATUS:{}", if pending { "TENTATIVE" } else { "CONFIRMED" }),
            "TRANSP:TRANSPARENT".to_owned(),
            "END:VEVENT".to_owned(),
        ]);
    }
    lines.push("END:VCALENDAR".to_owned());
    lines.iter().map(|l| fold(l)).collect()
}

/// Feed addresses look like `/api/v1/calendar/<token>.ics`.
pub fn token_from_file(file: &str) -> Option<&str> {
    file.strip_suffix(".ics")
        .filter(|t| !t.is_empty() && t.len() <= 64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use uuid::Uuid;

    #[test]
    fn escapes_and_folds() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        let long = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&long);
        for line in folded.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets", line.len());
        }
        assert_eq!(folded.replace("\r\n ", "").trim_end(), long);
    }

    #[test]
    fn one_event_per_booked_day() {
        let event = FeedEvent {
            reservation_id: Uuid::nil(),
            status: ReservationStatus::Reserved,
            date: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
            child: "Elena".into(),
            activity: "Mercredis ALSH Latresne".into(),
            option: "Journée complète".into(),
            venue: "ALSH Latresne".into(),
            updated_at: Utc::now(),
        };
        let ics = render("CdC", &[event], Utc::now());
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.contains("DTSTART;VALUE=DATE:20261202\r\n"));
        assert!(ics.contains("DTEND;VALUE=DATE:20261203\r\n"));
        assert!(ics.contains("STATUS:CONFIRMED"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
    }
}
