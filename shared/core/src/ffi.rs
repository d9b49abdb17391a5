//! The uniffi layer: one `Core` object over [`Engine`], owning the tokio runtime its
//! network work runs on. Async methods are `suspend` in Kotlin, `async` in Swift and
//! Python; the local ones (calendar, intents) answer at once, offline.

use std::collections::HashMap;
use std::sync::Arc;

use crate::client::TokenStore;
use crate::engine::{Engine, ProgressListener};
use crate::error::{CoreError, CoreResult};
use crate::views::*;

/// The default capture settings (long side 2,000 px, colour, JPEG quality 80).
#[uniffi::export]
pub fn default_capture_options() -> crate::capture::CaptureOptions {
    crate::capture::CaptureOptions::default()
}

#[derive(uniffi::Object)]
pub struct Core {
    engine: Arc<Engine>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Core {
    fn drop(&mut self) {
        // Dropped from any thread (even an async one): never block on the workers.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Core {
    /// Runs `work` on the core's runtime; the caller's executor only awaits it.
    async fn run<T, F, Fut>(&self, work: F) -> CoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Engine>) -> Fut,
        Fut: std::future::Future<Output = CoreResult<T>> + Send + 'static,
    {
        let engine = self.engine.clone();
        let runtime = self.runtime.as_ref().expect("present until dropped");
        runtime
            .spawn(work(engine))
            .await
            .map_err(|e| CoreError::Storage {
                detail: format!("tâche interrompue : {e}"),
            })?
    }
}

#[uniffi::export]
impl Core {
    /// Opens the core on its data folder (created if needed) for a server.
    #[uniffi::constructor]
    pub fn new(
        data_dir: String,
        server_url: String,
        tokens: Arc<dyn TokenStore>,
        progress: Option<Arc<dyn ProgressListener>>,
    ) -> CoreResult<Arc<Core>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("famille-core")
            .enable_all()
            .build()
            .map_err(|e| CoreError::Storage {
                detail: e.to_string(),
            })?;
        let engine = Engine::open(data_dir.as_ref(), &server_url, tokens, progress)?;
        Ok(Arc::new(Core {
            engine: Arc::new(engine),
            runtime: Some(runtime),
        }))
    }

    pub async fn login(&self, email: String, password: String) -> CoreResult<()> {
        self.run(move |e| async move { e.login(&email, &password).await })
            .await
    }

    pub async fn logout(&self, device_token: Option<String>) -> CoreResult<()> {
        self.run(move |e| async move { e.logout(device_token).await })
            .await
    }

    pub fn is_logged_in(&self) -> bool {
        self.engine.is_logged_in()
    }

    pub async fn register_device(
        &self,
        platform: String,
        token: String,
        locale: String,
    ) -> CoreResult<()> {
        self.run(move |e| async move { e.register_device(&platform, &token, &locale).await })
            .await
    }

    /// Sends the queue, then pulls everything new.
    pub async fn sync(&self) -> CoreResult<SyncReport> {
        self.run(move |e| async move { e.sync().await }).await
    }

    /// A push arrived (its FCM `data`): syncs and says what to show.
    pub async fn handle_push(&self, data: HashMap<String, String>) -> CoreResult<PushDisplay> {
        self.run(move |e| async move { e.handle_push(&data).await })
            .await
    }

    pub fn children(&self) -> CoreResult<Vec<ChildView>> {
        self.engine.children()
    }

    /// A child's days from `from` to `to` (ISO dates, 62 days at most), offline.
    pub fn calendar(&self, child_id: String, from: String, to: String) -> CoreResult<Vec<DayView>> {
        self.engine.calendar_str(&child_id, &from, &to)
    }

    pub fn reserve(&self, child_id: String, session_id: String) -> CoreResult<String> {
        self.engine.reserve(&child_id, &session_id)
    }

    pub fn cancel(&self, reservation_id: String) -> CoreResult<String> {
        self.engine.cancel(&reservation_id)
    }

    pub fn join_waitlist(&self, child_id: String, session_id: String) -> CoreResult<String> {
        self.engine.join_waitlist(&child_id, &session_id)
    }

    pub fn leave_waitlist(&self, reservation_id: String) -> CoreResult<String> {
        self.engine.leave_waitlist(&reservation_id)
    }

    /// The intents not yet answered, and the rejected ones with the server's message.
    pub fn queue(&self) -> CoreResult<Vec<QueueItem>> {
        self.engine.queue()
    }

    pub fn dismiss_rejected(&self, mutation_id: String) -> CoreResult<bool> {
        self.engine.dismiss_rejected(&mutation_id)
    }

    pub fn alerts(&self) -> CoreResult<Vec<AlertView>> {
        self.engine.alerts()
    }

    pub fn documents(&self) -> CoreResult<Vec<DocumentView>> {
        self.engine.documents()
    }

    /// Prepares the camera's JPEG pages (upright, no metadata, resized, checked) and,
    /// for several pages, one PDF. Runs off the caller's thread; progress per page.
    pub async fn capture_document(
        &self,
        pages: Vec<Vec<u8>>,
        options: crate::capture::CaptureOptions,
    ) -> CoreResult<CapturedDocument> {
        self.run(move |e| async move { e.capture_document(&pages, &options) })
            .await
    }

    /// Queues a document for sending (works offline; `sync()` sends it, resumably).
    pub fn send_document(
        &self,
        document_type: String,
        child_id: Option<String>,
        bytes: Vec<u8>,
        filename: String,
    ) -> CoreResult<String> {
        self.engine
            .send_document(&document_type, child_id.as_deref(), &bytes, &filename)
    }

    pub fn outgoing_documents(&self) -> CoreResult<Vec<OutgoingView>> {
        self.engine.outgoing_documents()
    }

    pub fn forget_outgoing(&self, id: String) -> CoreResult<bool> {
        self.engine.forget_outgoing(&id)
    }

    /// Seconds to wait before the next automatic sync after failures (0: now).
    pub fn retry_delay_seconds(&self) -> CoreResult<u64> {
        self.engine.retry_delay_seconds()
    }

    pub fn last_sync_at(&self) -> CoreResult<Option<String>> {
        self.engine.last_sync_at()
    }
}
