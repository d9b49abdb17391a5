//! The core in plain Rust, behind a small facade: [`Engine`] holds the local store,
//! the HTTP client and the session's tokens; each feature lives in its own module
//! (`login`, `calendar`, `intents`, `sync`, `documents`, `push`) as methods of the
//! engine. The uniffi layer (`ffi.rs`) is a thin wrapper over it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::NaiveDate;
use uuid::Uuid;

use crate::client::{Api, TokenStore};
use crate::clock::{Clock, ClockView};
use crate::error::{CoreResult, Error};
use crate::store::Store;

/// Told how a long operation goes.
#[uniffi::export(with_foreign)]
pub trait ProgressListener: Send + Sync {
    /// `step`: "envoi", "réception", "document", "capture"; `done` out of `total`
    /// (0 when unknown).
    fn on_progress(&self, step: String, done: u64, total: u64);
}

pub struct Engine {
    store: Mutex<Store>,
    pub(crate) data_dir: PathBuf,
    pub(crate) api: Api,
    pub(crate) tokens: Arc<dyn TokenStore>,
    progress: Option<Arc<dyn ProgressListener>>,
    /// One sync at a time.
    pub(crate) sync_lock: tokio::sync::Mutex<()>,
    /// One token refresh at a time (a refresh token works once).
    pub(crate) auth_lock: tokio::sync::Mutex<()>,
}

impl Engine {
    pub fn open(
        data_dir: &Path,
        server_url: &str,
        tokens: Arc<dyn TokenStore>,
        progress: Option<Arc<dyn ProgressListener>>,
    ) -> CoreResult<Engine> {
        let store = Store::open(data_dir)?;
        let offset = store
            .meta("clock_offset")?
            .and_then(|s| s.parse::<i64>().ok());
        Ok(Engine {
            store: Mutex::new(store),
            data_dir: data_dir.to_owned(),
            api: Api::new(server_url, Arc::new(Clock::with_offset(offset))),
            tokens,
            progress,
            sync_lock: tokio::sync::Mutex::new(()),
            auth_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The time deadlines are judged on: the server's, as learnt from its answers
    /// (see [`crate::clock`]).
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.api.clock.now()
    }

    /// What the app can say of that time.
    pub fn clock(&self) -> ClockView {
        ClockView::of(&self.api.clock)
    }

    /// Keeps the learnt offset for the next start (offline, the phone still judges
    /// on the server's time).
    pub(crate) fn keep_clock(&self) -> CoreResult<()> {
        if self.api.clock.known() {
            self.store()
                .set_meta("clock_offset", &self.api.clock.offset_seconds().to_string())?;
        }
        Ok(())
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the store cannot leave SQLite half-written (every
        // write is a transaction), so a poisoned lock is safe to take over.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn progress(&self, step: &str, done: u64, total: u64) {
        if let Some(p) = &self.progress {
            p.on_progress(step.to_owned(), done, total);
        }
    }

    /// The folder of files waiting to be sent.
    pub(crate) fn outgoing_dir(&self) -> PathBuf {
        self.data_dir.join("outgoing")
    }
}

/// An id the app passed as a string.
pub(crate) fn uuid(s: &str, what: &str) -> CoreResult<Uuid> {
    s.parse()
        .map_err(|_| Error::invalid(format!("identifiant de {what} invalide")))
}

/// A date the app passed as a string (`AAAA-MM-JJ`).
pub(crate) fn parse_date(s: &str) -> CoreResult<NaiveDate> {
    s.parse()
        .map_err(|_| Error::invalid(format!("date invalide « {s} » (AAAA-MM-JJ)")))
}
