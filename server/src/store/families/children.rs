//! The children of a dossier, their consents and their health records (sensitive:
//! staff reads are audited by the service).

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::{Child, ChildConsent, ChildInput, ConsentType, HealthRecord, Vaccination};
use famille_model::dossier::ConsentAnswer;
use uuid::Uuid;

use super::{Families, child_search_key};
use crate::store::{StoreResult, execute, in_tx, on_db, parse_stored};

#[derive(sqlx::FromRow)]
struct ChildRow {
    id: Uuid,
    first_name: String,
    last_name: String,
    birth_date: NaiveDate,
    school_level: String,
    school: Option<String>,
    data_confirmed_at: Option<DateTime<Utc>>,
}

impl TryFrom<ChildRow> for Child {
    type Error = crate::store::StoreError;
    fn try_from(r: ChildRow) -> StoreResult<Self> {
        Ok(Child {
            id: r.id,
            first_name: r.first_name,
            last_name: r.last_name,
            birth_date: r.birth_date,
            school_level: parse_stored(&r.school_level)?,
            school: r.school,
            data_confirmed_at: r.data_confirmed_at,
        })
    }
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
        "id, first_name, last_name, birth_date, school_level, school, data_confirmed_at"
    };
}

impl Families<'_> {
    pub async fn children(&self, family_id: Uuid) -> StoreResult<Vec<Child>> {
        let sql = concat!(
            "SELECT ",
            child_columns!(),
            " FROM children WHERE family_id = $1 ORDER BY birth_date, first_name"
        );
        let rows: Vec<ChildRow> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(family_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(Child::try_from).collect()
    }

    pub async fn child(&self, family_id: Uuid, child_id: Uuid) -> StoreResult<Option<Child>> {
        let sql = concat!(
            "SELECT ",
            child_columns!(),
            " FROM children WHERE id = $1 AND family_id = $2"
        );
        let row: Option<ChildRow> = on_db!(self.db, |pool| {
            sqlx::query_as(sql)
                .bind(child_id)
                .bind(family_id)
                .fetch_optional(pool)
                .await
        })?;
        row.map(Child::try_from).transpose()
    }

    pub async fn insert_child(
        &self,
        family_id: Uuid,
        id: Uuid,
        c: &ChildInput,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        execute!(
            self.db,
            "INSERT INTO children (id, family_id, first_name, last_name, birth_date, school_level, school, created_at, updated_at, search_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
            id,
            family_id,
            &c.first_name,
            &c.last_name,
            c.birth_date,
            c.school_level.as_str(),
            &c.school,
            now,
            child_search_key(&c.first_name, &c.last_name)
        )?;
        Ok(())
    }

    pub async fn update_child(
        &self,
        family_id: Uuid,
        id: Uuid,
        c: &ChildInput,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(execute!(
            self.db,
            "UPDATE children SET first_name = $3, last_name = $4, birth_date = $5, school_level = $6, school = $7, \
                 updated_at = $8, search_key = $9 WHERE id = $1 AND family_id = $2",
            id,
            family_id,
            &c.first_name,
            &c.last_name,
            c.birth_date,
            c.school_level.as_str(),
            &c.school,
            now,
            child_search_key(&c.first_name, &c.last_name)
        )? == 1)
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
