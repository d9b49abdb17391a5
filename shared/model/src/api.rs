//! JSON bodies of the public API (`/api/v1`). Field names are part of the contract
//! in ARCHITECTURE.md: add fields, never rename them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::dossier::{
    ConsentAnswer, FamilySituation, FamilyStatus, QuotientSource, Role, SchoolLevel,
};

macro_rules! wire {
    ($($item:item)*) => {
        $(
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
            $item
        )*
    };
}

wire! {
    /// RFC 9457 problem details, with the stable `code` the apps switch on.
    pub struct Problem {
        #[serde(rename = "type")]
        pub type_uri: String,
        pub title: String,
        pub status: u16,
        pub code: String,
        /// French, for the parent.
        pub detail: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub errors: Vec<FieldProblem>,
    }

    pub struct FieldProblem {
        pub field: String,
        pub detail: String,
    }

    // ---- accounts -------------------------------------------------------------

    pub struct RegisterRequest {
        pub email: String,
        pub password: String,
        pub first_name: String,
        pub last_name: String,
    }

    pub struct RegisterResponse {
        pub account_id: Uuid,
        pub family_id: Uuid,
    }

    pub struct LoginRequest {
        pub email: String,
        pub password: String,
        /// "Se souvenir de moi": a long-lived refresh token for the phone.
        #[serde(default)]
        pub remember_me: bool,
    }

    pub struct TokenResponse {
        pub access_token: String,
        pub refresh_token: String,
        /// Always "Bearer".
        pub token_type: String,
        /// Seconds until the access token expires.
        pub expires_in: i64,
        /// Seconds until the refresh token expires if unused.
        pub refresh_expires_in: i64,
    }

    pub struct RefreshRequest {
        pub refresh_token: String,
    }

    pub struct LogoutRequest {
        pub refresh_token: String,
        /// The phone's push token, unregistered with the session.
        #[serde(default)]
        pub device_token: Option<String>,
    }

    pub struct ForgotPasswordRequest {
        pub email: String,
    }

    pub struct ResetPasswordRequest {
        pub token: String,
        pub password: String,
    }

    /// The caller's own account.
    pub struct Account {
        pub id: Uuid,
        pub email: String,
        pub role: Role,
        pub first_name: String,
        pub last_name: String,
        pub family_id: Option<Uuid>,
    }

    /// An agent or admin account created by an admin.
    pub struct NewStaffAccount {
        pub email: String,
        pub first_name: String,
        pub last_name: String,
        pub role: Role,
    }

    // ---- family dossier -------------------------------------------------------

    pub struct Address {
        pub line1: String,
        #[serde(default)]
        pub line2: Option<String>,
        pub postal_code: String,
        pub city: String,
    }

    /// The household card ("Informations du foyer").
    pub struct Household {
        pub address: Address,
        #[serde(default)]
        pub phone: Option<String>,
        #[serde(default)]
        pub situation: Option<FamilySituation>,
        /// "Nombre d'enfants à charge".
        #[serde(default)]
        pub dependent_children: Option<u8>,
    }

    /// Quotient familial: drives the tariff bracket; unknown means maximum tariff.
    pub struct Quotient {
        pub value: u32,
        pub date: NaiveDate,
        pub source: QuotientSource,
    }

    pub struct Family {
        pub id: Uuid,
        /// "Dossier n°".
        pub number: i64,
        pub status: FamilyStatus,
        pub address: Option<Address>,
        pub phone: Option<String>,
        pub situation: Option<FamilySituation>,
        pub dependent_children: Option<u8>,
        pub quotient: Option<Quotient>,
        pub guardians: Vec<Guardian>,
        pub children: Vec<Child>,
    }

    /// A responsable légal ("Parent 1", "Parent 2").
    pub struct Guardian {
        pub id: Uuid,
        pub rank: u8,
        pub first_name: String,
        pub last_name: String,
        pub email: Option<String>,
        pub mobile_phone: Option<String>,
        pub work_phone: Option<String>,
        /// Whether this guardian has a login.
        pub has_account: bool,
    }

    pub struct GuardianInput {
        pub first_name: String,
        pub last_name: String,
        #[serde(default)]
        pub email: Option<String>,
        #[serde(default)]
        pub mobile_phone: Option<String>,
        #[serde(default)]
        pub work_phone: Option<String>,
    }

    pub struct Child {
        pub id: Uuid,
        pub first_name: String,
        pub last_name: String,
        pub birth_date: NaiveDate,
        pub school_level: SchoolLevel,
        pub school: Option<String>,
        /// When a parent ticked "J'ai renseigné mes données".
        pub data_confirmed_at: Option<DateTime<Utc>>,
    }

    pub struct ChildInput {
        pub first_name: String,
        pub last_name: String,
        pub birth_date: NaiveDate,
        pub school_level: SchoolLevel,
        #[serde(default)]
        pub school: Option<String>,
    }

    /// Someone who may pick the child up or be called in an emergency.
    pub struct AuthorizedPerson {
        pub id: Uuid,
        pub first_name: String,
        pub last_name: String,
        /// "Qualité": grand-mère, voisin, nourrice...
        pub quality: String,
        pub phone: Option<String>,
        pub mobile_phone: Option<String>,
        pub email: Option<String>,
        pub may_pick_up: bool,
        pub emergency_contact: bool,
    }

    pub struct AuthorizedPersonInput {
        pub first_name: String,
        pub last_name: String,
        pub quality: String,
        #[serde(default)]
        pub phone: Option<String>,
        #[serde(default)]
        pub mobile_phone: Option<String>,
        #[serde(default)]
        pub email: Option<String>,
        #[serde(default)]
        pub may_pick_up: bool,
        #[serde(default)]
        pub emergency_contact: bool,
    }

    /// One of the consents the organisation asks for.
    pub struct ConsentType {
        pub id: Uuid,
        pub code: String,
        pub label: String,
    }

    pub struct ChildConsent {
        pub consent_type_id: Uuid,
        pub code: String,
        pub label: String,
        pub answer: ConsentAnswer,
    }

    pub struct ChildConsents {
        pub child_id: Uuid,
        pub consents: Vec<ChildConsent>,
    }

    pub struct ConsentAnswerInput {
        pub consent_type_id: Uuid,
        pub answer: ConsentAnswer,
    }

    pub struct ConsentsUpdate {
        pub answers: Vec<ConsentAnswerInput>,
    }

    pub struct Vaccination {
        pub vaccine: String,
        pub date: NaiveDate,
    }

    /// Infos sanitaires: sensitive (RGPD art. 9). Staff reads are audited.
    pub struct HealthRecord {
        pub child_id: Uuid,
        pub allergies: Option<String>,
        pub diet: Option<String>,
        pub doctor_name: Option<String>,
        pub doctor_phone: Option<String>,
        /// Projet d'accueil individualisé.
        pub pai: bool,
        pub pai_details: Option<String>,
        pub notes: Option<String>,
        pub vaccinations: Vec<Vaccination>,
        pub updated_at: Option<DateTime<Utc>>,
    }

    pub struct HealthRecordInput {
        #[serde(default)]
        pub allergies: Option<String>,
        #[serde(default)]
        pub diet: Option<String>,
        #[serde(default)]
        pub doctor_name: Option<String>,
        #[serde(default)]
        pub doctor_phone: Option<String>,
        #[serde(default)]
        pub pai: bool,
        #[serde(default)]
        pub pai_details: Option<String>,
        #[serde(default)]
        pub notes: Option<String>,
        #[serde(default)]
        pub vaccinations: Vec<Vaccination>,
    }

    // ---- staff ------------------------------------------------------------------

    pub struct FamilySummary {
        pub id: Uuid,
        pub number: i64,
        pub status: FamilyStatus,
        /// "TESTBO patricia et TESTBO patrice".
        pub name: String,
        pub city: Option<String>,
        pub children: Vec<String>,
    }

    pub struct AuditEntry {
        pub id: i64,
        pub at: DateTime<Utc>,
        pub actor_account_id: Uuid,
        pub actor_email: String,
        pub action: String,
        pub family_id: Option<Uuid>,
        pub child_id: Option<Uuid>,
    }
}

