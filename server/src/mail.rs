//! Outgoing mail: SMTP when configured, otherwise one `.eml` file per message in the
//! outbox folder (so a fresh install and the tests need no mail server).

use std::path::PathBuf;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {0}")]
    Address(String),
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("writing to the outbox: {0}")]
    Io(#[from] std::io::Error),
    #[error("smtp: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

#[derive(Clone)]
pub enum Mailer {
    Folder {
        dir: PathBuf,
        from: Mailbox,
    },
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
}

impl Mailer {
    pub fn new(smtp_url: Option<&str>, outbox: PathBuf, from: &str) -> Result<Mailer, MailError> {
        let from: Mailbox = from
            .parse()
            .map_err(|_| MailError::Address(from.to_owned()))?;
        match smtp_url {
            Some(url) => Ok(Mailer::Smtp {
                transport: AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build(),
                from,
            }),
            None => {
                std::fs::create_dir_all(&outbox)?;
                Ok(Mailer::Folder { dir: outbox, from })
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Mailer::Folder { dir, .. } => format!("mails written to {}", dir.display()),
            Mailer::Smtp { .. } => "mails sent over SMTP".to_owned(),
        }
    }

    /// Sends a plain-text French mail (lettre picks the transfer encoding; tokens are
    /// on a short line of their own so quoted-printable never folds them).
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|_| MailError::Address(to.to_owned()))?;
        let from = match self {
            Mailer::Folder { from, .. } | Mailer::Smtp { from, .. } => from.clone(),
        };
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(subject)
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(body),
            )?;
        match self {
            Mailer::Folder { dir, .. } => {
                let name = format!(
                    "{}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f"),
                    uuid::Uuid::now_v7()
                );
                let tmp = dir.join(format!(".{name}.tmp"));
                // Written then renamed, so a reader never sees half a message.
                tokio::fs::write(&tmp, message.formatted()).await?;
                tokio::fs::rename(&tmp, dir.join(name)).await?;
            }
            Mailer::Smtp { transport, .. } => {
                transport.send(message).await?;
            }
        }
        Ok(())
    }
}
