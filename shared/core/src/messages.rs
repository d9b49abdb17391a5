//! The MESSAGES tab: threads with the services, synced by the change feed and read
//! offline; a message written offline is queued (`send_message`) with its
//! attachments, which `sync()` uploads first, and shows « en attente d'envoi »
//! until the server applied it. Opening a thread queues `read_thread` (the
//! services then see « lu »). The message rule is the model's
//! (`famille_model::messages::message`), checked here before queuing.

use famille_model::api::{Service, Thread};
use famille_model::files::UploadPurpose;
use famille_model::messages::{self, Side};
use famille_model::queue::{Mutation, QueueState};
use uuid::Uuid;

use crate::engine::{Engine, uuid};
use crate::error::{CoreResult, Error};
use crate::store::{Queued, UploadState};
use crate::views::{
    AttachmentView, MessageState, MessageView, ServiceView, ThreadSummaryView, ThreadView,
};

impl Engine {
    /// The services the family may write to, as of the last sync.
    pub fn services(&self) -> CoreResult<Vec<ServiceView>> {
        let services: Vec<Service> = match self.store().meta("services")? {
            Some(json) => serde_json::from_str(&json)?,
            None => Vec::new(),
        };
        Ok(services
            .into_iter()
            .map(|s| ServiceView {
                id: s.id.to_string(),
                name: s.name,
            })
            .collect())
    }

    /// Queues a photo or PDF to attach to a message (checked as the server will;
    /// works offline). Its local id goes in `send_message`'s `attachment_ids`.
    pub fn attach_file(&self, bytes: &[u8], filename: &str) -> CoreResult<String> {
        self.queue_upload(UploadPurpose::Attachment, "", None, bytes, filename)
    }

    /// Writes a message (works offline): in `thread_id`, or opening a thread with
    /// `service_id` (then `subject` is required). Checked by the model's rule
    /// (`InvalidInput` naming the field); sent by the next `sync()` after its
    /// attachments. Returns the intent's id.
    pub fn send_message(
        &self,
        thread_id: Option<&str>,
        service_id: Option<&str>,
        subject: Option<&str>,
        body: &str,
        attachment_ids: &[String],
    ) -> CoreResult<String> {
        let (thread_id, service) = match (thread_id, service_id) {
            (Some(t), None) => (Some(uuid(t, "la conversation")?), None),
            (None, Some(s)) => (None, Some(uuid(s, "le service")?)),
            _ => {
                return Err(Error::invalid(
                    "indiquez la conversation, ou le service pour en commencer une",
                ));
            }
        };
        let uploads = attachment_ids
            .iter()
            .map(|a| uuid(a, "la pièce jointe"))
            .collect::<CoreResult<Vec<_>>>()?;
        let checked = messages::message(subject, service.is_some(), body, &uploads)
            .map_err(|errors| Error::invalid(join(&errors)))?;
        let store = self.store();
        if let Some(thread) = thread_id
            && store.thread(thread)?.is_none()
        {
            return Err(Error::invalid("conversation inconnue sur ce téléphone"));
        }
        let attachments: Vec<String> = store
            .outgoing(false)?
            .into_iter()
            .filter(|o| o.purpose == UploadPurpose::Attachment)
            .map(|o| o.id)
            .collect();
        if let Some(unknown) = uploads
            .iter()
            .find(|u| !attachments.contains(&u.to_string()))
        {
            return Err(Error::invalid(format!(
                "{unknown} n'est pas une pièce jointe préparée sur ce téléphone (attach_file)"
            )));
        }
        let id = Uuid::now_v7();
        store.enqueue(
            &Mutation::SendMessage {
                id,
                thread_id,
                service,
                subject: checked.subject,
                body: checked.body,
                uploads,
            },
            &self.now().to_rfc3339(),
        )?;
        Ok(id.to_string())
    }

