//! The uniffi layer: one `Core` object over [`Engine`], owning the tokio runtime its
//! network work runs on. Async methods are `suspend` in Kotlin, `async` in Swift and
//! Python; the local ones (calendar, intents) answer at once, offline. Nothing here
//! decides: each method forwards, and internal errors become [`CoreError`] here.

use std::collections::HashMap;
use std::sync::Arc;

use famille_model::api::Platform;

use crate::client::TokenStore;
use crate::engine::{Engine, ProgressListener};
use crate::error::{CoreError, Error};
use crate::views::*;

type FfiResult<T> = Result<T, CoreError>;

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
    async fn run<T, F, Fut>(&self, work: F) -> FfiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Engine>) -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>> + Send + 'static,
    {
        let engine = self.engine.clone();
        let runtime = self.runtime.as_ref().expect("present until dropped");
        match runtime.spawn(work(engine)).await {
            Ok(result) => result.map_err(CoreError::from),
            // A panic or a shutdown: a bug of the core, not its storage.
            Err(e) => Err(Error::Crashed(e.to_string()).into()),
        }
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
    ) -> FfiResult<Arc<Core>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("famille-core")
            .enable_all()
            .build()
            .map_err(|e| CoreError::from(Error::Crashed(e.to_string())))?;
        let engine = Engine::open(data_dir.as_ref(), &server_url, tokens, progress)?;
        Ok(Arc::new(Core {
            engine: Arc::new(engine),
            runtime: Some(runtime),
        }))
    }

    pub async fn login(&self, email: String, password: String) -> FfiResult<()> {
        self.run(move |e| async move { e.login(&email, &password).await })
            .await
    }

    pub async fn logout(&self, device_token: Option<String>) -> FfiResult<()> {
        self.run(move |e| async move { e.logout(device_token).await })
            .await
    }

    pub fn is_logged_in(&self) -> bool {
        self.engine.is_logged_in()
    }

    pub async fn register_device(
        &self,
        platform: Platform,
        token: String,
        locale: String,
    ) -> FfiResult<()> {
        self.run(move |e| async move { e.register_device(platform, &token, &locale).await })
            .await
    }

    /// Sends the queue, then pulls everything new.
    pub async fn sync(&self) -> FfiResult<SyncReport> {
        self.run(move |e| async move { e.sync().await }).await
    }

    /// A push arrived (its FCM `data`): syncs and says what to show.
    pub async fn handle_push(&self, data: HashMap<String, String>) -> FfiResult<PushDisplay> {
        self.run(move |e| async move { e.handle_push(&data).await })
            .await
    }

    /// The time deadlines are judged on: the server's, learnt at each answer; and
    /// what to say when the phone's clock is off or the server's time unknown.
    pub fn clock(&self) -> crate::clock::ClockView {
        self.engine.clock()
    }

    /// The largest document the server takes, in bytes (learnt at sync; 10 MiB
    /// until then): captures are fitted under it, larger files refused at once.
    pub fn upload_limit(&self) -> u64 {
        self.engine.upload_limit()
    }

    pub fn children(&self) -> FfiResult<Vec<ChildView>> {
        self.engine.children().map_err(Into::into)
    }

    /// A child's days from `from` to `to` (ISO dates, 62 days at most), offline.
    pub fn calendar(&self, child_id: String, from: String, to: String) -> FfiResult<Vec<DayView>> {
        self.engine
            .calendar_str(&child_id, &from, &to)
            .map_err(Into::into)
    }

    pub fn reserve(&self, child_id: String, session_id: String) -> FfiResult<String> {
        self.engine
            .reserve(&child_id, &session_id)
            .map_err(Into::into)
    }

    pub fn cancel(&self, reservation_id: String) -> FfiResult<String> {
        self.engine.cancel(&reservation_id).map_err(Into::into)
    }

    pub fn join_waitlist(&self, child_id: String, session_id: String) -> FfiResult<String> {
        self.engine
            .join_waitlist(&child_id, &session_id)
            .map_err(Into::into)
    }

    pub fn leave_waitlist(&self, reservation_id: String) -> FfiResult<String> {
        self.engine
            .leave_waitlist(&reservation_id)
            .map_err(Into::into)
    }

    /// The intents not yet answered, and the rejected ones with the server's message.
    pub fn queue(&self) -> FfiResult<Vec<QueueItem>> {
        self.engine.queue().map_err(Into::into)
    }

    /// The parent read a refusal, or the notice of a billed cancellation.
    pub fn dismiss_rejected(&self, mutation_id: String) -> FfiResult<bool> {
        self.engine.dismiss(&mutation_id).map_err(Into::into)
    }

    pub fn alerts(&self) -> FfiResult<Vec<AlertView>> {
        self.engine.alerts().map_err(Into::into)
    }

    pub fn documents(&self) -> FfiResult<Vec<DocumentView>> {
        self.engine.documents().map_err(Into::into)
    }

    /// « Mes factures », newest first, offline.
    pub fn invoices(&self) -> FfiResult<Vec<crate::views::InvoiceView>> {
        self.engine.invoices().map_err(Into::into)
    }

    /// The PDF of an invoice (fetched once, then offline): the bytes to hand to
    /// the system's viewer.
    pub async fn invoice_pdf(&self, invoice_id: String) -> FfiResult<Vec<u8>> {
        self.run(move |e| async move { e.invoice_pdf(&invoice_id).await })
            .await
    }

    /// Starts paying an invoice online (PayFiP): the page to open in the system
    /// browser; the parent comes back through `portailfamille://paiements/{id}`.
    pub async fn start_payment(
        &self,
        invoice_id: String,
    ) -> FfiResult<crate::views::PaymentStartView> {
        self.run(move |e| async move { e.start_payment(&invoice_id).await })
            .await
    }

    /// How a payment stands (after the return or the push); once settled, the
    /// invoices are synced.
    pub async fn payment(&self, payment_id: String) -> FfiResult<crate::views::PaymentView> {
        self.run(move |e| async move { e.payment(&payment_id).await })
            .await
    }

    /// A year's payment and tax certificates (the server's when online, else the
    /// ones kept on the phone).
    pub async fn certificates(&self, year: i32) -> FfiResult<Vec<crate::views::CertificateView>> {
        self.run(move |e| async move { e.certificates(year).await })
            .await
    }

    /// A certificate's PDF (fetched once, then offline).
    pub async fn certificate_pdf(&self, certificate_id: String) -> FfiResult<Vec<u8>> {
        self.run(move |e| async move { e.certificate_pdf(&certificate_id).await })
            .await
    }

    /// An invoice with its lines, offline.
    pub fn invoice(&self, invoice_id: String) -> FfiResult<crate::views::InvoiceDetailView> {
        self.engine.invoice(&invoice_id).map_err(Into::into)
    }

    /// Prepares the camera's JPEG pages (upright, no metadata, resized, checked) and,
    /// for several pages, one PDF. Runs off the caller's thread; progress per page.
    pub async fn capture_document(
        &self,
        pages: Vec<Vec<u8>>,
        options: crate::capture::CaptureOptions,
    ) -> FfiResult<CapturedDocument> {
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
    ) -> FfiResult<String> {
        self.engine
            .send_document(&document_type, child_id.as_deref(), &bytes, &filename)
            .map_err(Into::into)
    }

    pub fn outgoing_documents(&self) -> FfiResult<Vec<OutgoingView>> {
        self.engine.outgoing_documents().map_err(Into::into)
    }

    pub fn forget_outgoing(&self, id: String) -> FfiResult<bool> {
        self.engine.forget_outgoing(&id).map_err(Into::into)
    }

    /// The services the family may write to (as of the last sync).
    pub fn services(&self) -> FfiResult<Vec<ServiceView>> {
        self.engine.services().map_err(Into::into)
    }

    /// The MESSAGES tab: threads, the latest first (offline; opened offline too).
    pub fn threads(&self) -> FfiResult<Vec<ThreadSummaryView>> {
        self.engine.threads().map_err(Into::into)
    }

    /// A thread's messages, with those still on the phone.
    pub fn thread(&self, thread_id: String) -> FfiResult<ThreadView> {
        self.engine.thread(&thread_id).map_err(Into::into)
    }

    /// Queues a photo or PDF for a message; its id goes in `send_message`.
    pub fn attach_file(&self, bytes: Vec<u8>, filename: String) -> FfiResult<String> {
        self.engine
            .attach_file(&bytes, &filename)
            .map_err(Into::into)
    }

    /// Writes a message (offline too): in `thread_id`, or opening a thread with
    /// `service_id` and `subject`. Returns the intent's id.
    pub fn send_message(
        &self,
        thread_id: Option<String>,
        service_id: Option<String>,
        subject: Option<String>,
        body: String,
        attachment_ids: Vec<String>,
    ) -> FfiResult<String> {
        self.engine
            .send_message(
                thread_id.as_deref(),
                service_id.as_deref(),
                subject.as_deref(),
                &body,
                &attachment_ids,
            )
            .map_err(Into::into)
    }

    /// The parent opened the thread (the services will see « lu »).
    pub fn mark_thread_read(&self, thread_id: String) -> FfiResult<()> {
        self.engine.mark_thread_read(&thread_id).map_err(Into::into)
    }

    /// An attachment's bytes (online).
    pub async fn attachment(&self, thread_id: String, attachment_id: String) -> FfiResult<Vec<u8>> {
        self.run(move |e| async move { e.attachment(&thread_id, &attachment_id).await })
            .await
    }

    /// Seconds to wait before the next automatic sync after failures (0: now).
    pub fn retry_delay_seconds(&self) -> FfiResult<u64> {
        self.engine.retry_delay_seconds().map_err(Into::into)
    }

    pub fn last_sync_at(&self) -> FfiResult<Option<String>> {
        self.engine.last_sync_at().map_err(Into::into)
    }
}
