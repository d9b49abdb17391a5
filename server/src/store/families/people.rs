//! The guardians (responsables légaux) and the persons authorized to pick a child
//! up or to be called.

use chrono::{DateTime, Utc};
use famille_model::api::{AuthorizedPerson, AuthorizedPersonInput, Guardian, GuardianInput};
use uuid::Uuid;

use super::{Families, guardian_search_key};
use crate::store::{StoreResult, execute, in_tx, on_db};

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

macro_rules! person_columns {
    () => {
        "id, first_name, last_name, quality, phone, mobile_phone, email, may_pick_up, emergency_contact"
    };
}

impl Families<'_> {
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

    pub async fn update_guardian(
        &self,
        family_id: Uuid,
        guardian_id: Uuid,
        g: &GuardianInput,
    ) -> StoreResult<bool> {
        Ok(execute!(
            self.db,
            "UPDATE guardians SET first_name = $3, last_name = $4, email = $5, mobile_phone = $6, work_phone = $7, \
                 search_key = $8 WHERE id = $1 AND family_id = $2",
            guardian_id,
            family_id,
            &g.first_name,
            &g.last_name,
            &g.email,
            &g.mobile_phone,
            &g.work_phone,
            guardian_search_key(&g.first_name, &g.last_name, g.email.as_deref())
        )? == 1)
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
                    "INSERT INTO guardians (id, family_id, rank, first_name, last_name, email, mobile_phone, work_phone, search_key) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(id)
                .bind(family_id)
                .bind(rank)
                .bind(&g.first_name)
                .bind(&g.last_name)
                .bind(&g.email)
                .bind(&g.mobile_phone)
                .bind(&g.work_phone)
                .bind(guardian_search_key(&g.first_name, &g.last_name, g.email.as_deref()))
                .execute(&mut *tx)
                .await
                .map_err(crate::store::unique_violation)?;
                Some(rank as u8)
            }
        });
        Ok(rank)
    }

    // ---- children ----------------------------------------------------------------

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
        execute!(
            self.db,
            "INSERT INTO authorized_persons (id, child_id, first_name, last_name, quality, phone, mobile_phone, \
                 email, may_pick_up, emergency_contact, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            id,
            child_id,
            &p.first_name,
            &p.last_name,
            &p.quality,
            &p.phone,
            &p.mobile_phone,
            &p.email,
            p.may_pick_up,
            p.emergency_contact,
            now
        )?;
        Ok(())
    }

    pub async fn update_authorized_person(
        &self,
        child_id: Uuid,
        id: Uuid,
        p: &AuthorizedPersonInput,
    ) -> StoreResult<bool> {
        Ok(execute!(
            self.db,
            "UPDATE authorized_persons SET first_name = $3, last_name = $4, quality = $5, phone = $6, \
                 mobile_phone = $7, email = $8, may_pick_up = $9, emergency_contact = $10 \
                 WHERE id = $1 AND child_id = $2",
            id,
            child_id,
            &p.first_name,
            &p.last_name,
            &p.quality,
            &p.phone,
            &p.mobile_phone,
            &p.email,
            p.may_pick_up,
            p.emergency_contact
        )? == 1)
    }

    pub async fn delete_authorized_person(&self, child_id: Uuid, id: Uuid) -> StoreResult<bool> {
        Ok(execute!(
            self.db,
            "DELETE FROM authorized_persons WHERE id = $1 AND child_id = $2",
            id,
            child_id
        )? == 1)
    }

    // ---- consents ------------------------------------------------------------------
}
