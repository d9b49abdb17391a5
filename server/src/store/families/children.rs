//! The children of a dossier, their consents and their health records (sensitive:
//! staff reads are audited by the service).

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::{
    Child, ChildConsent, ChildInput, ConsentType, HealthRecord, SchoolYearLevel, Vaccination,
};
use famille_model::calendar::paris_date;
use famille_model::dossier::{ConsentAnswer, SchoolLevel, SchoolYear};
use uuid::Uuid;

use super::{Families, child_search_key};
use crate::store::{StoreResult, execute, in_tx, on_db, parse_stored};

#[derive(sqlx::FromRow)]
struct ChildRow {
    id: Uuid,
    first_name: String,
    last_name: String,
    birth_date: NaiveDate,
    school: Option<String>,
    data_confirmed_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct LevelRow {
    child_id: Uuid,
    school_year: i32,
    #[sqlx(try_from = "String")]
    level: SchoolLevel,
}

impl ChildRow {
    /// The child with its declared levels, `school_level` being the one of
    /// `today`'s school year.
    fn into_child(self, levels: &[LevelRow], today: NaiveDate) -> Child {
        let school_levels: Vec<SchoolYearLevel> = levels
            .iter()
            .filter(|l| l.child_id == self.id)
            .map(|l| SchoolYearLevel {
                school_year: l.school_year,
                level: l.level,
            })
            .collect();
        let mut child = Child {
            id: self.id,
            first_name: self.first_name,
            last_name: self.last_name,
            birth_date: self.birth_date,
            school_level: SchoolLevel::NotSchooled,
            school_levels,
            school: self.school,
            data_confirmed_at: self.data_confirmed_at,
        };
        child.school_level = child.level_on(today);
        child
    }
}

/// Declares a child's level for one school year (replacing what was declared for it).
macro_rules! declare_level {
    ($child_id:expr, $year:expr, $level:expr) => {
        sqlx::query(
            "INSERT INTO child_levels (child_id, school_year, level) VALUES ($1, $2, $3) \
             ON CONFLICT (child_id, school_year) DO UPDATE SET level = excluded.level",
        )
        .bind($child_id)
        .bind($year)
        .bind($level.as_str())
    };
}

/// The school year a child form declares its level for (this one by default).
fn declared_year(c: &ChildInput, now: DateTime<Utc>) -> i32 {
    c.school_year
        .unwrap_or_else(|| SchoolYear::of(paris_date(now)).0)
}

#[derive(sqlx::FromRow)]
struct HealthRow {
    allergies: Option<String>,
    diet: Option<String>,
    doctor_name: Option<String>,
    doctor_phone: Option<String>,
    pai: bool,
    pai_details: Option<String>,
    notes: Option<String>,
    updated_at: DateTime<Utc>,
}

macro_rules! child_columns {
    () => {
        "id, first_name, last_name, birth_date, school, data_confirmed_at"
    };
}

impl Families<'_> {
    /// A family's children, eldest first, with their levels (`school_level` that of
    /// `today`'s school year).
    pub async fn children(&self, family_id: Uuid, today: NaiveDate) -> StoreResult<Vec<Child>> {
        let sql = concat!(
            "SELECT ",
            child_columns!(),
            " FROM children WHERE family_id = $1 ORDER BY birth_date, first_name"
        );
        let (rows, levels) = on_db!(self.db, |pool| {
            let rows: Vec<ChildRow> = sqlx::query_as(sql).bind(family_id).fetch_all(pool).await?;
            let levels: Vec<LevelRow> = sqlx::query_as(
                "SELECT l.child_id, l.school_year, l.level FROM child_levels l \
                 JOIN children c ON c.id = l.child_id WHERE c.family_id = $1 ORDER BY l.school_year",
            )
            .bind(family_id)
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>((rows, levels))
        })?;
        Ok(rows
            .into_iter()
            .map(|r| r.into_child(&levels, today))
            .collect())
    }

