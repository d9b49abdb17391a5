//! PayFiP, the DGFiP's online payment for public bodies: its SOAP 1.1 web service
//! `PaiementSecuriseService` (`creerPaiementSecurise` gives an operation id for a
//! debt; `recupererDetailPaiementSecurise` tells how it ended), as the DGFiP
//! publishes it (WSDL at
//! `https://www.payfip.gouv.fr/tpa/services/mas_securite/contrat_paiement_securise/PaiementSecuriseService?wsdl`):
//! request fields under `arg0`, answers under `return`, refusals as a SOAP fault
//! whose detail is a `FonctionnelleErreur` with a `code` (`P1` unknown operation,
//! `P5` payment in progress, …) and a `descriptif`.
//!
//! The envelope is written and read here with quick-xml (escaping and parsing are
//! the library's); the same code talks to the DGFiP and to the local stand-in
//! (`crate::dev::payfip_standin`).

use std::collections::HashMap;
use std::time::Duration;

use quick_xml::events::Event;

/// The service's namespace (the WSDL's target namespace).
pub const NS_SERVICE: &str = "http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/contrat_paiement_securise/PaiementSecuriseService";
/// The namespace of the answers' fields.
pub const NS_REPONSE: &str = "http://securite.service.tpa.cp.finances.gouv.fr/reponse";
/// The fault string of a functional refusal.
pub const FONCTIONNELLE_ERREUR: &str =
    "fr.gouv.finances.cp.tpa.webservice.exceptions.FonctionnelleErreur";

/// What `creerPaiementSecurise` needs (the WSDL's `CreerPaiementSecuriseRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOperation {
    /// The régie's PayFiP client number (6 digits).
    pub numcli: String,
    /// The year of the debt.
    pub exer: i32,
    /// The debt reference (`payments::payfip_refdet`).
    pub refdet: String,
    /// Cents.
    pub montant: i64,
    /// The payer's e-mail (6 to 80 characters).
    pub mel: String,
    /// The label (`payments::payfip_objet`).
    pub objet: String,
    /// The régie's mode (`saisie`: `T`, `X` or `W` on the wire).
    pub saisie: famille_model::payments::PayfipMode,
    pub urlnotif: String,
    pub urlredirect: String,
}

/// What `recupererDetailPaiementSecurise` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationDetail {
    pub id_op: String,
    pub resultrans: String,
    /// Cents.
    pub montant: i64,
    pub refdet: String,
    pub numcli: String,
    /// `DDMMYYYY`, Europe/Paris.
    pub dattrans: String,
    /// `HHMM`, Europe/Paris.
    pub heurtrans: String,
    /// The bank's authorisation number, when paid.
    pub numauto: String,
    pub saisie: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayfipError {
    /// A `FonctionnelleErreur`: its code (`P1`, `P5`, …) and description.
    #[error("PayFiP refused ({code}): {message}")]
    Refused { code: String, message: String },
    /// Not reached, too slow, or an answer that is not the service's.
    #[error("PayFiP unavailable: {0}")]
    Unavailable(String),
}

impl PayfipError {
    /// `P5`: the operation exists and the payer has not finished.
    pub fn in_progress(&self) -> bool {
        matches!(self, PayfipError::Refused { code, .. } if code == "P5")
    }

    /// `P1`: the operation is unknown (expired and cleaned at night).
    pub fn unknown_operation(&self) -> bool {
        matches!(self, PayfipError::Refused { code, .. } if code == "P1")
    }
}

/// The SOAP client.
pub struct PayfipClient {
    http: reqwest::Client,
    endpoint: String,
    page_url: String,
}

impl PayfipClient {
    /// `endpoint`: the service URL (`https://www.payfip.gouv.fr/tpa/services/securite`
    /// in production); `page_url`: the payment page the parent is sent to
    /// (`https://www.payfip.gouv.fr/tpa/paiementws.web`).
    pub fn new(endpoint: &str, page_url: &str) -> PayfipClient {
        PayfipClient {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("the HTTP client builds with static settings"),
            endpoint: endpoint.to_owned(),
            page_url: page_url.to_owned(),
        }
    }

