//! The family dossier: the household (its address, situation and quotient
//! familial, its validation by the services) and the staff's search, here; the
//! guardians and authorized persons in [`people`]; the children, their consents and
//! health records in [`children`]. Every child-scoped query names the family too,
//! so a foreign id simply finds nothing.

mod children;
mod people;

use chrono::{DateTime, NaiveDate, Utc};
use famille_model::api::{Address, Child, Guardian, Household, Quotient};
use famille_model::dossier::FamilyStatus;
use uuid::Uuid;

use super::{Db, StoreResult, execute, on_db, parse_stored, scalar};

pub struct Families<'a> {
    pub(super) db: &'a Db,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FamilyRow {
    pub id: Uuid,
    pub number: i64,
    #[sqlx(try_from = "String")]
    pub status: FamilyStatus,
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

/// One row of a staff search.
pub struct FamilyHit {
    pub family: FamilyRow,
    pub guardians: Vec<Guardian>,
    pub children: Vec<Child>,
}

impl Families<'_> {
    pub async fn count(&self) -> StoreResult<i64> {
        Ok(scalar!(one, self.db, "SELECT COUNT(*) FROM families")?)
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

    /// The family a child belongs to (staff routes start from a child id).
    pub async fn family_of_child(&self, child_id: Uuid) -> StoreResult<Option<Uuid>> {
        Ok(scalar!(
            optional,
            self.db,
            "SELECT family_id FROM children WHERE id = $1",
            child_id
        )?)
    }

    pub async fn update_household(
        &self,
        family_id: Uuid,
        h: &Household,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(execute!(
            self.db,
            "UPDATE families SET address_line1 = $2, address_line2 = $3, postal_code = $4, city = $5, \
                 phone = $6, situation = $7, dependent_children = $8, updated_at = $9 WHERE id = $1",
            family_id,
            &h.address.line1,
            &h.address.line2,
            &h.address.postal_code,
            &h.address.city,
            &h.phone,
            h.situation.map(|s| s.as_str()),
            h.dependent_children.map(i16::from),
            now
        )? == 1)
    }

    pub async fn update_quotient(
        &self,
        family_id: Uuid,
        q: Option<&Quotient>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(execute!(
            self.db,
            "UPDATE families SET qf_value = $2, qf_date = $3, qf_source = $4, updated_at = $5 WHERE id = $1",
            family_id,
            q.map(|q| i32::try_from(q.value).unwrap_or(i32::MAX)),
            q.map(|q| q.date),
            q.map(|q| q.source.as_str()),
            now
        )? == 1)
    }

    /// Pending -> active. `false` if the dossier was not pending.
    pub async fn validate(
        &self,
        family_id: Uuid,
        by: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        Ok(execute!(
            self.db,
            "UPDATE families SET status = 'active', validated_at = $2, validated_by = $3, updated_at = $2 \
                 WHERE id = $1 AND status = 'pending'",
            family_id,
            now,
            by
        )? == 1)
    }

    // ---- guardians -------------------------------------------------------------

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
        Ok(scalar!(
            all,
            self.db,
            "SELECT email FROM accounts WHERE family_id = $1 AND disabled_at IS NULL ORDER BY created_at",
            family_id
        )?)
    }
}
