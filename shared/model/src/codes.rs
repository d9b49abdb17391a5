//! Stable machine codes of the problem+json answers.
//!
//! The phones switch on these strings: once published, a code never changes meaning.

use serde::{Deserialize, Serialize};

macro_rules! error_codes {
    ($($variant:ident => $code:literal),* $(,)?) => {
        /// Every `code` a problem+json answer or a rejected mutation may carry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($variant),*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code),*
                }
            }
        }
    };
}

error_codes! {
    // Input
    InvalidBody => "invalid_body",
    InvalidField => "invalid_field",
    PayloadTooLarge => "payload_too_large",
    UnsupportedMediaType => "unsupported_media_type",
    // Accounts
    InvalidCredentials => "invalid_credentials",
    Unauthenticated => "unauthenticated",
    TokenExpired => "token_expired",
    InvalidToken => "invalid_token",
    RefreshTokenReused => "refresh_token_reused",
    EmailTaken => "email_taken",
    WeakPassword => "weak_password",
    ResetTokenInvalid => "reset_token_invalid",
    AccountDisabled => "account_disabled",
    Forbidden => "forbidden",
    RateLimited => "rate_limited",
    // Dossier and bookings
    NotFound => "not_found",
    DossierPending => "dossier_pending",
    SessionFull => "session_full",
    BookingClosed => "booking_closed",
    CancelDeadlinePassed => "cancel_deadline_passed",
    DocumentRequired => "document_required",
    NotEligible => "not_eligible",
    AlreadyBooked => "already_booked",
    PlacesAvailable => "places_available",
    WaitlistUnavailable => "waitlist_unavailable",
    InvalidMutation => "invalid_mutation",
    TooManyMutations => "too_many_mutations",
    AlreadyValidated => "already_validated",
    Conflict => "conflict",
    // Documents and uploads
    UploadTooLarge => "upload_too_large",
    UnsupportedFileType => "unsupported_file_type",
    FileTypeMismatch => "file_type_mismatch",
    ImageTooLarge => "image_too_large",
    DamagedFile => "damaged_file",
    UnknownDocumentType => "unknown_document_type",
    UploadOffsetMismatch => "upload_offset_mismatch",
    ChecksumMismatch => "checksum_mismatch",
    TusVersionUnsupported => "tus_version_unsupported",
    // Server side
    Internal => "internal",
    Unavailable => "unavailable",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_name_is_the_stable_code() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
        }
    }
}