    /// The page the parent opens for operation `id_op`.
    pub fn page(&self, id_op: &str) -> String {
        let sep = if self.page_url.contains('?') {
            '&'
        } else {
            '?'
        };
        let id_op: String = form_urlencoded::byte_serialize(id_op.as_bytes()).collect();
        format!("{}{sep}idop={id_op}", self.page_url)
    }

    /// `creerPaiementSecurise`: the operation id.
    pub async fn create(&self, op: &NewOperation) -> Result<String, PayfipError> {
        let fields = [
            ("exer", op.exer.to_string()),
            ("mel", op.mel.clone()),
            ("montant", op.montant.to_string()),
            ("numcli", op.numcli.clone()),
            ("objet", op.objet.clone()),
            ("refdet", op.refdet.clone()),
            ("saisie", op.saisie.saisie().to_owned()),
            ("urlnotif", op.urlnotif.clone()),
            ("urlredirect", op.urlredirect.clone()),
        ];
        let answer = self.call("creerPaiementSecurise", &fields).await?;
        answer
            .get("idOp")
            .filter(|id| !id.is_empty())
            .cloned()
            .ok_or_else(|| PayfipError::Unavailable("no idOp in the answer".into()))
    }

    /// `recupererDetailPaiementSecurise`.
    pub async fn detail(&self, id_op: &str) -> Result<OperationDetail, PayfipError> {
        let a = self
            .call(
                "recupererDetailPaiementSecurise",
                &[("idOp", id_op.to_owned())],
            )
            .await?;
        let field = |name: &str| a.get(name).cloned().unwrap_or_default();
        let montant = field("montant")
            .parse()
            .map_err(|_| PayfipError::Unavailable("montant is not a number".into()))?;
        Ok(OperationDetail {
            id_op: field("idOp"),
            resultrans: field("resultrans"),
            montant,
            refdet: field("refdet"),
            numcli: field("numcli"),
            dattrans: field("dattrans"),
            heurtrans: field("heurtrans"),
            numauto: field("numauto"),
            saisie: field("saisie"),
        })
    }

    async fn call(
        &self,
        operation: &str,
        fields: &[(&str, String)],
    ) -> Result<HashMap<String, String>, PayfipError> {
        let response = self
            .http
            .post(&self.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(request_envelope(operation, fields))
            .send()
            .await
            .map_err(|e| {
                PayfipError::Unavailable(if e.is_timeout() {
                    "timeout".into()
                } else {
                    "transport".into()
                })
            })?;
        let status = response.status();
        let body = response.text().await.map_err(|e| {
            PayfipError::Unavailable(if e.is_timeout() {
                "timeout".into()
            } else {
                "unreadable body".into()
            })
        })?;
        let parsed = read_envelope(&body)
            .map_err(|why| PayfipError::Unavailable(format!("HTTP {status}: {why}")))?;
        match parsed {
            Envelope::Fault(fault) => Err(fault),
            Envelope::Answer(fields) if status.is_success() => Ok(fields),
            Envelope::Answer(_) => Err(PayfipError::Unavailable(format!("HTTP {status}"))),
        }
    }
}

/// A request envelope: `<pai:operation><arg0><field>value</field>…</arg0></pai:operation>`.
pub fn request_envelope(operation: &str, fields: &[(&str, String)]) -> String {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "<{name}>{}</{name}>",
            quick_xml::escape::escape(value.as_str())
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:pai=\"{NS_SERVICE}\">\
         <soapenv:Header/><soapenv:Body><pai:{operation}><arg0>{body}</arg0></pai:{operation}></soapenv:Body></soapenv:Envelope>"
    )
}

