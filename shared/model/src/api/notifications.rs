//! The red banner, phones' push registrations and an account's notification choices.

use uuid::Uuid;

vocabulary! {
    /// What a red-banner alert asks of the family.
    AlertKind {
        DocumentRequired => "document_required", "Document obligatoire à fournir";
        DossierPending => "dossier_pending", "Dossier en attente de validation";
        QuotientExpiring => "quotient_expiring", "Quotient familial à mettre à jour";
    }
}

vocabulary! {
    /// A phone's system.
    Platform {
        Android => "android", "Android";
        Ios => "ios", "iOS";
    }
}

wire! {
    /// A red-banner alert: something the family must do.
    pub struct Alert {
        /// Stable while the alert lasts (`document_required:<child>:<type>`), so the
        /// phone can tell a new alert from one it already showed.
        pub id: String,
        pub kind: AlertKind,
        pub child_id: Option<Uuid>,
        pub document_type_id: Option<Uuid>,
        /// French, for the banner.
        pub message: String,
        /// The activities it blocks.
        pub blocks: Vec<String>,
    }

    /// A phone's push registration (FCM token; iOS through APNs via FCM).
    pub struct DeviceRegistration {
        pub platform: Platform,
        pub token: String,
        /// e.g. `fr-FR`.
        #[serde(default)]
        pub locale: Option<String>,
    }

    pub struct DeviceRemoval {
        pub token: String,
    }

    /// An account's notification choices. By default every kind is pushed, and an
    /// account without a phone gets the notice by mail.
    pub struct NotificationSettings {
        /// Kinds the account does not want.
        #[serde(default)]
        pub muted: Vec<crate::push::PushKind>,
        pub mail_fallback: bool,
    }
}