    pub async fn child(
        &self,
        family_id: Uuid,
        child_id: Uuid,
        today: NaiveDate,
    ) -> StoreResult<Option<Child>> {
        let sql = concat!(
            "SELECT ",
            child_columns!(),
            " FROM children WHERE id = $1 AND family_id = $2"
        );
        let (row, levels) = on_db!(self.db, |pool| {
            let row: Option<ChildRow> = sqlx::query_as(sql)
                .bind(child_id)
                .bind(family_id)
                .fetch_optional(pool)
                .await?;
            let levels: Vec<LevelRow> = sqlx::query_as(
                "SELECT child_id, school_year, level FROM child_levels WHERE child_id = $1 ORDER BY school_year",
            )
            .bind(child_id)
            .fetch_all(pool)
            .await?;
            Ok::<_, sqlx::Error>((row, levels))
        })?;
        Ok(row.map(|r| r.into_child(&levels, today)))
    }

    /// Adds a child, with its level for the school year the form names.
    pub async fn insert_child(
        &self,
        family_id: Uuid,
        id: Uuid,
        c: &ChildInput,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        in_tx!(self.db, |tx| {
            sqlx::query(
                "INSERT INTO children (id, family_id, first_name, last_name, birth_date, school, created_at, updated_at, search_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)",
            )
            .bind(id)
            .bind(family_id)
            .bind(&c.first_name)
            .bind(&c.last_name)
            .bind(c.birth_date)
            .bind(&c.school)
            .bind(now)
            .bind(child_search_key(&c.first_name, &c.last_name))
            .execute(&mut *tx)
            .await?;
            declare_level!(id, declared_year(c, now), c.school_level)
                .execute(&mut *tx)
                .await?;
        });
        Ok(())
    }

    /// Rewrites a child's card and declares its level for the school year the form
    /// names (other years keep theirs); `false` when the child is not the family's.
    pub async fn update_child(
        &self,
        family_id: Uuid,
        id: Uuid,
        c: &ChildInput,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let updated = in_tx!(self.db, |tx| {
            let updated = sqlx::query(
                "UPDATE children SET first_name = $3, last_name = $4, birth_date = $5, school = $6, \
                 updated_at = $7, search_key = $8 WHERE id = $1 AND family_id = $2",
            )
            .bind(id)
            .bind(family_id)
            .bind(&c.first_name)
            .bind(&c.last_name)
            .bind(c.birth_date)
            .bind(&c.school)
            .bind(now)
            .bind(child_search_key(&c.first_name, &c.last_name))
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if updated {
                declare_level!(id, declared_year(c, now), c.school_level)
                    .execute(&mut *tx)
                    .await?;
            }
            updated
        });
        Ok(updated)
    }

    /// "J'ai renseigné mes données".
    pub async fn confirm_child_data(
        &self,
        family_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(execute!(
            self.db,
            "UPDATE children SET data_confirmed_at = $3 WHERE id = $1 AND family_id = $2",
            id,
            family_id,
            now
        )? == 1)
    }

    // ---- authorized persons ------------------------------------------------------