impl Family {
    /// The household's display name, as the portal shows it.
    pub fn display_name(&self) -> String {
        self.guardians
            .iter()
            .map(|g| format!("{} {}", g.last_name.to_uppercase(), g.first_name))
            .collect::<Vec<_>>()
            .join(" et ")
    }
}

wire! {
    /// Sets or clears (null) a family's quotient familial.
    pub struct QuotientUpdate {
        pub quotient: Option<Quotient>,
    }
}

// ---- bookings -----------------------------------------------------------------------

use crate::booking::{BlockedBy, CellState};

wire! {
    /// One bookable session as a child's calendar shows it.
    pub struct CalendarSession {
        pub session_id: Uuid,
        pub activity_id: Uuid,
        /// "Mercredis ALSH Latresne"
        pub activity: String,
        /// "Journée complète"
        pub option: String,
        pub venue: String,
        pub state: CellState,
        /// Places left for this child (its age group and the whole session, the
        /// smaller); absent once booked or when booking is not possible.
        pub places_left: Option<u32>,
        pub reservation_id: Option<Uuid>,
        pub blocked_by: Option<BlockedBy>,
        /// Labels of the documents still missing when `blocked_by` is `document_required`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub missing_documents: Vec<String>,
        pub booking_deadline: DateTime<Utc>,
        pub cancellation_deadline: DateTime<Utc>,
    }

    pub struct CalendarDay {
        pub date: NaiveDate,
        pub sessions: Vec<CalendarSession>,
    }

    pub struct Calendar {
        pub child_id: Uuid,
        pub from: NaiveDate,
        pub to: NaiveDate,
        pub days: Vec<CalendarDay>,
    }

    /// A parent's intent, recorded on the phone (possibly offline) with its own id
    /// (UUID v7) and applied once by the server.
    #[serde(tag = "kind", rename_all = "snake_case")]
    pub enum Mutation {
        Reserve { id: Uuid, child_id: Uuid, session_id: Uuid },
        Cancel { id: Uuid, reservation_id: Uuid },
        JoinWaitlist { id: Uuid, child_id: Uuid, session_id: Uuid },
        LeaveWaitlist { id: Uuid, reservation_id: Uuid },
    }

    pub struct MutationBatch {
        /// Applied in order; at most 200 per call.
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<Mutation>))]
        pub mutations: Vec<serde_json::Value>,
    }

    #[serde(rename_all = "snake_case")]
    pub enum MutationStatus {
        Applied,
        Rejected,
    }

    pub struct MutationResult {
        pub id: Uuid,
        pub status: MutationStatus,
        /// Why it was rejected (or, for `cancel_deadline_passed`, why the applied
        /// cancellation is billed).
        pub code: Option<String>,
        /// French, for the parent.
        pub detail: Option<String>,
        /// The reservation the mutation created or changed.
        pub reservation_id: Option<Uuid>,
    }

    pub struct MutationResults {
        pub results: Vec<MutationResult>,
    }
}

