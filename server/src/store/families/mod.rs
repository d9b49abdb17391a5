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
use famille_model::text;
use uuid::Uuid;

use super::{Db, StoreResult, execute, on_db, parse_stored, scalar};

/// The key a guardian is found by: names and login address, folded
/// ([`text::search_key`]).
pub(crate) fn guardian_search_key(
    first_name: &str,
    last_name: &str,
    email: Option<&str>,
) -> String {
    text::search_key(&format!("{first_name} {last_name} {}", email.unwrap_or("")))
}

/// The key a child is found by: names, folded.
pub(crate) fn child_search_key(first_name: &str, last_name: &str) -> String {
    text::search_key(&format!("{first_name} {last_name}"))
}

/// Words of a search that count (at most this many; more narrow nothing useful).
const SEARCH_WORDS: usize = 4;

/// One word of the search: found in a guardian's or a child's key.
macro_rules! word_matches {
    ($n:literal) => {
        concat!(
            " AND (EXISTS (SELECT 1 FROM guardians g WHERE g.family_id = f.id AND g.search_key LIKE $",
            $n,
            ") OR EXISTS (SELECT 1 FROM children c WHERE c.family_id = f.id AND c.search_key LIKE $",
            $n,
            "))"
        )
    };
}

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
    /// An agent lifted the unpaid-invoices rule for this family.
    pub unpaid_block_lifted: bool,
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
            "qf_source, ",
            $p,
            "unpaid_block_lifted"
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

    /// Lifts (or restores) the unpaid-invoices rule for a family; `false` if unknown.
    pub async fn set_unpaid_block_lifted(
        &self,
        family_id: Uuid,
        lifted: bool,
    ) -> StoreResult<bool> {
        Ok(execute!(
            self.db,
            "UPDATE families SET unpaid_block_lifted = $2 WHERE id = $1",
            family_id,
            lifted
        )? == 1)
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

    /// Families whose dossier number is `query`, or where each word of `query` is
    /// found in a guardian's name or address or a child's name, ignoring case,
    /// accents and word order ("dupré noël" finds "Noël DUPRE"); newest first,
    /// pending dossiers only if asked.
    pub async fn search(
        &self,
        query: &str,
        status: Option<FamilyStatus>,
        limit: i64,
        today: NaiveDate,
    ) -> StoreResult<Vec<FamilyHit>> {
        let key = text::search_key(&query.replace(['%', '_', '\\'], " "));
        let mut words: Vec<String> = key
            .split(' ')
            .filter(|w| !w.is_empty())
            .take(SEARCH_WORDS)
            .map(|w| format!("%{w}%"))
            .collect();
        let any_word = !words.is_empty();
        words.resize(SEARCH_WORDS, "%".to_owned());
        let number: i64 = query.trim().parse().unwrap_or(-1);
        let sql = concat!(
            "SELECT ",
            family_columns!("f."),
            " FROM families f WHERE ($1 IS NULL OR f.status = $1) AND (f.number = $2 OR ($3",
            word_matches!("4"),
            word_matches!("5"),
            word_matches!("6"),
            word_matches!("7"),
            ")) ORDER BY f.created_at DESC LIMIT $8"
        );
        let rows: Vec<FamilyRow> = on_db!(self.db, |pool| {
            sqlx::query_as(sql)
                .bind(status.map(|s| s.as_str()))
                .bind(number)
                .bind(any_word || query.trim().is_empty())
                .bind(&words[0])
                .bind(&words[1])
                .bind(&words[2])
                .bind(&words[3])
                .bind(limit)
                .fetch_all(pool)
                .await
        })?;
        let mut hits = Vec::with_capacity(rows.len());
        for family in rows {
            let guardians = self.guardians(family.id).await?;
            let children = self.children(family.id, today).await?;
            hits.push(FamilyHit {
                family,
                guardians,
                children,
            });
        }
        Ok(hits)
    }

    /// Gives their search key to the guardians and children written before keys
    /// existed (run once the migrations are applied); returns how many rows.
    pub async fn fill_search_keys(&self) -> StoreResult<u64> {
        let guardians: Vec<(Uuid, String, String, Option<String>)> = on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, first_name, last_name, email FROM guardians WHERE search_key IS NULL",
            )
            .fetch_all(pool)
            .await
        })?;
        let children: Vec<(Uuid, String, String)> = on_db!(self.db, |pool| {
            sqlx::query_as(
                "SELECT id, first_name, last_name FROM children WHERE search_key IS NULL",
            )
            .fetch_all(pool)
            .await
        })?;
        let mut filled = 0;
        for (id, first, last, email) in guardians {
            let key = guardian_search_key(&first, &last, email.as_deref());
            filled += execute!(
                self.db,
                "UPDATE guardians SET search_key = $2 WHERE id = $1",
                id,
                key
            )?;
        }
        for (id, first, last) in children {
            let key = child_search_key(&first, &last);
            filled += execute!(
                self.db,
                "UPDATE children SET search_key = $2 WHERE id = $1",
                id,
                key
            )?;
        }
        Ok(filled)
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
