//! What every handler shares.

use std::ops::Deref;
use std::sync::Arc;

use crate::accounts::password::PasswordHasher;
use crate::accounts::tokens::JwtKeys;
use crate::billing::api_particulier::{ApiParticulier, QuotientProvider};
use crate::clock::Clock;
use crate::config::Config;
use crate::documents::files::Files;
use crate::mail::Mailer;
use crate::notifications::fcm::FcmClient;
use crate::payments::payfip::PayfipClient;
use crate::ratelimit::Limits;
use crate::store::Db;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub db: Db,
    pub clock: Clock,
    pub hasher: PasswordHasher,
    pub mailer: Mailer,
    pub limits: Limits,
    pub jwt: JwtKeys,
    /// FCM HTTP v1, when credentials are configured.
    pub push: Option<Arc<FcmClient>>,
    /// Documents' files.
    pub files: Files,
    /// Where agents fetch a family's QF (API Particulier; without a key it answers
    /// that it is not configured).
    pub quotient_provider: Arc<dyn QuotientProvider>,
    /// The DGFiP's PayFiP (or its stand-in), for online payments.
    pub payfip: PayfipClient,
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(
        config: Config,
        db: Db,
        mailer: Mailer,
        push: Option<FcmClient>,
        files: Files,
    ) -> AppState {
        // The outbox writes pushes only when there is a way to send them.
        db.set_push_enabled(push.is_some());
        AppState(Arc::new(Shared {
            hasher: PasswordHasher::new(config.max_concurrent_hashes),
            limits: Limits::new(config.rate_limit_per_address),
            jwt: JwtKeys::new(&config.jwt_secret),
            clock: Clock::default(),
            quotient_provider: Arc::new(ApiParticulier::from_config(&config)),
            payfip: PayfipClient::new(&config.payfip_endpoint, &config.payfip_page_url),
            config,
            db,
            mailer,
            push: push.map(Arc::new),
            files,
        }))
    }
}
