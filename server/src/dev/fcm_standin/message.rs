//! The checks FCM HTTP v1 makes of a message before it accepts it (field names, the
//! `data` map of strings and its reserved keys, the Android and APNs blocks, the
//! 4 KiB payload), each refusal answered as Google answers it.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use super::{fcm_error, invalid};

const RESERVED_DATA_KEYS: [&str; 3] = ["from", "notification", "message_type"];
const MAX_PAYLOAD: usize = 4096;

/// Why a message is refused, before it becomes Google's error answer.
pub(super) enum Rejection {
    Field(String, String),
    TooBig,
}

impl Rejection {
    fn field(field: &str, description: &str) -> Rejection {
        Rejection::Field(field.to_owned(), description.to_owned())
    }

    pub(super) fn into_response(self) -> Response {
        match self {
            Rejection::Field(field, description) => invalid(&field, &description),
            Rejection::TooBig => fcm_error(
                StatusCode::BAD_REQUEST,
                "INVALID_ARGUMENT",
                "MESSAGE_TOO_BIG",
                "Message is too big",
            ),
        }
    }
}

/// Checks a message as FCM does (the parts we use, strictly).
pub(super) fn check_message(message: &Value) -> Result<(), Rejection> {
    let Some(m) = message.as_object() else {
        return Err(Rejection::field("message", "message must be an object"));
    };
    for key in m.keys() {
        if ![
            "token",
            "topic",
            "condition",
            "notification",
            "data",
            "android",
            "apns",
            "webpush",
            "fcm_options",
            "name",
        ]
        .contains(&key.as_str())
        {
            return Err(Rejection::field(&format!("message.{key}"), "Unknown name"));
        }
    }
    let targets = ["token", "topic", "condition"]
        .iter()
        .filter(|k| m.contains_key(**k))
        .count();
    if targets != 1 {
        return Err(Rejection::field(
            "message",
            "exactly one of token, topic or condition",
        ));
    }
    if let Some(token) = m.get("token")
        && token
            .as_str()
            .is_none_or(|t| t.is_empty() || t.len() > 4096)
    {
        return Err(Rejection::field(
            "message.token",
            "The registration token is not a valid FCM registration token",
        ));
    }
    if let Some(data) = m.get("data") {
        let Some(data) = data.as_object() else {
            return Err(Rejection::field(
                "message.data",
                "data must be a map of strings",
            ));
        };
        for (k, v) in data {
            if !v.is_string() {
                return Err(Rejection::field(
                    &format!("message.data[{k}]"),
                    "Invalid value: data values must be strings",
                ));
            }
            if RESERVED_DATA_KEYS.contains(&k.as_str())
                || k.starts_with("google.")
                || k.starts_with("gcm.")
            {
                return Err(Rejection::field(
                    &format!("message.data[{k}]"),
                    "Invalid data key: reserved",
                ));
            }
        }
    }
    if let Some(n) = m.get("notification") {
        let Some(n) = n.as_object() else {
            return Err(Rejection::field(
                "message.notification",
                "must be an object",
            ));
        };
        for (k, v) in n {
            if !["title", "body", "image"].contains(&k.as_str()) {
                return Err(Rejection::field(
                    &format!("message.notification.{k}"),
                    "Unknown name",
                ));
            }
            if !v.is_string() {
                return Err(Rejection::field(
                    &format!("message.notification.{k}"),
                    "must be a string",
                ));
            }
        }
    }
    if let Some(a) = m.get("android") {
        let Some(a) = a.as_object() else {
            return Err(Rejection::field("message.android", "must be an object"));
        };
        for (k, v) in a {
            let ok = match k.as_str() {
                "collapse_key" | "restricted_package_name" => v.is_string(),
                "priority" => v.as_str().is_some_and(|p| {
                    p.eq_ignore_ascii_case("normal") || p.eq_ignore_ascii_case("high")
                }),
                "ttl" => v.as_str().is_some_and(|t| {
                    t.strip_suffix('s').is_some_and(|n| {
                        !n.is_empty()
                            && n.parse::<f64>()
                                .is_ok_and(|s| (0.0..=2_419_200.0).contains(&s))
                    })
                }),
                "notification" => v.as_object().is_some_and(|n| {
                    n.values()
                        .all(|x| x.is_string() || x.is_boolean() || x.is_number())
                }),
                "data" => v
                    .as_object()
                    .is_some_and(|d| d.values().all(Value::is_string)),
                "direct_boot_ok" => v.is_boolean(),
                _ => false,
            };
            if !ok {
                return Err(Rejection::field(
                    &format!("message.android.{k}"),
                    "Invalid value or unknown name",
                ));
            }
        }
    }
    if let Some(apns) = m.get("apns") {
        let headers = apns.get("headers").and_then(Value::as_object);
        if let Some(headers) = headers {
            for (k, v) in headers {
                let Some(v) = v.as_str() else {
                    return Err(Rejection::field(
                        &format!("message.apns.headers[{k}]"),
                        "header values must be strings",
                    ));
                };
                let ok = match k.as_str() {
                    "apns-priority" => ["1", "5", "10"].contains(&v),
                    "apns-push-type" => [
                        "alert",
                        "background",
                        "voip",
                        "complication",
                        "fileprovider",
                        "mdm",
                        "liveactivity",
                    ]
                    .contains(&v),
                    "apns-collapse-id" => !v.is_empty() && v.len() <= 64,
                    "apns-expiration" => v.parse::<u64>().is_ok(),
                    _ => true,
                };
                if !ok {
                    return Err(Rejection::field(
                        &format!("message.apns.headers[{k}]"),
                        "Invalid APNs header",
                    ));
                }
            }
        }
        if apns.get("payload").is_some_and(|p| !p["aps"].is_object()) {
            return Err(Rejection::field(
                "message.apns.payload",
                "payload must carry an aps dictionary",
            ));
        }
    }
    if serde_json::to_vec(message)
        .map(|b| b.len())
        .unwrap_or(usize::MAX)
        > MAX_PAYLOAD
    {
        return Err(Rejection::TooBig);
    }
    Ok(())
}
