//! A local stand-in for PayFiP, for the tests and the demo: the SOAP web service
//! (`creerPaiementSecurise`, `recupererDetailPaiementSecurise`, with the service's
//! envelope, namespaces and `FonctionnelleErreur` faults: `P1` unknown operation,
//! `P5` payment in progress) and the payment page, where a tester chooses paid,
//! refused or abandoned; the stand-in then POSTs the form `idop=…` to the
//! notification URL and sends the browser back to the return URL.
//!
//! Scriptable: the notification late, twice or never; the amount actually paid
//! different from the one asked; the service unavailable or hanging. Validation
//! faults other than `P1` and `P5` carry the stand-in's own codes (`S1`…): the
//! DGFiP's list is in its integration guide, and our client treats every
//! unknown code the same way.
//!
//! `famille-server payfip-standin` runs it and prints the settings that use it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::payments::payfip::{Envelope, answer_envelope, fault_envelope, read_envelope};

/// Path of the SOAP service and of the payment page, as at the DGFiP.
pub const SERVICE_PATH: &str = "/tpa/services/securite";
pub const PAGE_PATH: &str = "/tpa/paiementws.web";

/// How the next SOAP calls are answered, whatever they ask.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScriptedCall {
    /// HTTP 503 with an HTML page (a proxy's).
    Unavailable,
    /// No answer for two minutes.
    Hang,
    /// A `FonctionnelleErreur` with this code.
    Fault(String),
}

/// How the notification of the next payments made on the page is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notify {
    /// Before sending the browser back (PayFiP's usual order).
    Before,
    /// After sending the browser back, with this delay (ms).
    Late(u64),
    /// Twice, at once.
    Twice,
    /// Never (the server's periodic check must find it).
    Never,
}

#[derive(Debug, Clone)]
struct Operation {
    numcli: String,
    exer: String,
    refdet: String,
    montant: i64,
    mel: String,
    objet: String,
    saisie: String,
    urlnotif: String,
    urlredirect: String,
    /// `None` while the payer is on the page.
    resultrans: Option<String>,
    /// What was actually taken (a scripted mismatch), else `montant`.
    paid: i64,
}

#[derive(Default)]
struct Shared {
    operations: Mutex<HashMap<String, Operation>>,
    calls: Mutex<VecDeque<ScriptedCall>>,
    notify: Mutex<VecDeque<Notify>>,
    paid_amount: Mutex<VecDeque<i64>>,
    counter: AtomicUsize,
    notifications_sent: AtomicUsize,
    soap_calls: AtomicUsize,
}

/// A running stand-in. Dropping it stops the server.
pub struct StandIn {
    /// Base URL: the service is `{url}/tpa/services/securite`, the page
    /// `{url}/tpa/paiementws.web`.
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The outcome a tester picks on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Paid,
    Refused,
    Abandoned,
}

impl Choice {
    fn resultrans(self) -> &'static str {
        match self {
            Choice::Paid => "P",
            Choice::Refused => "R",
            Choice::Abandoned => "A",
        }
    }
}

impl StandIn {
    pub async fn start(listen: SocketAddr) -> std::io::Result<StandIn> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        let task = tokio::spawn(async move {
            let app = Router::new()
                .route(SERVICE_PATH, post(soap))
                .route(PAGE_PATH, get(page).post(choose))
                .route("/_standin/script", post(script))
                .with_state(state);
            let _ = axum::serve(listener, app).await;
        });
        Ok(StandIn { url, shared, task })
    }

    /// The service endpoint, for `FAMILLE_PAYFIP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("{}{SERVICE_PATH}", self.url)
    }

    /// The payment page, for `FAMILLE_PAYFIP_PAGE_URL`.
    pub fn page_url(&self) -> String {
        format!("{}{PAGE_PATH}", self.url)
    }

    /// The next SOAP calls get these answers.
    pub fn script_calls(&self, answers: impl IntoIterator<Item = ScriptedCall>) {
        lock(&self.shared.calls).extend(answers);
    }

    /// The next payments notify this way (default: [`Notify::Before`]).
    pub fn script_notify(&self, how: impl IntoIterator<Item = Notify>) {
        lock(&self.shared.notify).extend(how);
    }

    /// The next payment takes this amount instead of the one asked.
    pub fn script_paid_amount(&self, cents: i64) {
        lock(&self.shared.paid_amount).push_back(cents);
    }

    /// What the page does when the tester clicks: records the outcome, notifies as
    /// scripted, and gives the URL the browser is sent back to.
    pub async fn choose(&self, id_op: &str, choice: Choice) -> Option<String> {
        settle(&self.shared, id_op, choice.resultrans()).await
    }

    /// The operation's request as received (numcli, exer, refdet, montant, mel,
    /// objet, saisie), for tests.
    pub fn operation(&self, id_op: &str) -> Option<HashMap<&'static str, String>> {
        lock(&self.shared.operations).get(id_op).map(|o| {
            HashMap::from([
                ("numcli", o.numcli.clone()),
                ("exer", o.exer.clone()),
                ("refdet", o.refdet.clone()),
                ("montant", o.montant.to_string()),
                ("mel", o.mel.clone()),
                ("objet", o.objet.clone()),
                ("saisie", o.saisie.clone()),
                ("urlnotif", o.urlnotif.clone()),
                ("urlredirect", o.urlredirect.clone()),
            ])
        })
    }

    pub fn notifications_sent(&self) -> usize {
        self.shared.notifications_sent.load(Ordering::SeqCst)
    }

    pub fn soap_calls(&self) -> usize {
        self.shared.soap_calls.load(Ordering::SeqCst)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().expect("not poisoned")
}

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn fault(code: &str, descriptif: &str) -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        fault_envelope(code, descriptif),
    )
}