impl Mutation {
    pub fn id(&self) -> Uuid {
        match self {
            Mutation::Reserve { id, .. }
            | Mutation::Cancel { id, .. }
            | Mutation::JoinWaitlist { id, .. }
            | Mutation::LeaveWaitlist { id, .. } => *id,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Mutation::Reserve { .. } => "reserve",
            Mutation::Cancel { .. } => "cancel",
            Mutation::JoinWaitlist { .. } => "join_waitlist",
            Mutation::LeaveWaitlist { .. } => "leave_waitlist",
        }
    }
}

// ---- sync --------------------------------------------------------------------------

use crate::booking::{BookingRules, Eligibility};

wire! {
    /// A session as the phones keep it: no place counts (they change with every
    /// booking by strangers), only whether each age group is full.
    pub struct SessionSnapshot {
        pub id: Uuid,
        pub activity_id: Uuid,
        pub option_id: Uuid,
        pub option: String,
        pub date: NaiveDate,
        /// "open", "closed" or "cancelled".
        pub status: String,
        pub full_young: bool,
        pub full_old: bool,
    }

    pub struct ActivityOption {
        pub id: Uuid,
        pub name: String,
        pub position: i32,
    }

    pub struct RequiredDocument {
        pub document_type_id: Uuid,
        pub label: String,
        /// "family" or "child".
        pub scope: String,
    }

    pub struct ActivitySnapshot {
        pub id: Uuid,
        pub category: String,
        pub name: String,
        pub venue: String,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub eligibility: Eligibility,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub rules: BookingRules,
        pub age_split: Option<u8>,
        pub options: Vec<ActivityOption>,
        pub required_documents: Vec<RequiredDocument>,
    }

    pub struct ReservationSnapshot {
        pub id: Uuid,
        pub session_id: Uuid,
        pub child_id: Uuid,
        pub status: crate::booking::ReservationStatus,
        pub free_cancel_until: Option<DateTime<Utc>>,
        pub updated_at: DateTime<Utc>,
    }

    /// A document the family sent, as the phone shows it: "Déposé le …", "Validé",
    /// "Refusé : motif".
    pub struct DocumentSnapshot {
        pub id: Uuid,
        pub document_type_id: Uuid,
        /// e.g. "Carnet de vaccination".
        pub document_type: String,
        /// `None` for a family document (justificatif de domicile…).
        pub child_id: Option<Uuid>,
        /// "pending", "validated" or "refused".
        pub status: String,
        pub submitted_at: DateTime<Utc>,
        pub decided_at: Option<DateTime<Utc>>,
        pub valid_until: Option<NaiveDate>,
        /// The services' reason, in French, when refused.
        pub refusal_reason: Option<String>,
    }

    #[serde(rename_all = "snake_case")]
    pub enum EntityKind {
        Activity,
        Session,
        Reservation,
        Document,
    }

    /// One entry of the change feed: the entity's current state, or a tombstone.
    pub struct Change {
        pub seq: i64,
        pub entity: EntityKind,
        pub id: Uuid,
        pub deleted: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub activity: Option<ActivitySnapshot>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub session: Option<SessionSnapshot>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub reservation: Option<ReservationSnapshot>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub document: Option<DocumentSnapshot>,
    }

    pub struct SyncPage {
        pub changes: Vec<Change>,
        /// Give it back as `cursor` next time.
        pub cursor: i64,
        pub has_more: bool,
    }
}

