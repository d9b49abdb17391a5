//! `sync()`: the documents waiting to be sent go first (an intent may need one),
//! then the queue of intents in order, then the change feed is pulled to its end,
//! with the dossier and the alerts. A network failure keeps everything for the next
//! try; a kill at any point loses no intent (the server applies a resent one once).

use chrono::Utc;
use famille_model::api::{Alert, Family, Service, SyncPage};
use famille_model::queue::{MutationBatch, MutationResult, MutationResults, MutationStatus};
use reqwest::Method;
use uuid::Uuid;

use crate::engine::Engine;
use crate::error::{CoreResult, Error};
use crate::store::Answer;
use crate::views::SyncReport;

/// Intents per request (the server takes 200 at most).
const PUSH_BATCH: usize = 100;

impl Engine {
    pub async fn sync(&self) -> CoreResult<SyncReport> {
        let _one = self.sync_lock.lock().await;
        let mut report = SyncReport::default();
        let outcome = async {
            // What the server takes, for captures made offline (best effort).
            if let Err(e) = self.learn_upload_limit().await
                && matches!(e, Error::Offline { .. } | Error::NotOurServer { .. })
            {
                return Err(e);
            }
            self.push_uploads(&mut report).await?;
            #[cfg(feature = "fault-injection")]
            if std::env::var("FAMILLE_CORE_FAULT").is_ok_and(|f| f == "abort_after_uploads") {
                // The restart test: killed once the attachments are in, before the
                // intents that need them leave.
                std::process::abort();
            }
            self.push_intents(&mut report).await?;
            self.pull(&mut report).await
        }
        .await;
        if let Err(e) = outcome {
            if matches!(e, Error::Offline { .. } | Error::NotOurServer { .. }) {
                self.note_failure()?;
            }
            return Err(e);
        }
        self.keep_clock()?;
        let store = self.store();
        store.set_meta("failures", "0")?;
        store.set_meta("last_sync_at", &Utc::now().to_rfc3339())?;
        Ok(report)
    }

    /// Sends the queue in order, in batches, and records each answer.
    async fn push_intents(&self, report: &mut SyncReport) -> CoreResult<()> {
        let orphans = self.store().reject_orphans()?;
        report.rejected += orphans as u32;
        let queued = self.store().pending_count()?;
        loop {
            let batch = self.store().to_send(PUSH_BATCH)?;
            if batch.is_empty() {
                return Ok(());
            }
            let ids: Vec<Uuid> = batch.iter().map(|m| m.id()).collect();
            self.store().mark_attempt(&ids)?;
            let body = MutationBatch {
                mutations: batch
                    .iter()
                    .map(serde_json::to_value)
                    .collect::<Result<_, _>>()?,
            };
            let answers = match self
                .authed::<MutationResults, _>(Method::POST, "/api/v1/mutations", Some(&body))
                .await
            {
                Ok(a) => a.results,
                // The whole batch refused (malformed): definitive, each is marked so
                // the queue is not wedged behind it.
                Err(Error::Rejected { code, detail }) => ids
                    .iter()
                    .map(|id| MutationResult {
                        id: *id,
                        status: MutationStatus::Rejected,
                        code: Some(code),
                        billed: false,
                        detail: Some(detail.clone()),
                        reservation_id: None,
                        thread_id: None,
                    })
                    .collect(),
                Err(e) => return Err(e),
            };
            #[cfg(feature = "fault-injection")]
            if std::env::var("FAMILLE_CORE_FAULT").is_ok_and(|f| f == "abort_after_push") {
                // The crash test: killed after the server answered, before the
                // answer is recorded.
                std::process::abort();
            }
            let recorded: Vec<Answer<'_>> = answers
                .iter()
                .map(|r| Answer {
                    id: r.id,
                    applied: r.status == MutationStatus::Applied,
                    code: r.code,
                    billed: r.billed,
                    detail: r.detail.as_deref(),
                })
                .collect();
            self.store().record_answers(&recorded)?;
            for r in &answers {
                report.sent += 1;
                match r.status {
                    MutationStatus::Applied => report.applied += 1,
                    MutationStatus::Rejected => report.rejected += 1,
                }
                if r.billed {
                    report.billed += 1;
                }
            }
            self.progress("envoi", report.sent as u64, queued);
        }
    }

    /// Pulls the change feed to its end, then the dossier and the alerts.
    async fn pull(&self, report: &mut SyncReport) -> CoreResult<()> {
        let mut cursor = self.store().cursor()?;
        loop {
            let page: SyncPage = self.fetch(&format!("/api/v1/sync?cursor={cursor}")).await?;
            report.changes += page.changes.len() as u32;
            self.store().apply_page(&page.changes, page.cursor)?;
            cursor = page.cursor;
            self.progress("réception", report.changes as u64, 0);
            if !page.has_more {
                break;
            }
        }
        self.fetch_invoice_lines().await?;
        let family: Family = self.fetch("/api/v1/family").await?;
        let alerts: Vec<Alert> = self.fetch("/api/v1/alerts").await?;
        let services: Vec<Service> = self.fetch("/api/v1/services").await?;
        let mut store = self.store();
        store.save_family(&family)?;
        store.save_alerts(&alerts)?;
        store.set_meta("services", &serde_json::to_string(&services)?)?;
        store.forget_applied()?;
        report.cursor = cursor;
        Ok(())
    }

    fn note_failure(&self) -> CoreResult<()> {
        let store = self.store();
        let failures: u32 = store
            .meta("failures")?
            .and_then(|f| f.parse().ok())
            .unwrap_or(0);
        store.set_meta("failures", &(failures + 1).to_string())
    }

    /// When to try again after failures: 5 s, 10 s, 20 s… up to 5 minutes.
    pub fn retry_delay_seconds(&self) -> CoreResult<u64> {
        let failures: u32 = self
            .store()
            .meta("failures")?
            .and_then(|f| f.parse().ok())
            .unwrap_or(0);
        Ok(if failures == 0 {
            0
        } else {
            (5u64 << (failures - 1).min(6)).min(300)
        })
    }

    pub fn last_sync_at(&self) -> CoreResult<Option<String>> {
        self.store().meta("last_sync_at")
    }
}
