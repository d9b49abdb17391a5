//! The demo data of the contract: the organisation of the guide, the TESTBO family
//! and one agent. Loaded only into an empty database.

use chrono::{Datelike, Duration, NaiveDate};
use famille_model::api::{
    Address, AuthorizedPersonInput, ChildInput, GuardianInput, Household, NewStaffAccount, Quotient,
};
use famille_model::calendar::paris_date;
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
                school_year: None,
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
            // Covers last month's days, which the demo bills.
            date: today - Duration::days(100),
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

    let options = load_catalog(state, family_id, &child_ids).await?;
    super::demo_billing::load(state, family_id, &child_ids, agent.id, &options).await?;
    load_services(state, family_id, parent.account_id, agent.id).await?;
    Ok(Loaded::Created)
}

/// The services of the guide's messaging, the demo agent in each, and a question
/// the TESTBO family asked (written as the family: seeding notifies nobody).
async fn load_services(
    state: &AppState,
    family_id: Uuid,
    parent_id: Uuid,
    agent_id: Uuid,
) -> AppResult<()> {
    use famille_model::api::ServiceInput;
    let mut childhood = None;
    for (name, sensitive) in [
        ("Enfance-jeunesse", false),
        ("Périscolaire et restauration", false),
        ("Petite enfance", false),
        ("Facturation", false),
        ("Action sociale", true),
    ] {
        let input = ServiceInput {
            name: name.to_owned(),
            sensitive: Some(sensitive),
            agents: Some(vec![agent_id]),
        };
        let id = crate::messages::save_service(state, None, &input).await?;
        if name == "Enfance-jeunesse" {
            childhood = Some(id);
        }
    }
    let service = childhood.ok_or(AppError::NotFound)?;
    crate::messages::send(
        state,
        &crate::messages::Scope::Family(family_id),
        &crate::messages::Draft {
            author_id: parent_id,
            target: crate::messages::Target::New {
                family_id,
                service,
                subject: Some("Vacances de Noël"),
            },
            body: "Bonjour,\nLuc pourra-t-il venir au centre de loisirs pendant les vacances de Noël ? \
                   Nous attendons le rendez-vous chez le médecin pour son carnet de vaccination.\n\
                   Patricia TESTBO",
            attachments: &[],
        },
    )
    .await?;
    Ok(())
}

/// Approximate school holidays of zone A (Bordeaux) by month and day, for the demo
/// sessions only: Toussaint, Noël, hiver, printemps, été.
const HOLIDAYS: [((u32, u32), (u32, u32)); 5] = [
    ((10, 18), (11, 2)),
    ((12, 19), (12, 31)),
    ((2, 14), (3, 1)),
    ((4, 11), (4, 26)),
    ((7, 4), (8, 31)),
];

/// An activity of the demo's ALSH.
struct DemoActivity {
    name: &'static str,
    eligibility: famille_model::booking::Eligibility,
    rules: famille_model::booking::BookingRules,
    age_split: Option<u8>,
    /// (capacity, under the split, from the split)
    places: (u32, Option<u32>, Option<u32>),
    days: DemoDays,
    needs_vaccination: bool,
}

enum DemoDays {
    /// Wednesdays out of school holidays.
    Wednesdays,
    /// Weekdays of the school holidays.
    Holidays,
}

/// From `min` to `max` years old at the session.
fn ages(min: u8, max: u8) -> famille_model::booking::Eligibility {
    famille_model::booking::Eligibility {
        min_age: Some(min),
        max_age: Some(max),
        ..Default::default()
    }
}

fn in_school_holidays(date: NaiveDate) -> bool {
    let md = (date.month(), date.day());
    md <= (1, 3) || HOLIDAYS.iter().any(|(from, to)| md >= *from && md <= *to)
}

