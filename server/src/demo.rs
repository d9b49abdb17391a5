//! The demo data of the contract: the organisation of the guide, the TESTBO family
//! and one agent. Loaded only into an empty database.

use chrono::{Datelike, Duration, NaiveDate};
use famille_model::api::{
    Address, AuthorizedPersonInput, ChildInput, GuardianInput, Household, NewStaffAccount, Quotient,
};
use famille_model::dossier::{ConsentAnswer, FamilySituation, QuotientSource, Role, SchoolLevel};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::families;
use crate::state::AppState;
use crate::store::accounts::NewParent;

pub const PARENT_EMAIL: &str = "parent@famille.example";
pub const PARENT_PASSWORD: &str = "demo-parent-pw";
pub const AGENT_EMAIL: &str = "agent@famille.example";
pub const AGENT_PASSWORD: &str = "demo-agent-pw";
pub const ADMIN_EMAIL: &str = "admin@famille.example";
pub const ADMIN_PASSWORD: &str = "demo-admin-pw";
/// A dossier imported by the services, without a password: its first login goes
/// through "mot de passe oublié", as the guide explains.
pub const IMPORTED_EMAIL: &str = "import@famille.example";

/// The consents of the guide's "Autres autorisations", in its order.
pub const CONSENTS: [(&str, &str); 8] = [
    (
        "antipyretiques",
        "A administrer les antipyrétiques selon l'avis du médecin de la structure ou médecin traitant",
    ),
    (
        "sortie_activites",
        "Autorisation de sortie pour les activités",
    ),
    ("transport_commun", "Autorisation de transport en commun"),
    (
        "soins_indispensables",
        "Autorise l'équipe médicale à pratiquer les soins indispensables au regard de l'état de santé",
    ),
    (
        "droit_image",
        "Autorise que mon enfant soit filmé/photographié (pour l'usage d'utilisation par la structure, le service de soins ou le site internet)",
    ),
    (
        "decharge_trajet_hopital",
        "Décharge la direction de la structure de toutes responsabilités pendant le trajet à l'hôpital",
    ),
    ("urgence_medicale", "Intervention / Urgence médicale"),
    (
        "initiatives_personnel",
        "Le personnel de structure à prendre toutes les initiatives",
    ),
];

/// What `load` did, to print.
pub enum Loaded {
    Created,
    AlreadyPopulated,
}

fn years_ago(today: NaiveDate, years: i32, days: i64) -> NaiveDate {
    let anniversary = today.with_year(today.year() - years).unwrap_or(today);
    anniversary - Duration::days(days)
}