    /// The parent opened the thread: nothing left to read here, and the services
    /// will see « lu » up to its newest message (queued, so offline too).
    pub fn mark_thread_read(&self, thread_id: &str) -> CoreResult<()> {
        let thread_id = uuid(thread_id, "la conversation")?;
        let store = self.store();
        let mut thread = store
            .thread(thread_id)?
            .ok_or_else(|| Error::invalid("conversation inconnue sur ce téléphone"))?;
        if thread.unread == 0 {
            return Ok(());
        }
        let Some(up_to) = thread.messages.iter().map(|m| m.created_at).max() else {
            return Ok(());
        };
        thread.unread = 0;
        store.save_thread(&thread)?;
        store.enqueue(
            &Mutation::ReadThread {
                id: Uuid::now_v7(),
                thread_id,
                up_to,
            },
            &self.now().to_rfc3339(),
        )
    }

    /// The family's threads, the latest first: those kept on the phone, and the
    /// ones opened offline (« en attente d'envoi »).
    pub fn threads(&self) -> CoreResult<Vec<ThreadSummaryView>> {
        // Before the store's lock, which `services` takes too.
        let services = self.services()?;
        let store = self.store();
        let queue = store.queue()?;
        let mut out: Vec<ThreadSummaryView> = queue
            .iter()
            .filter(|q| q.state != QueueState::Applied)
            .filter_map(|q| match &q.mutation {
                Mutation::SendMessage {
                    id,
                    service: Some(service),
                    subject,
                    body,
                    ..
                } => Some(ThreadSummaryView {
                    id: id.to_string(),
                    service: service_name(&services, *service),
                    subject: subject.clone().unwrap_or_default(),
                    closed: false,
                    last_message_label: instant_label(&q.created_at),
                    preview: preview(body),
                    unread: 0,
                    state: message_state(q),
                }),
                _ => None,
            })
            .collect();
        out.reverse();
        for t in store.threads()? {
            let pending = queue.iter().any(|q| {
                q.state == QueueState::Pending
                    && matches!(&q.mutation, Mutation::SendMessage { thread_id: Some(id), .. } if *id == t.id)
            });
            out.push(ThreadSummaryView {
                id: t.id.to_string(),
                service: t.service.clone(),
                subject: t.subject.clone(),
                closed: t.status == messages::ThreadStatus::Closed,
                last_message_label: famille_model::fr::instant(t.last_message_at),
                preview: t
                    .messages
                    .last()
                    .map(|m| preview(&m.body))
                    .unwrap_or_default(),
                unread: t.unread,
                state: if pending {
                    MessageState::Pending
                } else {
                    MessageState::Sent
                },
            });
        }
        Ok(out)
    }

    /// A thread with its messages, oldest first, and the ones still on the phone
    /// (pending, or refused with the server's words). `thread_id` may be the id of
    /// a `send_message` that opened a thread offline.
    pub fn thread(&self, thread_id: &str) -> CoreResult<ThreadView> {
        let id = uuid(thread_id, "la conversation")?;
        let services = self.services()?;
        let store = self.store();
        let queue = store.queue()?;
        let outgoing = store.outgoing(false)?;
        let queued_here = |q: &&Queued| match &q.mutation {
            Mutation::SendMessage {
                id: intent,
                thread_id,
                ..
            } => *thread_id == Some(id) || (*intent == id && thread_id.is_none()),
            _ => false,
        };
        let mut view = match store.thread(id)? {
            Some(t) => thread_view(&t),
            None => {
                let opening = queue
                    .iter()
                    .find(|q| q.mutation.id() == id)
                    .ok_or_else(|| Error::invalid("conversation inconnue sur ce téléphone"))?;
                let Mutation::SendMessage {
                    service, subject, ..
                } = &opening.mutation
                else {
                    return Err(Error::invalid("conversation inconnue sur ce téléphone"));
                };
                ThreadView {
                    id: id.to_string(),
                    service: service
                        .map(|s| service_name(&services, s))
                        .unwrap_or_default(),
                    subject: subject.clone().unwrap_or_default(),
                    closed: false,
                    messages: Vec::new(),
                }
            }
        };
        for q in queue
            .iter()
            .filter(queued_here)
            .filter(|q| q.state != QueueState::Applied)
        {
            let Mutation::SendMessage { body, uploads, .. } = &q.mutation else {
                continue;
            };
            view.messages.push(MessageView {
                id: q.mutation.id().to_string(),
                from_family: true,
                author: String::new(),
                body: body.clone(),
                attachments: uploads
                    .iter()
                    .filter_map(|u| outgoing.iter().find(|o| o.id == u.to_string()))
                    .map(|o| AttachmentView {
                        id: o.id.clone(),
                        filename: Some(o.filename.clone()),
                        content_type: String::new(),
                        size_bytes: o.length,
                        on_phone: true,
                        refused: o.state == UploadState::Rejected,
                    })
                    .collect(),
                time_label: instant_label(&q.created_at),
                read: false,
                state: message_state(q),
                detail: q.detail.clone(),
            });
        }
        Ok(view)
    }