/// The organisation's catalog from the guide: its categories, the ALSH Latresne with
/// its three options, Wednesdays and school holidays for the coming eight weeks, and
/// the carnet de vaccination that Luc has not sent.
/// The options the demo created: each ALSH activity with its three options, and the
/// Saturday multisports' one.
pub struct DemoOptions {
    pub alsh: Vec<(Uuid, Vec<Uuid>)>,
    pub sports: Uuid,
}

async fn load_catalog(
    state: &AppState,
    family_id: Uuid,
    child_ids: &[Uuid],
) -> AppResult<DemoOptions> {
    use famille_model::booking::{BookingRules, Day, LateBooking, SkipDays, TimeRule};
    let catalog = state.db.catalog();
    let now = state.clock.now();
    let mut categories = Vec::new();
    for (position, (code, name)) in [
        ("accueils", "Accueils matin et soir + Restauration"),
        ("mercredis_vacances", "Mercredis et Vacances"),
        ("jeunesse", "Jeunesse"),
        ("sports", "Sports"),
        ("petite_enfance", "Petite Enfance"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = Uuid::now_v7();
        catalog
            .insert_category(id, code, name, position as i32)
            .await?;
        categories.push(id);
    }
    let venue = Uuid::now_v7();
    catalog
        .insert_venue(venue, "ALSH Latresne", Some("Latresne"))
        .await?;
    let mut document_types = Vec::new();
    use famille_model::api::DocumentScope::{Child, Family};
    for (code, label, scope) in [
        ("justificatif_domicile", "Justificatif de domicile", Family),
        ("carnet_vaccination", "Carnet de vaccination", Child),
        ("attestation_assurance", "Attestation d'assurance", Child),
        ("attestation_employeur", "Attestation employeur", Family),
        ("divers", "Divers", Family),
    ] {
        let id = Uuid::now_v7();
        catalog.insert_document_type(id, code, label, scope).await?;
        document_types.push(id);
    }
    // Insurance and employer certificates count for the school year.
    for (index, label) in [(2, "Attestation d'assurance"), (3, "Attestation employeur")] {
        state
            .db
            .documents()
            .update_type(
                document_types[index],
                label,
                famille_model::dossier::DocumentValidity::SchoolYear,
            )
            .await?;
    }
    let vaccination = document_types[1];
    // Elena, Valentine and Chloé have a validated carnet; Luc (index 2) has not sent his.
    for (i, child) in child_ids.iter().enumerate() {
        if i != 2 {
            catalog
                .insert_validated_document(family_id, Some(*child), vaccination, None, now)
                .await?;
        }
    }
    let evening = chrono::NaiveTime::from_hms_opt(23, 59, 0).expect("valid time");
    // Booking until the Tuesday before at 23:59, free cancellation until 7 days before.
    let wednesdays = BookingRules {
        booking_deadline: TimeRule::PreviousWeekday {
            weekday: Day::Tuesday,
            time: evening,
            skip: SkipDays::default(),
        },
        ..BookingRules::days_before(1, 7)
    };
    // Booking until 5 working days before (late bookings surcharged), free
    // cancellation until 10 days before.
    let holidays = BookingRules {
        booking_deadline: TimeRule::DaysBefore {
            days: 5,
            time: evening,
            skip: SkipDays {
                weekends: true,
                public_holidays: true,
                weekdays: vec![],
            },
        },
        late_booking: LateBooking::Surcharged,
        ..BookingRules::days_before(5, 10)
    };
    let little_ones = BookingRules {
        requires_approval: true,
        ..wednesdays.clone()
    };
    let activities = [
        DemoActivity {
            name: "Mercredis ALSH Latresne (6-11 ans)",
            eligibility: ages(6, 11),
            rules: wednesdays,
            age_split: None,
            places: (24, None, None),
            days: DemoDays::Wednesdays,
            needs_vaccination: false,
        },
        DemoActivity {
            name: "Mercredis ALSH Latresne (3-5 ans)",
            eligibility: ages(3, 5),
            rules: little_ones,
            age_split: None,
            places: (16, None, None),
            days: DemoDays::Wednesdays,
            needs_vaccination: false,
        },
        DemoActivity {
            name: "Vacances ALSH Latresne (3-11 ans)",
            eligibility: ages(3, 11),
            rules: holidays,
            age_split: Some(6),
            places: (40, Some(16), Some(24)),
            days: DemoDays::Holidays,
            needs_vaccination: true,
        },
    ];
    let today = famille_model::calendar::paris_date(now);
    let mut alsh = Vec::new();
    for a in activities {
        let activity_id = Uuid::now_v7();
        catalog
            .insert_activity(&crate::store::catalog::NewActivity {
                id: activity_id,
                category_id: categories[1],
                venue_id: venue,
                name: a.name,
                description: None,
                eligibility: &a.eligibility,
                rules: &a.rules,
                age_split: a.age_split,
                now,
            })
            .await?;
        if a.needs_vaccination {
            catalog
                .require_document(activity_id, vaccination, now)
                .await?;
        }
        let options = insert_alsh_options(state, activity_id, now).await?;
        alsh.push((activity_id, options.clone()));
        for offset in 1..=56 {
            let date = today + Duration::days(offset);
            let wednesday = date.weekday() == chrono::Weekday::Wed && !in_school_holidays(date);
            let holiday = in_school_holidays(date)
                && !famille_model::calendar::is_weekend(date)
                && !famille_model::calendar::is_french_public_holiday(date);
            let offered = match a.days {
                DemoDays::Wednesdays => wednesday,
                DemoDays::Holidays => holiday,
            };
            if offered {
                insert_day(state, activity_id, &options, date, a.places, now).await?;
            }
        }
    }
    // Multisports on Saturdays, for 6-11 year olds, with the carnet de vaccination
    // required: whatever the season, Luc has his red alert, as in the guide.
    let sports = Uuid::now_v7();
    let gym = Uuid::now_v7();
    catalog
        .insert_venue(gym, "Gymnase de Latresne", Some("Latresne"))
        .await?;
    catalog
        .insert_activity(&crate::store::catalog::NewActivity {
            id: sports,
            category_id: categories[3],
            venue_id: gym,
            name: "Multisports du samedi (6-11 ans)",
            description: None,
            eligibility: &ages(6, 11),
            rules: &BookingRules::days_before(2, 7),
            age_split: None,
            now,
        })
        .await?;
    catalog.require_document(sports, vaccination, now).await?;
    let morning = Uuid::now_v7();
    catalog
        .insert_option(morning, sports, "Matinée", 0, now)
        .await?;
    for offset in 1..=56 {
        let date = today + Duration::days(offset);
        if date.weekday() == chrono::Weekday::Sat
            && !famille_model::calendar::is_french_public_holiday(date)
        {
            catalog
                .insert_session(&crate::store::catalog::NewSession {
                    id: Uuid::now_v7(),
                    activity_id: sports,
                    option_id: morning,
                    date,
                    capacity: 20,
                    capacity_young: None,
                    capacity_old: None,
                    now,
                })
                .await?;
        }
    }
    Ok(DemoOptions {
        alsh,
        sports: morning,
    })
}

pub fn logins_banner() -> String {
    format!(
        "Données de démonstration :\n  parent : {PARENT_EMAIL} / {PARENT_PASSWORD}\n  agent  : {AGENT_EMAIL} / {AGENT_PASSWORD}\n  admin  : {ADMIN_EMAIL} / {ADMIN_PASSWORD}\n  dossier importé sans mot de passe : {IMPORTED_EMAIL} (utilisez « mot de passe oublié »)"
    )
}

/// For benchmarks: a school year of a second activity (every Wednesday and holiday
/// weekday for 310 days, three options, 40 places) and the demo family booking every
/// third of them for two children. Returns the number of sessions added.
pub async fn school_year(state: &AppState) -> AppResult<usize> {
    use chrono::Weekday;
    use famille_model::api::Mutation;
    use famille_model::booking::BookingRules;

    use crate::store::catalog::NewActivity;
    use crate::store::queue::Actor;

    let now = state.clock.now();
    let catalog = state.db.catalog();
    let category_id = catalog
        .activities()
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::Internal("load the demo first".into()))?
        .category_id;
    let (activity_id, venue) = (Uuid::now_v7(), Uuid::now_v7());
    catalog.insert_venue(venue, "ALSH Cénac", None).await?;
    catalog
        .insert_activity(&NewActivity {
            id: activity_id,
            category_id,
            venue_id: venue,
            name: "Année scolaire ALSH Cénac (3-11 ans)",
            description: None,
            eligibility: &ages(3, 11),
            rules: &BookingRules::days_before(2, 7),
            age_split: None,
            now,
        })
        .await?;
    let options = insert_alsh_options(state, activity_id, now).await?;
    let start = famille_model::calendar::paris_date(now);
    let mut sessions = Vec::new();
    let mut day = start + Duration::days(1);
    while day < start + Duration::days(310) {
        let holiday = matches!(day.month(), 7 | 8)
            || (day.month() == 12 && day.day() >= 20)
            || (day.month() == 4 && day.day() <= 20);
        if (day.weekday() == Weekday::Wed || holiday) && !famille_model::calendar::is_weekend(day) {
            sessions.extend(
                insert_day(state, activity_id, &options, day, (40, None, None), now).await?,
            );
        }
        day += Duration::days(1);
    }
    let parent = state
        .db
        .accounts()
        .by_email(PARENT_EMAIL)
        .await?
        .ok_or(AppError::NotFound)?;
    let family_id = parent.family_id.ok_or(AppError::NotFound)?;
    let children = state
        .db
        .families()
        .children(family_id, paris_date(state.clock.now()))
        .await?;
    let actor = Actor {
        family_id,
        account_id: parent.id,
    };
    let mut mutations = Vec::new();
    for child in children.iter().take(2) {
        for session in sessions.iter().step_by(3) {
            mutations.push(Mutation::Reserve {
                id: Uuid::now_v7(),
                child_id: child.id,
                session_id: *session,
            });
        }
    }
    for chunk in mutations.chunks(200) {
        let chunk: Vec<&Mutation> = chunk.iter().collect();
        crate::queue::apply(state, actor, &chunk).await?;
    }
    Ok(sessions.len())
}

