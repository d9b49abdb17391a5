//! The last server state the phone holds, and the pages of the change feed that
//! update it.

use famille_model::api::{
    ActivitySnapshot, Alert, Change, DocumentSnapshot, EntityKind, Family, ReservationSnapshot,
    SessionSnapshot,
};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::Store;
use crate::error::CoreResult;

impl Store {
    /// Applies one page of the change feed and moves the cursor, atomically: a kill
    /// in the middle leaves the previous page's state and cursor.
    pub fn apply_page(&mut self, changes: &[Change], cursor: i64) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        {
            let mut upsert_activity = tx.prepare_cached(
                "INSERT INTO activities (id, json) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET json = excluded.json",
            )?;
            let mut upsert_session = tx.prepare_cached(
                "INSERT INTO sessions (id, activity_id, date, json) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (id) DO UPDATE SET activity_id = excluded.activity_id, date = excluded.date, json = excluded.json",
            )?;
            let mut upsert_reservation = tx.prepare_cached(
                "INSERT INTO reservations (id, child_id, session_id, json) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (id) DO UPDATE SET child_id = excluded.child_id, session_id = excluded.session_id, json = excluded.json",
            )?;
            let mut upsert_document = tx.prepare_cached(
                "INSERT INTO documents (id, json) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET json = excluded.json",
            )?;
            for change in changes {
                let id = change.id.to_string();
                let table = match change.entity {
                    EntityKind::Activity => "activities",
                    EntityKind::Session => "sessions",
                    EntityKind::Reservation => "reservations",
                    EntityKind::Document => "documents",
                };
                if change.deleted {
                    tx.execute(&format!("DELETE FROM {table} WHERE id = ?1"), [&id])?;
                    continue;
                }
                if let Some(a) = &change.activity {
                    upsert_activity.execute(params![id, serde_json::to_string(a)?])?;
                } else if let Some(s) = &change.session {
                    upsert_session.execute(params![
                        id,
                        s.activity_id.to_string(),
                        s.date.to_string(),
                        serde_json::to_string(s)?
                    ])?;
                } else if let Some(r) = &change.reservation {
                    upsert_reservation.execute(params![
                        id,
                        r.child_id.to_string(),
                        r.session_id.to_string(),
                        serde_json::to_string(r)?
                    ])?;
                } else if let Some(d) = &change.document {
                    upsert_document.execute(params![id, serde_json::to_string(d)?])?;
                }
            }
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('cursor', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [cursor.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn save_family(&mut self, family: &Family) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM family", [])?;
        tx.execute(
            "INSERT INTO family (id, json) VALUES (?1, ?2)",
            params![family.id.to_string(), serde_json::to_string(family)?],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn family(&self) -> CoreResult<Option<Family>> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT json FROM family", [], |r| r.get(0))
            .optional()?;
        Ok(json.map(|j| serde_json::from_str(&j)).transpose()?)
    }

    pub fn save_alerts(&mut self, alerts: &[Alert]) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM alerts", [])?;
        for (i, a) in alerts.iter().enumerate() {
            tx.execute(
                "INSERT INTO alerts (position, json) VALUES (?1, ?2)",
                params![i as i64, serde_json::to_string(a)?],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn alerts(&self) -> CoreResult<Vec<Alert>> {
        self.all_json("SELECT json FROM alerts ORDER BY position", [])
    }

    fn all_json<T: serde::de::DeserializeOwned, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
    ) -> CoreResult<Vec<T>> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for json in rows {
            out.push(serde_json::from_str(&json?)?);
        }
        Ok(out)
    }

    pub fn activities(&self) -> CoreResult<Vec<ActivitySnapshot>> {
        self.all_json("SELECT json FROM activities", [])
    }

    pub fn sessions_between(&self, from: &str, to: &str) -> CoreResult<Vec<SessionSnapshot>> {
        self.all_json(
            "SELECT json FROM sessions WHERE date >= ?1 AND date <= ?2 ORDER BY date, id",
            [from, to],
        )
    }

    pub fn session(&self, id: Uuid) -> CoreResult<Option<SessionSnapshot>> {
        Ok(self
            .all_json("SELECT json FROM sessions WHERE id = ?1", [id.to_string()])?
            .pop())
    }

    pub fn activity(&self, id: Uuid) -> CoreResult<Option<ActivitySnapshot>> {
        Ok(self
            .all_json(
                "SELECT json FROM activities WHERE id = ?1",
                [id.to_string()],
            )?
            .pop())
    }

    /// A child's reservations, newest first.
    pub fn child_reservations(&self, child_id: Uuid) -> CoreResult<Vec<ReservationSnapshot>> {
        let mut all: Vec<ReservationSnapshot> = self.all_json(
            "SELECT json FROM reservations WHERE child_id = ?1",
            [child_id.to_string()],
        )?;
        all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then(b.id.cmp(&a.id)));
        Ok(all)
    }

    pub fn reservation(&self, id: Uuid) -> CoreResult<Option<ReservationSnapshot>> {
        Ok(self
            .all_json(
                "SELECT json FROM reservations WHERE id = ?1",
                [id.to_string()],
            )?
            .pop())
    }

    pub fn documents(&self) -> CoreResult<Vec<DocumentSnapshot>> {
        let mut docs: Vec<DocumentSnapshot> = self.all_json("SELECT json FROM documents", [])?;
        docs.sort_by_key(|d| std::cmp::Reverse(d.submitted_at));
        Ok(docs)
    }
}
