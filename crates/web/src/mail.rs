//! E-mail: queued in the database outbox with the change it tells about (each capability writes
//! its mails in its `mails` module and hands them to the store with the change), sent by a background
//! worker over SMTP with retries, or written to files in demo mode.

use crate::AppState;
use lettre::message::{header::ContentType, Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain SMTP (a relay on the same host or network only).
    #[default]
    None,
    /// STARTTLS on the submission port.
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
}

#[derive(Clone, Default)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Never prints the password.
impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

#[derive(Clone, Debug)]
pub enum Transport {
    Smtp(SmtpSettings),
    /// Each mail is written as an .eml file in this directory (demo, development).
    Directory(PathBuf),
}

#[derive(Clone, Debug)]
pub struct MailConfig {
    pub from: String,
    pub transport: Transport,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "Guichet <ne-pas-repondre@guichet.localhost>".into(),
            transport: Transport::Directory(PathBuf::from("guichet-data/courriels")),
        }
    }
}

fn build(config: &MailConfig, to: &str, subject: &str, body: &str) -> anyhow::Result<Message> {
    let from: Mailbox = config
        .from
        .parse()
        .map_err(|e| anyhow::anyhow!("expéditeur invalide : {e}"))?;
    let to: Mailbox = to
        .parse()
        .map_err(|e| anyhow::anyhow!("destinataire invalide : {e}"))?;
    Ok(Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(format!(
            "{body}\n\n-- \nGuichet, le guichet numérique de vos collectivités.\nCe message est envoyé automatiquement : merci de ne pas y répondre.\n"
        ))?)
}

/// What the demo page shows of a mail written to the directory transport.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct StoredMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Where a drain delivers: built once per drain, so SMTP connections are pooled and reused
/// from one mail to the next instead of opened for each.
enum Sender {
    Directory(PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Sender {
    async fn new(config: &MailConfig) -> anyhow::Result<Self> {
        Ok(match &config.transport {
            Transport::Directory(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                Sender::Directory(dir.clone())
            }
            Transport::Smtp(s) => {
                let builder = match s.tls {
                    SmtpTls::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
                    }
                    SmtpTls::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)?
                    }
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)?,
                };
                let mut builder = builder.port(s.port).timeout(Some(Duration::from_secs(20)));
                if let (Some(u), Some(p)) = (&s.username, &s.password) {
                    builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
                }
                Sender::Smtp(builder.build())
            }
        })
    }

    async fn deliver(
        &self,
        mail: &guichet_store::outbox::Mail,
        message: Message,
    ) -> anyhow::Result<()> {
        match self {
            Sender::Directory(dir) => {
                // The message as it would go on the wire, and a readable copy for the demo page.
                tokio::fs::write(dir.join(format!("{:08}.eml", mail.id)), message.formatted())
                    .await?;
                let stored = StoredMail {
                    to: mail.recipient.clone(),
                    subject: mail.subject.clone(),
                    body: mail.body.clone(),
                };
                tokio::fs::write(
                    dir.join(format!("{:08}.json", mail.id)),
                    serde_json::to_vec(&stored)?,
                )
                .await?;
            }
            Sender::Smtp(transport) => {
                transport.send(message).await?;
            }
        }
        Ok(())
    }
}

/// Mails claimed at once: one write marks the previous ones sent and claims these.
const CLAIMED_AT_ONCE: i64 = 128;

/// Sends every due mail; returns how many were handled.
pub async fn drain(state: &AppState) -> anyhow::Result<usize> {
    let mut handled = 0;
    let mut sender = None;
    let mut sent = Vec::new();
    loop {
        let mails = guichet_store::outbox::claim(
            &state.db,
            guichet_store::now_ms(),
            CLAIMED_AT_ONCE,
            std::mem::take(&mut sent),
        )
        .await?;
        if mails.is_empty() {
            return Ok(handled);
        }
        handled += mails.len();
        let sender = match &mut sender {
            Some(sender) => sender,
            None => sender.insert(Sender::new(&state.config.mail).await?),
        };
        for mail in &mails {
            let result = match build(
                &state.config.mail,
                &mail.recipient,
                &mail.subject,
                &mail.body,
            ) {
                Ok(message) => sender.deliver(mail, message).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => sent.push(mail.id),
                Err(e) => {
                    // The address is not logged: only the outbox id.
                    tracing::warn!(mail = mail.id, attempt = mail.attempts, error = %e, "e-mail not sent, will retry");
                    guichet_store::outbox::mark_failed(
                        &state.db,
                        mail,
                        &e.to_string(),
                        guichet_store::now_ms(),
                    )
                    .await?;
                }
            }
        }
    }
}