/// The three options of the guide's ALSH ("Journée complète", "Matin avec repas",
/// "Après-midi sans repas"), in order.
async fn insert_alsh_options(
    state: &AppState,
    activity_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Vec<Uuid>> {
    let mut options = Vec::new();
    for (position, name) in [
        "Journée complète",
        "Matin avec repas",
        "Après-midi sans repas",
    ]
    .into_iter()
    .enumerate()
    {
        let id = Uuid::now_v7();
        state
            .db
            .catalog()
            .insert_option(id, activity_id, name, position as i32, now)
            .await?;
        options.push(id);
    }
    Ok(options)
}

/// One session per option on `date`, with (capacity, under-split, from-split) places.
pub(super) async fn insert_day(
    state: &AppState,
    activity_id: Uuid,
    options: &[Uuid],
    date: NaiveDate,
    (capacity, capacity_young, capacity_old): (u32, Option<u32>, Option<u32>),
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<Vec<Uuid>> {
    let mut ids = Vec::with_capacity(options.len());
    for option in options {
        let id = Uuid::now_v7();
        state
            .db
            .catalog()
            .insert_session(&crate::store::catalog::NewSession {
                id,
                activity_id,
                option_id: *option,
                date,
                capacity,
                capacity_young,
                capacity_old,
                now,
            })
            .await?;
        ids.push(id);
    }
    Ok(ids)
}