/// Loads the demo if the database holds no account yet.
pub async fn load(state: &AppState) -> AppResult<Loaded> {
    if state.db.accounts().count().await? > 0 {
        return Ok(Loaded::AlreadyPopulated);
    }
    let families_store = state.db.families();
    for (position, (code, label)) in CONSENTS.iter().enumerate() {
        families_store
            .insert_consent_type(Uuid::now_v7(), code, label, position as i32)
            .await?;
    }

    for (email, password, first, last, role) in [
        (AGENT_EMAIL, AGENT_PASSWORD, "Agnès", "Martin", Role::Agent),
        (ADMIN_EMAIL, ADMIN_PASSWORD, "Alain", "Durand", Role::Admin),
    ] {
        let new = NewStaffAccount {
            email: email.into(),
            first_name: first.into(),
            last_name: last.into(),
            role,
        };
        crate::accounts::create_staff(state, &new, Some(password.into())).await?;
    }

    let now = state.clock.now();
    let today = now.date_naive();
    let family_id = Uuid::now_v7();
    let password_hash = state.hasher.hash(PARENT_PASSWORD.into()).await?;
    let parent = NewParent {
        account_id: Uuid::now_v7(),
        family_id,
        guardian_id: Uuid::now_v7(),
        email: PARENT_EMAIL,
        password_hash: Some(&password_hash),
        first_name: "patricia",
        last_name: "TESTBO",
        now,
    };
    state.db.accounts().insert_parent(&parent).await?;
    families::update_household(
        state,
        family_id,
        &Household {
            address: Address {
                line1: "51 Chemin du Port de l'Homme".into(),
                line2: None,
                postal_code: "33360".into(),
                city: "LATRESNE".into(),
            },
            phone: Some("05 56 20 83 60".into()),
            situation: Some(FamilySituation::Married),
            dependent_children: Some(4),
        },
    )
    .await?;
    families::update_guardian(
        state,
        family_id,
        parent.guardian_id,
        &GuardianInput {
            first_name: "patricia".into(),
            last_name: "TESTBO".into(),
            email: Some(PARENT_EMAIL.into()),
            mobile_phone: Some("06 12 34 56 78".into()),
            work_phone: None,
        },
    )
    .await?;
    families::add_guardian(
        state,
        family_id,
        &GuardianInput {
            first_name: "patrice".into(),
            last_name: "TESTBO".into(),
            email: Some("patrice.testbo@famille.example".into()),
            mobile_phone: Some("06 98 76 54 32".into()),
            work_phone: None,
        },
    )
    .await?;

    // Ages that keep the demo meaningful whatever the year: Luc is in the 6-11
    // range the vaccination case of the guide needs.
    let children = [
        ("Elena", years_ago(today, 11, 40), SchoolLevel::Cm2),
        ("Valentine", years_ago(today, 9, 100), SchoolLevel::Ce2),
        ("Luc", years_ago(today, 7, 200), SchoolLevel::Cp),
        ("Chloé", years_ago(today, 4, 30), SchoolLevel::Ms),
    ];
    let mut child_ids = Vec::new();
    for (first, birth_date, level) in children {
        let child = families::add_child(
            state,
            family_id,
            &ChildInput {
                first_name: first.into(),
                last_name: "TESTBO".into(),
                birth_date,
                school_level: level,
                school: Some("École de Latresne".into()),
            },
        )
        .await?;
        child_ids.push(child.id);
    }
    let berte = AuthorizedPersonInput {
        first_name: "Berte".into(),
        last_name: "TESTBO".into(),
        quality: "grand-mère/grand-père".into(),
        phone: None,
        mobile_phone: Some("06 06 14 12 56".into()),
        email: Some("berte.testbo@famille.example".into()),
        may_pick_up: true,
        emergency_contact: false,
    };
    let consent_types = families_store.consent_types().await?;
    let antipyretics = consent_types
        .iter()
        .find(|t| t.code == "antipyretiques")
        .ok_or(AppError::NotFound)?
        .id;
    for child_id in &child_ids {
        families::add_authorized_person(state, family_id, *child_id, &berte).await?;
        families_store
            .set_child_consents(*child_id, &[(antipyretics, ConsentAnswer::Yes)], now)
            .await?;
    }
    families::set_quotient(
        state,
        family_id,
        Some(&Quotient {
            value: 850,
            date: today - Duration::days(60),
            source: QuotientSource::Caf,
        }),
    )
    .await?;
    let agent = state
        .db
        .accounts()
        .by_email(AGENT_EMAIL)
        .await?
        .ok_or(AppError::NotFound)?;
    families::validate_family(state, agent.id, family_id).await?;

    let imported = NewParent {
        account_id: Uuid::now_v7(),
        family_id: Uuid::now_v7(),
        guardian_id: Uuid::now_v7(),
        email: IMPORTED_EMAIL,
        password_hash: None,
        first_name: "Jeanne",
        last_name: "DUPONT",
        now,
    };
    state.db.accounts().insert_parent(&imported).await?;
    families::validate_family(state, agent.id, imported.family_id).await?;
    Ok(Loaded::Created)
}

pub fn logins_banner() -> String {
    format!(
        "Données de démonstration :\n  parent : {PARENT_EMAIL} / {PARENT_PASSWORD}\n  agent  : {AGENT_EMAIL} / {AGENT_PASSWORD}\n  admin  : {ADMIN_EMAIL} / {ADMIN_PASSWORD}\n  dossier importé sans mot de passe : {IMPORTED_EMAIL} (utilisez « mot de passe oublié »)"
    )
}