    pub async fn consent_types(&self) -> StoreResult<Vec<ConsentType>> {
        let rows: Vec<(Uuid, String, String)> = on_db!(self.db, |pool| {
            sqlx::query_as("SELECT id, code, label FROM consent_types WHERE active = TRUE ORDER BY position, code")
                .fetch_all(pool)
                .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, code, label)| ConsentType { id, code, label })
            .collect())
    }

    pub async fn insert_consent_type(
        &self,
        id: Uuid,
        code: &str,
        label: &str,
        position: i32,
    ) -> StoreResult<()> {
        execute!(self.db, "INSERT INTO consent_types (id, code, label, position, active) VALUES ($1, $2, $3, $4, TRUE)", id, code, label, position)
        .map_err(crate::store::unique_violation)?;
        Ok(())
    }

    /// Every active consent with this child's answer (unanswered where none).
    pub async fn child_consents(&self, child_id: Uuid) -> StoreResult<Vec<ChildConsent>> {
        let rows: Vec<(Uuid, String, String, Option<String>)> = on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT t.id, t.code, t.label, c.answer FROM consent_types t \
                 LEFT JOIN child_consents c ON c.consent_type_id = t.id AND c.child_id = $1 \
                 WHERE t.active = TRUE ORDER BY t.position, t.code",
            )
            .bind(child_id)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|(consent_type_id, code, label, answer)| {
                Ok(ChildConsent {
                    consent_type_id,
                    code,
                    label,
                    answer: answer
                        .as_deref()
                        .map(parse_stored)
                        .transpose()?
                        .unwrap_or(ConsentAnswer::Unanswered),
                })
            })
            .collect()
    }

    /// Applies answers in one transaction; "unanswered" removes a previous answer.
    pub async fn set_child_consents(
        &self,
        child_id: Uuid,
        answers: &[(Uuid, ConsentAnswer)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let upsert = "INSERT INTO child_consents (child_id, consent_type_id, answer, answered_at) VALUES ($1, $2, $3, $4) \
                      ON CONFLICT (child_id, consent_type_id) DO UPDATE SET answer = excluded.answer, answered_at = excluded.answered_at";
        in_tx!(self.db, |tx| {
            for (consent_type_id, answer) in answers {
                if *answer == ConsentAnswer::Unanswered {
                    sqlx::query(
                        "DELETE FROM child_consents WHERE child_id = $1 AND consent_type_id = $2",
                    )
                    .bind(child_id)
                    .bind(consent_type_id)
                    .execute(&mut *tx)
                    .await?;
                } else {
                    sqlx::query(upsert)
                        .bind(child_id)
                        .bind(consent_type_id)
                        .bind(answer.as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        });
        Ok(())
    }

    // ---- health records -------------------------------------------------------------

    pub async fn health_record(&self, child_id: Uuid) -> StoreResult<HealthRecord> {
        let (row, vaccinations): (Option<HealthRow>, Vec<(String, NaiveDate)>) = on_db!(
            self.db,
            |pool| {
                let row = sqlx::query_as(
                "SELECT allergies, diet, doctor_name, doctor_phone, pai, pai_details, notes, updated_at \
                 FROM health_records WHERE child_id = $1",
            )
            .bind(child_id)
            .fetch_optional(pool)
            .await?;
                let vaccinations = sqlx::query_as("SELECT vaccine, date FROM vaccinations WHERE child_id = $1 ORDER BY date, vaccine")
                .bind(child_id)
                .fetch_all(pool)
                .await?;
                Ok::<_, sqlx::Error>((row, vaccinations))
            }
        )?;
        let vaccinations = vaccinations
            .into_iter()
            .map(|(vaccine, date)| Vaccination { vaccine, date })
            .collect();
        Ok(match row {
            Some(r) => HealthRecord {
                child_id,
                allergies: r.allergies,
                diet: r.diet,
                doctor_name: r.doctor_name,
                doctor_phone: r.doctor_phone,
                pai: r.pai,
                pai_details: r.pai_details,
                notes: r.notes,
                vaccinations,
                updated_at: Some(r.updated_at),
            },
            None => HealthRecord {
                child_id,
                allergies: None,
                diet: None,
                doctor_name: None,
                doctor_phone: None,
                pai: false,
                pai_details: None,
                notes: None,
                vaccinations,
                updated_at: None,
            },
        })
    }

    pub async fn put_health_record(
        &self,
        record: &HealthRecord,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let upsert = "INSERT INTO health_records (child_id, allergies, diet, doctor_name, doctor_phone, pai, pai_details, notes, updated_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (child_id) DO UPDATE SET \
                      allergies = excluded.allergies, diet = excluded.diet, doctor_name = excluded.doctor_name, \
                      doctor_phone = excluded.doctor_phone, pai = excluded.pai, pai_details = excluded.pai_details, \
                      notes = excluded.notes, updated_at = excluded.updated_at";
        in_tx!(self.db, |tx| {
            sqlx::query(upsert)
                .bind(record.child_id)
                .bind(&record.allergies)
                .bind(&record.diet)
                .bind(&record.doctor_name)
                .bind(&record.doctor_phone)
                .bind(record.pai)
                .bind(&record.pai_details)
                .bind(&record.notes)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM vaccinations WHERE child_id = $1")
                .bind(record.child_id)
                .execute(&mut *tx)
                .await?;
            for v in &record.vaccinations {
                sqlx::query("INSERT INTO vaccinations (id, child_id, vaccine, date) VALUES ($1, $2, $3, $4)")
                    .bind(Uuid::now_v7())
                    .bind(record.child_id)
                    .bind(&v.vaccine)
                    .bind(v.date)
                    .execute(&mut *tx)
                    .await?;
            }
        });
        Ok(())
    }

    // ---- staff search ---------------------------------------------------------------
}
