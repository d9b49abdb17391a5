//! The family dossier: household, guardians, children, authorized persons,
//! consents and health records. Every child-scoped query names the family too, so
//! a foreign id simply finds nothing.

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::{
    Address, AuthorizedPerson, AuthorizedPersonInput, Child, ChildConsent, ChildInput, ConsentType,
    Guardian, GuardianInput, HealthRecord, Household, Quotient, Vaccination,
};
use famille_model::dossier::{ConsentAnswer, FamilyStatus};
use uuid::Uuid;

use super::{Db, StoreResult, in_tx, on_db, parse_stored};

pub struct Families<'a> {
    pub(super) db: &'a Db,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FamilyRow {
    pub id: Uuid,
    pub number: i64,
    pub status: String,
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub phone: Option<String>,
    pub situation: Option<String>,
    pub dependent_children: Option<i16>,
    pub qf_value: Option<i32>,
    pub qf_date: Option<NaiveDate>,
    pub qf_source: Option<String>,
}

impl FamilyRow {
    pub fn status(&self) -> StoreResult<FamilyStatus> {
        parse_stored(&self.status)
    }

    pub fn address(&self) -> Option<Address> {
        Some(Address {
            line1: self.address_line1.clone()?,
            line2: self.address_line2.clone(),
            postal_code: self.postal_code.clone()?,
            city: self.city.clone()?,
        })
    }

    pub fn quotient(&self) -> StoreResult<Option<Quotient>> {
        match (self.qf_value, self.qf_date, &self.qf_source) {
            (Some(value), Some(date), Some(source)) => Ok(Some(Quotient {
                value: u32::try_from(value).unwrap_or(0),
                date,
                source: parse_stored(source)?,
            })),
            _ => Ok(None),
        }
    }
}

#[derive(sqlx::FromRow)]
struct GuardianRow {
    id: Uuid,
    rank: i16,
    first_name: String,
    last_name: String,
    email: Option<String>,
    mobile_phone: Option<String>,
    work_phone: Option<String>,
    account_id: Option<Uuid>,
}

impl From<GuardianRow> for Guardian {
    fn from(r: GuardianRow) -> Self {
        Guardian {
            id: r.id,
            rank: u8::try_from(r.rank).unwrap_or(0),
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            mobile_phone: r.mobile_phone,
            work_phone: r.work_phone,
            has_account: r.account_id.is_some(),
        }
    }
}

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
    type Error = super::StoreError;
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
struct PersonRow {
    id: Uuid,
    first_name: String,
    last_name: String,
    quality: String,
    phone: Option<String>,
    mobile_phone: Option<String>,
    email: Option<String>,
    may_pick_up: bool,
    emergency_contact: bool,
}

impl From<PersonRow> for AuthorizedPerson {
    fn from(r: PersonRow) -> Self {
        AuthorizedPerson {
            id: r.id,
            first_name: r.first_name,
            last_name: r.last_name,
            quality: r.quality,
            phone: r.phone,
            mobile_phone: r.mobile_phone,
            email: r.email,
            may_pick_up: r.may_pick_up,
            emergency_contact: r.emergency_contact,
        }
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

// Column lists as macros so that queries stay `&'static str` literals (sqlx refuses
// SQL assembled at run time unless audited).
macro_rules! family_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "number, ",
            $p,
            "status, ",
            $p,
            "address_line1, ",
            $p,
            "address_line2, ",
            $p,
            "postal_code, ",
            $p,
            "city, ",
            $p,
            "phone, ",
            $p,
            "situation, ",
            $p,
            "dependent_children, ",
            $p,
            "qf_value, ",
            $p,
            "qf_date, ",
            $p,
            "qf_source"
        )
    };
}
macro_rules! child_columns {
    () => {
        "id, first_name, last_name, birth_date, school_level, school, data_confirmed_at"
    };
}
macro_rules! person_columns {
    () => {
        "id, first_name, last_name, quality, phone, mobile_phone, email, may_pick_up, emergency_contact"
    };
}

/// One row of a staff search.
pub struct FamilyHit {
    pub family: FamilyRow,
    pub guardians: Vec<Guardian>,
    pub children: Vec<Child>,
}