async fn soap(State(shared): State<Arc<Shared>>, body: String) -> Response {
    shared.soap_calls.fetch_add(1, Ordering::SeqCst);
    let scripted = lock(&shared.calls).pop_front();
    match scripted {
        Some(ScriptedCall::Unavailable) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Html("<html><body>Service indisponible</body></html>"),
            )
                .into_response();
        }
        Some(ScriptedCall::Hang) => tokio::time::sleep(Duration::from_secs(120)).await,
        Some(ScriptedCall::Fault(code)) => return fault(&code, "Erreur simulée"),
        None => {}
    }
    let Ok(Envelope::Answer(f)) = read_envelope(&body) else {
        return xml(
            StatusCode::INTERNAL_SERVER_ERROR,
            "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault><faultcode>soap:Client</faultcode><faultstring>Unmarshalling Error</faultstring></soap:Fault></soap:Body></soap:Envelope>".to_owned(),
        );
    };
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    if f.contains_key("creerPaiementSecurise") {
        let montant: i64 = get("montant").parse().unwrap_or(-1);
        let refdet = get("refdet");
        let mel = get("mel");
        let checks = [
            (
                get("numcli").len() == 6 && get("numcli").chars().all(|c| c.is_ascii_digit()),
                "S1",
                "Numéro client inconnu",
            ),
            (
                (100..=10_000_000).contains(&montant),
                "S2",
                "Montant hors limites",
            ),
            (
                !refdet.is_empty()
                    && refdet.len() <= 30
                    && refdet.chars().all(|c| c.is_ascii_alphanumeric()),
                "S3",
                "Référence de la dette invalide",
            ),
            (
                mel.contains('@') && (6..=80).contains(&mel.len()),
                "S4",
                "Adresse électronique invalide",
            ),
            (
                ["T", "X", "W"].contains(&get("saisie").as_str()),
                "S5",
                "Type de saisie invalide",
            ),
            (
                get("urlnotif").starts_with("http") && get("urlredirect").starts_with("http"),
                "S6",
                "URL invalide",
            ),
        ];
        if let Some((_, code, why)) = checks.iter().find(|(ok, _, _)| !ok) {
            return fault(code, why);
        }
        let n = shared.counter.fetch_add(1, Ordering::SeqCst) + 1;
        let id_op = format!("{:08x}-0000-4000-8000-{:012x}", n, n * 7919);
        lock(&shared.operations).insert(
            id_op.clone(),
            Operation {
                numcli: get("numcli"),
                exer: get("exer"),
                refdet,
                montant,
                mel,
                objet: get("objet"),
                saisie: get("saisie"),
                urlnotif: get("urlnotif"),
                urlredirect: get("urlredirect"),
                resultrans: None,
                paid: montant,
            },
        );
        return xml(
            StatusCode::OK,
            answer_envelope("creerPaiementSecurise", &[("idOp", id_op)]),
        );
    }
    if f.contains_key("recupererDetailPaiementSecurise") {
        let id_op = get("idOp");
        let op = lock(&shared.operations).get(&id_op).cloned();
        let Some(op) = op else {
            return fault("P1", "IdOp incorrect");
        };
        let Some(resultrans) = op.resultrans.clone() else {
            return fault("P5", "Transaction en cours");
        };
        let now = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Paris);
        let paid = resultrans == "P";
        return xml(
            StatusCode::OK,
            answer_envelope(
                "recupererDetailPaiementSecurise",
                &[
                    ("dattrans", now.format("%d%m%Y").to_string()),
                    ("exer", op.exer),
                    ("heurtrans", now.format("%H%M").to_string()),
                    ("idOp", id_op),
                    ("mel", op.mel),
                    ("montant", op.paid.to_string()),
                    (
                        "numauto",
                        if paid {
                            format!("{:06}", op.montant % 1_000_000)
                        } else {
                            String::new()
                        },
                    ),
                    ("numcli", op.numcli),
                    ("objet", op.objet),
                    ("refdet", op.refdet),
                    ("resultrans", resultrans),
                    ("saisie", op.saisie),
                ],
            ),
        );
    }
    fault("S9", "Opération inconnue")
}