    /// An attachment's bytes (online: attachments are not kept on the phone).
    pub async fn attachment(&self, thread_id: &str, attachment_id: &str) -> CoreResult<Vec<u8>> {
        let (thread_id, attachment_id) = (
            uuid(thread_id, "la conversation")?,
            uuid(attachment_id, "la pièce jointe")?,
        );
        let media = self
            .store()
            .thread(thread_id)?
            .and_then(|t| {
                t.messages
                    .iter()
                    .flat_map(|m| m.attachments.iter())
                    .find(|a| a.id == attachment_id)
                    .map(|a| a.content_type.clone())
            })
            .ok_or_else(|| Error::invalid("pièce jointe inconnue sur ce téléphone"))?;
        self.download(
            &format!("/api/v1/threads/{thread_id}/attachments/{attachment_id}"),
            &media,
        )
        .await
    }
}

fn join(errors: &[famille_model::validate::FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ; ")
}

fn service_name(services: &[ServiceView], id: Uuid) -> String {
    services
        .iter()
        .find(|s| s.id == id.to_string())
        .map(|s| s.name.clone())
        .unwrap_or_default()
}

/// The first line of a message, at most 80 characters.
fn preview(body: &str) -> String {
    let line = body.lines().next().unwrap_or_default();
    let mut out: String = line.chars().take(80).collect();
    if line.chars().count() > 80 || body.lines().nth(1).is_some() {
        out.push('…');
    }
    out
}

/// « 8 décembre à 18:30 » from a stored RFC 3339 instant.
fn instant_label(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| famille_model::fr::instant(t.with_timezone(&chrono::Utc)))
        .unwrap_or_default()
}

fn message_state(q: &Queued) -> MessageState {
    match q.state {
        QueueState::Rejected => MessageState::Refused,
        QueueState::Pending | QueueState::Applied => MessageState::Pending,
    }
}

fn thread_view(t: &Thread) -> ThreadView {
    ThreadView {
        id: t.id.to_string(),
        service: t.service.clone(),
        subject: t.subject.clone(),
        closed: t.status == messages::ThreadStatus::Closed,
        messages: t
            .messages
            .iter()
            .map(|m| MessageView {
                id: m.id.to_string(),
                from_family: m.side == Side::Family,
                author: m.author.clone(),
                body: m.body.clone(),
                attachments: m
                    .attachments
                    .iter()
                    .map(|a| AttachmentView {
                        id: a.id.to_string(),
                        filename: a.filename.clone(),
                        content_type: a.content_type.clone(),
                        size_bytes: a.size_bytes,
                        on_phone: false,
                        refused: false,
                    })
                    .collect(),
                time_label: famille_model::fr::instant(m.created_at),
                read: m.read,
                state: MessageState::Sent,
                detail: None,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn a_preview_is_the_first_line_cut_at_80_characters() {
        assert_eq!(preview("Bonjour"), "Bonjour");
        assert_eq!(preview("Bonjour\nsuite"), "Bonjour…");
        assert_eq!(preview(&"é".repeat(100)).chars().count(), 81);
    }
}
