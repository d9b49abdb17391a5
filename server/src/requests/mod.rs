//! Démarches (issue 13; the guide's « Mes démarches »): the kinds of request, their
//! fields and proofs, served so that the apps draw their forms from data. The
//! kinds and their rules are the model's (`famille_model::requests`); submitting,
//! deciding and the effects of each kind come next.

pub mod http;

use famille_model::requests::{RequestSpec, specs};

/// Every kind of request with its form.
pub fn kinds() -> Vec<RequestSpec> {
    specs()
}
