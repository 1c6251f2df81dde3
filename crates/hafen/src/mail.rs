//! E-mail through an SMTP server (lettre): the core's `Mailer` for invitations and
//! notifications. Configured with `HAFEN_SMTP_URL` (`smtp://HOST:PORT`, plain SMTP as on a
//! local relay; optional `user:password@`) and `HAFEN_MAIL_FROM`.

use async_trait::async_trait;
use hafen_core::Mailer;
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// A mailer for `url` (`smtp://[user:password@]host[:port]`) sending as `from`.
    pub fn new(url: &str, from: &str) -> anyhow::Result<SmtpMailer> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| anyhow::anyhow!("the SMTP url must look like smtp://HOST:PORT"))?;
        let (credentials, address) = match rest.rsplit_once('@') {
            Some((credentials, address)) => (Some(credentials), address),
            None => (None, rest),
        };
        let address = address.trim_end_matches('/');
        let (host, port) = match address.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().map_err(|_| anyhow::anyhow!("invalid SMTP port"))?),
            None => (address, 25),
        };
        // Plain SMTP: meant for a relay on the local network or machine, which forwards
        // with TLS itself.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port);
        if let Some((user, password)) = credentials.and_then(|credentials| credentials.split_once(':')) {
            builder = builder.credentials(Credentials::new(user.to_string(), password.to_string()));
        }
        let from = from.parse::<Mailbox>().map_err(|error| anyhow::anyhow!("invalid HAFEN_MAIL_FROM: {error}"))?;
        Ok(SmtpMailer { transport: builder.build(), from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to = to.parse::<Mailbox>().map_err(|error| format!("invalid recipient: {error}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|error| error.to_string())?;
        self.transport.send(message).await.map(|_| ()).map_err(|error| error.to_string())
    }
}