// ---- staff: sessions, rosters, attendance ---------------------------------------------

use crate::booking::{AttendanceCode, ReservationStatus};

wire! {
    /// One child on a session's list.
    pub struct RosterEntry {
        pub reservation_id: Option<Uuid>,
        pub child_id: Uuid,
        pub family_id: Uuid,
        pub first_name: String,
        pub last_name: String,
        pub birth_date: NaiveDate,
        pub status: Option<ReservationStatus>,
        /// 1 for the first in line, when waitlisted.
        pub waitlist_position: Option<u32>,
        /// Flags only: the details stay in the health record (audited reads).
        pub has_allergies: bool,
        pub pai: bool,
        pub attendance: Option<AttendanceCode>,
    }

    pub struct Roster {
        pub session_id: Uuid,
        pub activity: String,
        pub option: String,
        pub date: NaiveDate,
        pub status: String,
        pub capacity: u32,
        pub held: u32,
        pub entries: Vec<RosterEntry>,
    }

    pub struct AttendanceInput {
        pub child_id: Uuid,
        pub code: AttendanceCode,
    }
}

wire! {
    /// The family's secret calendar address (shown once; asking again replaces it).
    pub struct CalendarFeed {
        pub url: String,
    }
}

wire! {
    /// A new activity, as the services describe it.
    pub struct ActivityInput {
        /// One of the organisation's categories, by code (e.g. `mercredis_vacances`).
        pub category: String,
        /// The venue's name; created if new.
        pub venue: String,
        pub name: String,
        #[serde(default)]
        pub description: Option<String>,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub eligibility: Eligibility,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        pub rules: BookingRules,
        /// Separate capacities under and from this age.
        #[serde(default)]
        pub age_split: Option<u8>,
        /// "Journée complète", "Matin avec repas"...
        pub options: Vec<String>,
        /// Document types (by code) required before booking.
        #[serde(default)]
        pub required_documents: Vec<String>,
    }

    pub struct SessionInput {
        pub option_id: Uuid,
        pub date: NaiveDate,
        pub capacity: u32,
        #[serde(default)]
        pub capacity_young: Option<u32>,
        #[serde(default)]
        pub capacity_old: Option<u32>,
    }

    /// Capacities and opening of an existing session.
    pub struct SessionUpdate {
        pub capacity: u32,
        #[serde(default)]
        pub capacity_young: Option<u32>,
        #[serde(default)]
        pub capacity_old: Option<u32>,
        /// `open` or `closed` (cancelling has its own action).
        pub status: String,
    }

    /// The id of what was created.
    pub struct Created {
        pub id: Uuid,
    }
}

