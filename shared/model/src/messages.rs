//! The messaging between a family and the services (the guide's MESSAGES tab: "une
//! messagerie personnelle pour échanger avec les différents services … vous gardez
//! ainsi tous les historiques"): threads with one service, messages from either
//! side, read state per side. The rules here are used by the server (authoritative)
//! and by the phone (to check a message written offline and to show "lu").

use chrono::{DateTime, Utc};

use crate::validate::{self, Checked, FieldError, Fields, Form};

vocabulary! {
    /// Who wrote a message: the family (a parent) or the services (an agent).
    Side {
        Family => "family", "Famille";
        Services => "services", "Services";
    }
}

vocabulary! {
    /// Where a thread stands. A closed thread is reopened by a new message from
    /// either side (the history stays in one place).
    ThreadStatus {
        Open => "open", "Ouverte";
        Closed => "closed", "Close";
    }
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Family => Side::Services,
            Side::Services => Side::Family,
        }
    }
}

/// A subject: one line, as long as a mail client shows.
pub const SUBJECT_MAX_CHARS: usize = 120;
/// A message: a long letter, not a novel.
pub const BODY_MAX_CHARS: usize = 5_000;
/// Attachments per message (photos of a document, a PDF or two).
pub const MAX_ATTACHMENTS: usize = 5;

/// A message as checked: its body and (for a new thread) its subject, in NFC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedMessage {
    pub subject: Option<String>,
    pub body: String,
}

/// Checks a message before it is queued (phone) or stored (server): a subject when
/// it opens a thread (one line, at most [`SUBJECT_MAX_CHARS`]), a body of at most
/// [`BODY_MAX_CHARS`] characters (line breaks kept; it may be empty when files go
/// with it: a photo alone is a message), at most [`MAX_ATTACHMENTS`] attachments,
/// none named twice. Errors name the fields `subject`, `body`, `attachments`.
pub fn message(
    subject: Option<&str>,
    opens_thread: bool,
    body: &str,
    attachments: &[impl PartialEq],
) -> Form<CheckedMessage> {
    let mut fields = Fields::default();
    let subject = if opens_thread {
        fields.take(self::subject(subject.unwrap_or_default()))
    } else {
        None
    };
    let body = if attachments.is_empty() {
        fields.take(validate::text("body", body, BODY_MAX_CHARS))
    } else {
        fields
            .take(validate::optional_text("body", Some(body), BODY_MAX_CHARS))
            .map(Option::unwrap_or_default)
    };
    if attachments.len() > MAX_ATTACHMENTS {
        fields.push(FieldError::new(
            "attachments",
            format!("{MAX_ATTACHMENTS} pièces jointes au plus par message"),
        ));
    }
    if attachments
        .iter()
        .enumerate()
        .any(|(i, a)| attachments[..i].contains(a))
    {
        fields.push(FieldError::new(
            "attachments",
            "la même pièce jointe est citée deux fois",
        ));
    }
    fields.finish(|| CheckedMessage {
        subject,
        body: body.unwrap_or_default(),
    })
}

fn subject(raw: &str) -> Checked<String> {
    let value = validate::text("subject", raw, SUBJECT_MAX_CHARS)?;
    if value.contains(['\n', '\t']) {
        return Err(FieldError::new("subject", "l'objet tient sur une ligne"));
    }
    Ok(value)
}

/// Whether the other side has read a message: it was written at or before the last
/// time the other side opened the thread.
pub fn read_by_other(written_at: DateTime<Utc>, other_read_up_to: Option<DateTime<Utc>>) -> bool {
    other_read_up_to.is_some_and(|read| written_at <= read)
}

/// The read mark after the reader saw the thread up to `up_to`: never past the
/// thread's newest message (`last_message_at`: a phone's clock ahead, or a message
/// being written, is not read), and never back (a phone that read offline and
/// syncs late does not unread newer messages).
pub fn read_mark(
    current: Option<DateTime<Utc>>,
    up_to: DateTime<Utc>,
    last_message_at: DateTime<Utc>,
) -> DateTime<Utc> {
    let up_to = up_to.min(last_message_at);
    current.map_or(up_to, |c| c.max(up_to))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap()
    }

    #[test]
    fn a_new_thread_needs_a_subject_on_one_line() {
        let none: [u8; 0] = [];
        let err = message(None, true, "Bonjour", &none).unwrap_err();
        assert_eq!(err[0].field, "subject");
        let err = message(Some("Ligne\nautre"), true, "Bonjour", &none).unwrap_err();
        assert_eq!(err[0].field, "subject");
        let ok = message(Some("  Absence de Luc "), true, " Bonjour\nMerci ", &none).unwrap();
        assert_eq!(ok.subject.as_deref(), Some("Absence de Luc"));
        assert_eq!(ok.body, "Bonjour\nMerci");
        // An answer ignores any subject.
        let answer = message(Some("x"), false, "Oui", &none).unwrap();
        assert_eq!(answer.subject, None);
    }

    #[test]
    fn body_is_required_bounded_and_normalised() {
        let none: [u8; 0] = [];
        assert_eq!(
            message(None, false, "  ", &none).unwrap_err()[0].field,
            "body"
        );
        let long = "a".repeat(BODY_MAX_CHARS + 1);
        assert_eq!(
            message(None, false, &long, &none).unwrap_err()[0].field,
            "body"
        );
        // NFD typed on a Mac arrives as NFC.
        let ok = message(None, false, "e\u{301}te\u{301}", &none).unwrap();
        assert_eq!(ok.body, "été");
        assert!(message(None, false, "a\u{202E}b", &none).is_err());
        // A photo alone is a message.
        assert_eq!(message(None, false, "  ", &[1]).unwrap().body, "");
    }

    #[test]
    fn attachments_are_bounded_and_distinct() {
        let err = message(None, false, "Voici", &[1, 2, 3, 4, 5, 6]).unwrap_err();
        assert_eq!(err[0].field, "attachments");
        let err = message(None, false, "Voici", &[1, 1]).unwrap_err();
        assert_eq!(err[0].field, "attachments");
        assert!(message(None, false, "Voici", &[1, 2]).is_ok());
    }

    #[test]
    fn read_state_follows_the_other_sides_mark() {
        assert!(!read_by_other(at(9), None));
        assert!(read_by_other(at(9), Some(at(9))));
        assert!(!read_by_other(at(10), Some(at(9))));
        assert_eq!(read_mark(Some(at(10)), at(8), at(12)), at(10), "never back");
        assert_eq!(read_mark(None, at(8), at(12)), at(8));
        assert_eq!(
            read_mark(None, at(15), at(12)),
            at(12),
            "never past the newest"
        );
    }
}
