//! The last server state the phone holds, and the pages of the change feed that
//! update it.

use famille_model::api::{
    ActivitySnapshot, Alert, Change, DocumentSnapshot, EntityKind, Family, Invoice, InvoiceLine,
    QuotientRecordView, ReservationSnapshot, SessionSnapshot, Thread,
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
            // An invoice's lines never change: a new status keeps them; its PDF
            // shows what is left to pay, so a change makes it fetched again.
            let mut upsert_invoice = tx.prepare_cached(
                "INSERT INTO invoices (id, issued_on, number, json) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (id) DO UPDATE SET issued_on = excluded.issued_on, number = excluded.number, \
                 pdf = CASE WHEN invoices.json = excluded.json THEN invoices.pdf END, json = excluded.json",
            )?;
            for change in changes {
                let id = change.id.to_string();
                let table = match change.entity {
                    EntityKind::Activity => "activities",
                    EntityKind::Session => "sessions",
                    EntityKind::Reservation => "reservations",
                    EntityKind::Document => "documents",
                    EntityKind::Invoice => "invoices",
                    EntityKind::Thread => "threads",
                    // One row: the family's records.
                    EntityKind::Quotient => {
                        match &change.quotients {
                            Some(records) if !change.deleted => tx.execute(
                                "INSERT INTO quotients (id, json) VALUES (1, ?1) \
                                 ON CONFLICT (id) DO UPDATE SET json = excluded.json",
                                [serde_json::to_string(records)?],
                            )?,
                            _ => tx.execute("DELETE FROM quotients", [])?,
                        };
                        continue;
                    }
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
                } else if let Some(t) = &change.thread {
                    tx.execute(
                        "INSERT INTO threads (id, last_message_at, json) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (id) DO UPDATE SET last_message_at = excluded.last_message_at, json = excluded.json",
                        params![id, t.last_message_at.to_rfc3339(), serde_json::to_string(t)?],
                    )?;
                } else if let Some(i) = &change.invoice {
                    upsert_invoice.execute(params![
                        id,
                        i.issued_on.to_string(),
                        i.number,
                        serde_json::to_string(i)?
                    ])?;
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

    /// The family's threads, the latest first.
    pub fn threads(&self) -> CoreResult<Vec<Thread>> {
        self.all_json(
            "SELECT json FROM threads ORDER BY last_message_at DESC, id",
            [],
        )
    }

    pub fn thread(&self, id: Uuid) -> CoreResult<Option<Thread>> {
        Ok(self
            .all_json("SELECT json FROM threads WHERE id = ?1", [id.to_string()])?
            .pop())
    }

    /// Keeps a thread as the phone now shows it (read before the server knows).
    pub fn save_thread(&self, thread: &Thread) -> CoreResult<()> {
        self.conn.execute(
            "UPDATE threads SET json = ?2 WHERE id = ?1",
            params![thread.id.to_string(), serde_json::to_string(thread)?],
        )?;
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

    /// Invoices and credit notes, newest first.
    pub fn invoices(&self) -> CoreResult<Vec<Invoice>> {
        self.all_json(
            "SELECT json FROM invoices ORDER BY issued_on DESC, number DESC",
            [],
        )
    }

    /// An invoice and its lines (`None` until they were fetched).
    pub fn invoice(&self, id: Uuid) -> CoreResult<Option<(Invoice, Option<Vec<InvoiceLine>>)>> {
        let row: Option<(String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT json, lines FROM invoices WHERE id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(json, lines)| {
            Ok((
                serde_json::from_str(&json)?,
                lines.map(|l| serde_json::from_str(&l)).transpose()?,
            ))
        })
        .transpose()
    }

    /// Invoices whose lines the phone has not fetched yet.
    pub fn invoices_without_lines(&self) -> CoreResult<Vec<Uuid>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM invoices WHERE lines IS NULL ORDER BY issued_on DESC",
        )?;
        let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
        let mut out = Vec::new();
        for id in ids {
            if let Ok(id) = Uuid::parse_str(&id?) {
                out.push(id);
            }
        }
        Ok(out)
    }

    pub fn save_invoice_lines(&self, id: Uuid, lines: &[InvoiceLine]) -> CoreResult<()> {
        self.conn.execute(
            "UPDATE invoices SET lines = ?2 WHERE id = ?1",
            params![id.to_string(), serde_json::to_string(lines)?],
        )?;
        Ok(())
    }

    /// An invoice's PDF, once fetched.
    pub fn invoice_pdf(&self, id: Uuid) -> CoreResult<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row(
                "SELECT pdf FROM invoices WHERE id = ?1",
                [id.to_string()],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .optional()?
            .flatten())
    }

    pub fn save_invoice_pdf(&self, id: Uuid, pdf: &[u8]) -> CoreResult<()> {
        self.conn.execute(
            "UPDATE invoices SET pdf = ?2 WHERE id = ?1",
            params![id.to_string(), pdf],
        )?;
        Ok(())
    }

    /// A year's certificates as last fetched, replacing the year's (a PDF already
    /// kept stays with its certificate: a certificate never changes).
    pub fn save_certificates(
        &mut self,
        year: i32,
        certificates: &[famille_model::api::Certificate],
    ) -> CoreResult<()> {
        let tx = self.conn.transaction()?;
        let keep: Vec<String> = certificates.iter().map(|c| c.id.to_string()).collect();
        let ids: Vec<String> = {
            let mut year_ids = tx.prepare("SELECT id FROM certificates WHERE year = ?1")?;
            year_ids
                .query_map([year], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        for id in ids.iter().filter(|id| !keep.contains(id)) {
            tx.execute("DELETE FROM certificates WHERE id = ?1", [id])?;
        }
        for c in certificates {
            tx.execute(
                "INSERT INTO certificates (id, year, json) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (id) DO UPDATE SET json = excluded.json",
                params![c.id.to_string(), year, serde_json::to_string(c)?],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A year's certificates as last fetched (payment first).
    pub fn certificates(&self, year: i32) -> CoreResult<Vec<famille_model::api::Certificate>> {
        let mut statement = self
            .conn
            .prepare("SELECT json FROM certificates WHERE year = ?1")?;
        let rows: Vec<String> = statement
            .query_map([year], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut all: Vec<famille_model::api::Certificate> = rows
            .iter()
            .map(|j| serde_json::from_str(j))
            .collect::<Result<_, _>>()?;
        all.sort_by_key(|c| c.kind);
        Ok(all)
    }

    /// `None`: no such certificate on the phone; `Some(None)`: its PDF not kept yet.
    pub fn certificate_pdf(&self, id: Uuid) -> CoreResult<Option<Option<Vec<u8>>>> {
        Ok(self
            .conn
            .query_row(
                "SELECT pdf FROM certificates WHERE id = ?1",
                [id.to_string()],
                |r| r.get::<_, Option<Vec<u8>>>(0),
            )
            .optional()?)
    }

    pub fn save_certificate_pdf(&self, id: Uuid, pdf: &[u8]) -> CoreResult<()> {
        self.conn.execute(
            "UPDATE certificates SET pdf = ?2 WHERE id = ?1",
            params![id.to_string(), pdf],
        )?;
        Ok(())
    }

    /// The family's QF records, as last synced.
    pub fn quotients(&self) -> CoreResult<Vec<QuotientRecordView>> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT json FROM quotients WHERE id = 1", [], |r| r.get(0))
            .optional()?;
        Ok(json
            .map(|j| serde_json::from_str(&j))
            .transpose()?
            .unwrap_or_default())
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