impl Families<'_> {
    pub async fn count(&self) -> StoreResult<i64> {
        Ok(on_db!(self.db, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM families"
        )
        .fetch_one(pool)
        .await)?)
    }

    pub async fn family(&self, family_id: Uuid) -> StoreResult<Option<FamilyRow>> {
        let sql = concat!(
            "SELECT ",
            family_columns!(""),
            " FROM families WHERE id = $1"
        );
        Ok(on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(family_id)
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn guardians(&self, family_id: Uuid) -> StoreResult<Vec<Guardian>> {
        let rows: Vec<GuardianRow> = on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, rank, first_name, last_name, email, mobile_phone, work_phone, account_id \
                 FROM guardians WHERE family_id = $1 ORDER BY rank",
            )
            .bind(family_id)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(Guardian::from).collect())
    }

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

    /// The family a child belongs to (staff routes start from a child id).
    pub async fn family_of_child(&self, child_id: Uuid) -> StoreResult<Option<Uuid>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_scalar("SELECT family_id FROM children WHERE id = $1")
                .bind(child_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    pub async fn update_household(
        &self,
        family_id: Uuid,
        h: &Household,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = on_db!(self.db, |pool| {
            sqlx::query(
                "UPDATE families SET address_line1 = $2, address_line2 = $3, postal_code = $4, city = $5, \
                 phone = $6, situation = $7, dependent_children = $8, updated_at = $9 WHERE id = $1",
            )
            .bind(family_id)
            .bind(&h.address.line1)
            .bind(&h.address.line2)
            .bind(&h.address.postal_code)
            .bind(&h.address.city)
            .bind(&h.phone)
            .bind(h.situation.map(|s| s.as_str()))
            .bind(h.dependent_children.map(i16::from))
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    pub async fn update_quotient(
        &self,
        family_id: Uuid,
        q: Option<&Quotient>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = on_db!(self.db, |pool| {
            sqlx::query(
                "UPDATE families SET qf_value = $2, qf_date = $3, qf_source = $4, updated_at = $5 WHERE id = $1",
            )
            .bind(family_id)
            .bind(q.map(|q| i32::try_from(q.value).unwrap_or(i32::MAX)))
            .bind(q.map(|q| q.date))
            .bind(q.map(|q| q.source.as_str()))
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Pending -> active. `false` if the dossier was not pending.
    pub async fn validate(
        &self,
        family_id: Uuid,
        by: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = on_db!(self.db, |pool| {
            sqlx::query(
                "UPDATE families SET status = 'active', validated_at = $2, validated_by = $3, updated_at = $2 \
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(family_id)
            .bind(now)
            .bind(by)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    // ---- guardians -------------------------------------------------------------

    pub async fn update_guardian(
        &self,
        family_id: Uuid,
        guardian_id: Uuid,
        g: &GuardianInput,
    ) -> StoreResult<bool> {
        let done = on_db!(self.db, |pool| {
            sqlx::query(
                "UPDATE guardians SET first_name = $3, last_name = $4, email = $5, mobile_phone = $6, work_phone = $7 \
                 WHERE id = $1 AND family_id = $2",
            )
            .bind(guardian_id)
            .bind(family_id)
            .bind(&g.first_name)
            .bind(&g.last_name)
            .bind(&g.email)
            .bind(&g.mobile_phone)
            .bind(&g.work_phone)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Adds the next guardian ("Parent 2"); `None` when the family already has two.
    pub async fn insert_guardian(
        &self,
        family_id: Uuid,
        id: Uuid,
        g: &GuardianInput,
    ) -> StoreResult<Option<u8>> {
        let rank = in_tx!(self.db, |tx| {
            let count: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM guardians WHERE family_id = $1")
                    .bind(family_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if count >= 2 {
                None
            } else {
                let rank = i16::try_from(count + 1).unwrap_or(2);
                sqlx::query(
                    "INSERT INTO guardians (id, family_id, rank, first_name, last_name, email, mobile_phone, work_phone) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(id)
                .bind(family_id)
                .bind(rank)
                .bind(&g.first_name)
                .bind(&g.last_name)
                .bind(&g.email)
                .bind(&g.mobile_phone)
                .bind(&g.work_phone)
                .execute(&mut *tx)
                .await
                .map_err(super::unique_violation)?;
                Some(rank as u8)
            }
        });
        Ok(rank)
    }

    // ---- children ----------------------------------------------------------------

    pub async fn insert_child(
        &self,
        family_id: Uuid,
        id: Uuid,
        c: &ChildInput,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_db!(self.db, |pool| {
            sqlx::query(
                "INSERT INTO children (id, family_id, first_name, last_name, birth_date, school_level, school, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(id)
            .bind(family_id)
            .bind(&c.first_name)
            .bind(&c.last_name)
            .bind(c.birth_date)
            .bind(c.school_level.as_str())
            .bind(&c.school)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn update_child(
        &self,
        family_id: Uuid,
        id: Uuid,
        c: &ChildInput,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = on_db!(self.db, |pool| {
            sqlx::query(
                "UPDATE children SET first_name = $3, last_name = $4, birth_date = $5, school_level = $6, school = $7, \
                 updated_at = $8 WHERE id = $1 AND family_id = $2",
            )
            .bind(id)
            .bind(family_id)
            .bind(&c.first_name)
            .bind(&c.last_name)
            .bind(c.birth_date)
            .bind(c.school_level.as_str())
            .bind(&c.school)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// "J'ai renseigné mes données".
    pub async fn confirm_child_data(
        &self,
        family_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = on_db!(self.db, |pool| {
            sqlx::query(
                "UPDATE children SET data_confirmed_at = $3 WHERE id = $1 AND family_id = $2",
            )
            .bind(id)
            .bind(family_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    // ---- authorized persons ------------------------------------------------------

    pub async fn authorized_persons(&self, child_id: Uuid) -> StoreResult<Vec<AuthorizedPerson>> {
        let sql = concat!(
            "SELECT ",
            person_columns!(),
            " FROM authorized_persons WHERE child_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<PersonRow> = on_db!(self.db, |pool| sqlx::query_as(sql)
            .bind(child_id)
            .fetch_all(pool)
            .await)?;
        Ok(rows.into_iter().map(AuthorizedPerson::from).collect())
    }

    pub async fn insert_authorized_person(
        &self,
        child_id: Uuid,
        id: Uuid,
        p: &AuthorizedPersonInput,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        on_db!(self.db, |pool| {
            sqlx::query(
                "INSERT INTO authorized_persons (id, child_id, first_name, last_name, quality, phone, mobile_phone, \
                 email, may_pick_up, emergency_contact, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(id)
            .bind(child_id)
            .bind(&p.first_name)
            .bind(&p.last_name)
            .bind(&p.quality)
            .bind(&p.phone)
            .bind(&p.mobile_phone)
            .bind(&p.email)
            .bind(p.may_pick_up)
            .bind(p.emergency_contact)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn update_authorized_person(
        &self,
        child_id: Uuid,
        id: Uuid,
        p: &AuthorizedPersonInput,
    ) -> StoreResult<bool> {
        let done = on_db!(self.db, |pool| {
            sqlx::query(
                "UPDATE authorized_persons SET first_name = $3, last_name = $4, quality = $5, phone = $6, \
                 mobile_phone = $7, email = $8, may_pick_up = $9, emergency_contact = $10 \
                 WHERE id = $1 AND child_id = $2",
            )
            .bind(id)
            .bind(child_id)
            .bind(&p.first_name)
            .bind(&p.last_name)
            .bind(&p.quality)
            .bind(&p.phone)
            .bind(&p.mobile_phone)
            .bind(&p.email)
            .bind(p.may_pick_up)
            .bind(p.emergency_contact)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    pub async fn delete_authorized_person(&self, child_id: Uuid, id: Uuid) -> StoreResult<bool> {
        let done = on_db!(self.db, |pool| {
            sqlx::query("DELETE FROM authorized_persons WHERE id = $1 AND child_id = $2")
                .bind(id)
                .bind(child_id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    // ---- consents ------------------------------------------------------------------

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
        on_db!(self.db, |pool| {
            sqlx::query("INSERT INTO consent_types (id, code, label, position, active) VALUES ($1, $2, $3, $4, TRUE)")
                .bind(id)
                .bind(code)
                .bind(label)
                .bind(position)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(super::unique_violation)?;
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

    /// Families whose dossier number, guardian or child name matches `query`
    /// (case-insensitive), newest first; pending dossiers only if asked.
    pub async fn search(
        &self,
        query: &str,
        status: Option<FamilyStatus>,
        limit: i64,
    ) -> StoreResult<Vec<FamilyHit>> {
        let pattern = format!("%{}%", query.trim().to_lowercase().replace(['%', '_'], ""));
        let number: i64 = query.trim().parse().unwrap_or(-1);
        let sql = concat!(
            "SELECT ",
            family_columns!("f."),
            " FROM families f WHERE ($3 IS NULL OR f.status = $3) AND ( \
               f.number = $2 OR $1 = '%%' \
               OR EXISTS (SELECT 1 FROM guardians g WHERE g.family_id = f.id AND \
                          (LOWER(g.last_name) LIKE $1 OR LOWER(g.first_name) LIKE $1 OR LOWER(COALESCE(g.email, '')) LIKE $1)) \
               OR EXISTS (SELECT 1 FROM children c WHERE c.family_id = f.id AND \
                          (LOWER(c.last_name) LIKE $1 OR LOWER(c.first_name) LIKE $1))) \
             ORDER BY f.created_at DESC LIMIT $4"
        );
        let rows: Vec<FamilyRow> = on_db!(self.db, |pool| {
            sqlx::query_as(sql)
                .bind(&pattern)
                .bind(number)
                .bind(status.map(|s| s.as_str()))
                .bind(limit)
                .fetch_all(pool)
                .await
        })?;
        let mut hits = Vec::with_capacity(rows.len());
        for family in rows {
            let guardians = self.guardians(family.id).await?;
            let children = self.children(family.id).await?;
            hits.push(FamilyHit {
                family,
                guardians,
                children,
            });
        }
        Ok(hits)
    }

    /// The login addresses of a family's guardians, to tell them something.
    pub async fn account_emails(&self, family_id: Uuid) -> StoreResult<Vec<String>> {
        Ok(on_db!(self.db, |pool| {
            sqlx::query_scalar(
                "SELECT email FROM accounts WHERE family_id = $1 AND disabled_at IS NULL ORDER BY created_at",
            )
            .bind(family_id)
            .fetch_all(pool)
            .await
        })?)
    }
}