/// An answer envelope: `<ns:operationResponse><return>…fields…</return>`.
pub fn answer_envelope(operation: &str, fields: &[(&str, String)]) -> String {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "<r:{name}>{}</r:{name}>",
            quick_xml::escape::escape(value.as_str())
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>\
         <ns:{operation}Response xmlns:ns=\"{NS_SERVICE}\"><return xmlns:r=\"{NS_REPONSE}\">{body}</return>\
         </ns:{operation}Response></soap:Body></soap:Envelope>"
    )
}

/// A functional refusal as the service sends it (HTTP 500).
pub fn fault_envelope(code: &str, descriptif: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><soap:Fault>\
         <faultcode>soap:Server</faultcode><faultstring>{FONCTIONNELLE_ERREUR}</faultstring>\
         <detail><ns2:FonctionnelleErreur xmlns:ns2=\"{NS_SERVICE}\"><code>{}</code>\
         <descriptif>{}</descriptif><libelle>{}</libelle><severite>2</severite>\
         </ns2:FonctionnelleErreur></detail></soap:Fault></soap:Body></soap:Envelope>",
        quick_xml::escape::escape(code),
        quick_xml::escape::escape(descriptif),
        quick_xml::escape::escape(descriptif),
    )
}

/// A SOAP envelope read: the fault, or every leaf element's text by local name.
pub enum Envelope {
    Fault(PayfipError),
    Answer(HashMap<String, String>),
}

/// Reads an envelope (either side's): leaf elements by local name, namespaces
/// ignored as the service's own clients do.
pub fn read_envelope(xml: &str) -> Result<Envelope, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<String> = Vec::new();
    let mut leaves: HashMap<String, String> = HashMap::new();
    let mut text = String::new();
    let mut saw_envelope = false;
    loop {
        match reader.read_event().map_err(|e| format!("not XML: {e}"))? {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                saw_envelope |= name == "Envelope";
                stack.push(name);
                text.clear();
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                leaves.entry(name).or_default();
            }
            Event::Text(t) => {
                text.push_str(&t.xml_content().map_err(|e| e.to_string())?);
            }
            Event::CData(t) => {
                text.push_str(&t.decode().map_err(|e| e.to_string())?);
            }
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().map_err(|e| e.to_string())? {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| e.to_string())?;
                    let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?;
                    text.push_str(resolved);
                }
            }
            Event::End(_) => {
                if let Some(name) = stack.pop() {
                    leaves.insert(name, text.trim().to_owned());
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_envelope {
        return Err("not a SOAP envelope".into());
    }
    if leaves.contains_key("Fault") {
        let get = |k: &str| leaves.get(k).cloned().unwrap_or_default();
        return Ok(Envelope::Fault(match leaves.get("code") {
            Some(code) if !code.is_empty() => PayfipError::Refused {
                code: code.clone(),
                message: [get("descriptif"), get("libelle")]
                    .into_iter()
                    .find(|m| !m.is_empty())
                    .unwrap_or_default(),
            },
            _ => PayfipError::Unavailable(format!("SOAP fault: {}", get("faultstring"))),
        }));
    }
    Ok(Envelope::Answer(leaves))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_round_trip_with_escaping() {
        let request = request_envelope(
            "creerPaiementSecurise",
            &[
                ("objet", "Facture <août> & co".to_owned()),
                ("montant", "1250".to_owned()),
            ],
        );
        let Envelope::Answer(fields) = read_envelope(&request).unwrap() else {
            panic!("an answer")
        };
        assert_eq!(fields["objet"], "Facture <août> & co");
        assert_eq!(fields["montant"], "1250");
        let answer = answer_envelope("creerPaiementSecurise", &[("idOp", "abc-1".to_owned())]);
        let Envelope::Answer(fields) = read_envelope(&answer).unwrap() else {
            panic!("an answer")
        };
        assert_eq!(fields["idOp"], "abc-1");
        let Envelope::Fault(fault) =
            read_envelope(&fault_envelope("P5", "Paiement en cours")).unwrap()
        else {
            panic!("a fault")
        };
        assert!(fault.in_progress());
        assert!(read_envelope("<html>proxy error</html>").is_err());
        assert!(read_envelope("pas du XML <").is_err());
    }
}