#[derive(Deserialize)]
struct PageQuery {
    idop: String,
}

async fn page(State(shared): State<Arc<Shared>>, Query(q): Query<PageQuery>) -> Response {
    let op = lock(&shared.operations).get(&q.idop).cloned();
    let Some(op) = op else {
        return (StatusCode::NOT_FOUND, Html("Opération inconnue".to_owned())).into_response();
    };
    let esc = |s: &str| quick_xml::escape::escape(s).into_owned();
    Html(format!(
        "<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>PayFiP (remplaçant local)</title></head>\
         <body><main><h1>Paiement PayFiP de test</h1><p>Référence {} — {} — {},{:02} €</p>\
         <form method=\"post\" action=\"{PAGE_PATH}\"><input type=\"hidden\" name=\"idop\" value=\"{}\">\
         <button name=\"resultrans\" value=\"P\">Payer</button> <button name=\"resultrans\" value=\"R\">Carte refusée</button> \
         <button name=\"resultrans\" value=\"A\">Abandonner</button></form></main></body></html>",
        esc(&op.refdet),
        esc(&op.objet),
        op.montant / 100,
        op.montant % 100,
        esc(&q.idop)
    ))
    .into_response()
}

#[derive(Deserialize)]
struct ChoiceForm {
    idop: String,
    resultrans: String,
}

async fn choose(State(shared): State<Arc<Shared>>, Form(form): Form<ChoiceForm>) -> Response {
    match settle(&shared, &form.idop, &form.resultrans).await {
        Some(back) => Redirect::to(&back).into_response(),
        None => (StatusCode::NOT_FOUND, "Opération inconnue").into_response(),
    }
}

#[derive(Deserialize)]
struct Script {
    #[serde(default)]
    calls: Vec<ScriptedCall>,
    #[serde(default)]
    notify: Vec<Notify>,
    #[serde(default)]
    paid_amount: Option<i64>,
}

async fn script(
    State(shared): State<Arc<Shared>>,
    axum::Json(s): axum::Json<Script>,
) -> StatusCode {
    lock(&shared.calls).extend(s.calls);
    lock(&shared.notify).extend(s.notify);
    if let Some(cents) = s.paid_amount {
        lock(&shared.paid_amount).push_back(cents);
    }
    StatusCode::NO_CONTENT
}

/// Records the outcome, notifies as scripted, returns the return URL.
async fn settle(shared: &Arc<Shared>, id_op: &str, resultrans: &str) -> Option<String> {
    let paid_override = lock(&shared.paid_amount).pop_front();
    let (urlnotif, urlredirect) = {
        let mut ops = lock(&shared.operations);
        let op = ops.get_mut(id_op)?;
        op.resultrans = Some(resultrans.to_owned());
        if let Some(cents) = paid_override {
            op.paid = cents;
        }
        (op.urlnotif.clone(), op.urlredirect.clone())
    };
    let how = lock(&shared.notify).pop_front().unwrap_or(Notify::Before);
    let notify = {
        let shared = shared.clone();
        let id_op = id_op.to_owned();
        move || {
            let shared = shared.clone();
            let urlnotif = urlnotif.clone();
            let id_op = id_op.clone();
            async move {
                let sent = reqwest::Client::new()
                    .post(&urlnotif)
                    .form(&[("idop", id_op.as_str())])
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                if sent.is_ok() {
                    shared.notifications_sent.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    };
    match how {
        Notify::Before => notify().await,
        Notify::Twice => {
            tokio::join!(notify(), notify());
        }
        Notify::Late(ms) => {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                notify().await;
            });
        }
        Notify::Never => {}
    }
    let sep = if urlredirect.contains('?') { '&' } else { '?' };
    Some(format!(
        "{urlredirect}{sep}idop={id_op}&resultrans={resultrans}"
    ))
}
