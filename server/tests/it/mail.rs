//! The SMTP path, against a local SMTP server that speaks enough of the protocol to
//! receive what lettre sends.

use famille_server::mail::Mailer;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::support::decode_quoted_printable;

/// Accepts SMTP sessions and hands over each message's envelope and data.
async fn smtp_sink() -> (u16, mpsc::UnboundedReceiver<(Vec<String>, String)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink.test ESMTP\r\n").await.unwrap();
                let mut envelope = Vec::new();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            tx.send((std::mem::take(&mut envelope), data.take().unwrap()))
                                .unwrap();
                            write.write_all(b"250 2.0.0 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(line.strip_prefix('.').unwrap_or(&line));
                            body.push('\n');
                        }
                        continue;
                    }
                    let upper = line.to_uppercase();
                    let answer: &[u8] = if upper.starts_with("EHLO") {
                        b"250-sink.test\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM:") || upper.starts_with("RCPT TO:") {
                        envelope.push(line.clone());
                        b"250 2.1.0 ok\r\n"
                    } else if upper == "DATA" {
                        data = Some(String::new());
                        b"354 end with .\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else if upper == "RSET" || upper == "NOOP" || upper.starts_with("HELO") {
                        b"250 ok\r\n"
                    } else {
                        b"502 not implemented\r\n"
                    };
                    write.write_all(answer).await.unwrap();
                }
            });
        }
    });
    (port, rx)
}

#[tokio::test]
async fn mails_go_out_over_smtp_when_configured() {
    let (port, mut received) = smtp_sink().await;
    let outbox = std::env::temp_dir().join(format!("famille-smtp-{}", uuid::Uuid::now_v7()));
    let mailer = Mailer::new(
        Some(&format!("smtp://127.0.0.1:{port}")),
        outbox.clone(),
        "Portail Famille <ne-pas-repondre@famille.example>",
    )
    .unwrap();
    mailer
        .send(
            "parent@famille.example",
            "Portail Famille : réinitialisation",
            "Bonjour,\n\nVoici votre code : ABC123\n".into(),
        )
        .await
        .unwrap();
    let (envelope, data) = received.recv().await.unwrap();
    assert_eq!(
        envelope,
        [
            "MAIL FROM:<ne-pas-repondre@famille.example>",
            "RCPT TO:<parent@famille.example>"
        ]
    );
    let text = decode_quoted_printable(&data);
    assert!(text.contains("To: parent@famille.example"), "{text}");
    assert!(text.contains("Voici votre code : ABC123"), "{text}");
    assert!(
        !outbox.exists(),
        "nothing is written to the outbox when SMTP is configured"
    );
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_an_error_not_a_panic() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mailer = Mailer::new(
        Some(&format!("smtp://127.0.0.1:{port}")),
        std::env::temp_dir(),
        "a@famille.example",
    )
    .unwrap();
    assert!(
        mailer
            .send("parent@famille.example", "Sujet", "Corps".into())
            .await
            .is_err()
    );
}