wire! {
    /// A session in the services' planning, with its counts.
    pub struct StaffSession {
        pub id: Uuid,
        pub activity_id: Uuid,
        pub activity: String,
        pub option: String,
        pub date: NaiveDate,
        pub status: String,
        pub capacity: u32,
        pub capacity_young: Option<u32>,
        pub capacity_old: Option<u32>,
        /// Places held (reserved, late, awaiting approval).
        pub held: u32,
        pub waitlisted: u32,
        pub pending_approval: u32,
    }
}

wire! {
    /// An activity category of the organisation ("Mercredis et Vacances"...).
    pub struct CategoryInput {
        /// Stable code, lowercase letters, digits and `_`.
        pub code: String,
        pub name: String,
    }
}

wire! {
    /// A red-banner alert: something the family must do.
    pub struct Alert {
        /// Stable while the alert lasts (`document_required:<child>:<type>`), so the
        /// phone can tell a new alert from one it already showed.
        pub id: String,
        /// `document_required` or `dossier_pending`.
        pub kind: String,
        pub child_id: Option<Uuid>,
        pub document_type_id: Option<Uuid>,
        /// French, for the banner.
        pub message: String,
        /// The activities it blocks.
        pub blocks: Vec<String>,
    }
}

wire! {
    /// A phone's push registration (FCM token; iOS through APNs via FCM).
    pub struct DeviceRegistration {
        /// `android` or `ios`.
        pub platform: String,
        pub token: String,
        /// e.g. `fr-FR`.
        #[serde(default)]
        pub locale: Option<String>,
    }

    pub struct DeviceRemoval {
        pub token: String,
    }
}

wire! {
    /// An account's notification choices. By default every kind is pushed, and an
    /// account without a phone gets the notice by mail.
    pub struct NotificationSettings {
        /// Kinds the account does not want.
        #[serde(default)]
        pub muted: Vec<crate::push::PushKind>,
        pub mail_fallback: bool,
    }
}

wire! {
    /// A document waiting for (or past) the services' decision, as agents list it.
    pub struct StaffDocument {
        pub id: Uuid,
        pub family_id: Uuid,
        pub family_number: i64,
        /// The guardians' last names, as agents search them.
        pub family_name: String,
        pub child_id: Option<Uuid>,
        pub child_first_name: Option<String>,
        pub document_type_id: Uuid,
        pub document_type: String,
        pub status: String,
        pub submitted_at: DateTime<Utc>,
        pub valid_until: Option<NaiveDate>,
        pub refusal_reason: Option<String>,
    }

    /// Validation: the end of validity when the document has one (an insurance
    /// certificate for the school year); none for a document valid until replaced.
    pub struct DocumentValidation {
        #[serde(default)]
        pub valid_until: Option<NaiveDate>,
    }

    /// Refusal: the reason the parent reads.
    pub struct DocumentRefusal {
        pub reason: String,
    }
}

wire! {
    /// A kind of document the services ask for.
    pub struct DocumentType {
        pub id: Uuid,
        /// Stable code, e.g. `carnet_vaccination`.
        pub code: String,
        pub label: String,
        /// `family` or `child`.
        pub scope: String,
        pub validity: crate::dossier::DocumentValidity,
    }

    pub struct DocumentTypeInput {
        pub code: String,
        pub label: String,
        /// `family` or `child`.
        pub scope: String,
        pub validity: crate::dossier::DocumentValidity,
    }
}
