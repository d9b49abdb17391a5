//! Portail Famille server: the HTTP API over a store (SQLite or PostgreSQL), mail,
//! push, and the jobs (the push dispatcher, the hourly chores).
//!
//! One folder per area (`accounts`, `families`, `catalog`, `bookings`, `documents`,
//! `messages`, `notifications`…): its service functions in `mod.rs`, its thin routes in
//! `http.rs`, its SQL in `store/<area>`; the rules are `famille_model`'s. See
//! ARCHITECTURE.md at the root of the repository.

pub mod accounts;
pub mod alerts;
pub mod billing;
pub mod bookings;
pub mod catalog;
pub mod certificates;
pub mod clock;
pub mod config;
#[cfg(feature = "dev-tools")]
pub mod dev;
pub mod devices;
pub mod documents;
pub mod error;
pub mod families;
pub mod http;
pub mod input;
pub mod mail;
pub mod messages;
pub mod notifications;
pub mod openapi;
pub mod payments;
pub mod pdf;
pub mod queue;
pub mod ratelimit;
pub mod requests;
pub mod state;
pub mod store;
pub mod sync;

use std::net::SocketAddr;

use config::Config;
use state::AppState;
use store::Db;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Mail(#[from] mail::MailError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    App(#[from] error::AppError),
    #[error(transparent)]
    Push(#[from] notifications::fcm::CredentialsError),
    #[error(transparent)]
    Files(#[from] documents::files::FilesError),
}

/// Opens and migrates the database and prepares everything a handler needs.
pub async fn start(config: Config) -> Result<AppState, StartError> {
    let db = Db::connect(&config.database_url, config.database_max_connections).await?;
    db.migrate().await?;
    let mailer = mail::Mailer::new(
        config.smtp_url.as_deref(),
        config.outbox_dir(),
        &config.mail_from,
    )?;
    let push = match &config.fcm_credentials {
        Some(path) => {
            let account = notifications::fcm::ServiceAccount::load(path)?;
            Some(notifications::fcm::FcmClient::new(
                account,
                &config.fcm_endpoint,
            )?)
        }
        None => None,
    };
    let files = documents::files::Files::from_config(&config)?;
    std::fs::create_dir_all(config.uploads_dir()).map_err(documents::files::FilesError::Io)?;
    Ok(AppState::new(config, db, mailer, push, files))
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn serve(state: AppState, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = http::router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
