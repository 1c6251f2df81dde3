//! Notifications: the in-app list (Nextcloud's notifications endpoint, the web interface) and
//! its e-mail digests. Every notification is stored at once; if the account wants e-mail, it
//! also waits for the account's next digest, which the server's digest task sends when the
//! oldest waiting notification is older than the account's window (the server's batching
//! window, or a day for `daily`). So a busy folder produces one e-mail per window, not one
//! per upload. Texts are in the recipient's language (German unless they chose English).

use crate::{Core, CoreError, CoreResult};
use hafen_meta::{MailState, Notification, User, UserId};

/// The per-account choices of how notification e-mails are batched.
pub const MAIL_DIGESTS: &[&str] = &["batched", "daily"];
const DAY: i64 = 86_400;

/// What a notification tells; rendered per language by [`Notice::texts`].
pub(crate) enum Notice<'a> {
    ShareReceived { sharer: &'a str, item: &'a str },
    FileDropUpload { file: &'a str, folder: &'a str },
    LinkDownloadLimit { item: &'a str, limit: i64 },
    Mentioned { author: &'a str, item: &'a str, comment: &'a str },
}

fn english(language: &str) -> bool {
    language == "en"
}

impl Notice<'_> {
    /// The kind, for logs.
    fn kind(&self) -> &'static str {
        match self {
            Notice::ShareReceived { .. } => "share_received",
            Notice::FileDropUpload { .. } => "file_drop_upload",
            Notice::LinkDownloadLimit { .. } => "link_download_limit",
            Notice::Mentioned { .. } => "mentioned",
        }
    }

    /// Subject and message in `language` (`en`, otherwise German, formal).
    fn texts(&self, language: &str) -> (String, String) {
        let en = english(language);
        match self {
            Notice::ShareReceived { sharer, item } if en => (
                format!("{sharer} shared {item} with you"),
                format!("{sharer} shared {item} with you. You find it at the top of your files."),
            ),
            Notice::ShareReceived { sharer, item } => (
                format!("{sharer} hat {item} mit Ihnen geteilt"),
                format!("{sharer} hat {item} mit Ihnen geteilt. Sie finden es oben in Ihren Dateien."),
            ),
            Notice::FileDropUpload { file, folder } if en => (
                format!("{file} was uploaded to {folder}"),
                format!("Someone uploaded {file} to {folder} through your upload link."),
            ),
            Notice::FileDropUpload { file, folder } => (
                format!("{file} wurde in {folder} hochgeladen"),
                format!("Über Ihren Hochlade-Link wurde {file} in {folder} hochgeladen."),
            ),
            Notice::LinkDownloadLimit { item, limit } if en => (
                format!("The download limit of your link to {item} is reached"),
                format!("{item} was downloaded {limit} times through your public link; the link no longer works."),
            ),
            Notice::LinkDownloadLimit { item, limit } => (
                format!("Das Download-Limit Ihres Links auf {item} ist erreicht"),
                format!(
                    "{item} wurde {limit}-mal über Ihren öffentlichen Link heruntergeladen; der Link funktioniert nicht mehr."
                ),
            ),
            Notice::Mentioned { author, item, comment } if en => {
                (format!("{author} mentioned you in a comment on {item}"), format!("{author} wrote: {comment}"))
            }
            Notice::Mentioned { author, item, comment } => (
                format!("{author} hat Sie in einem Kommentar zu {item} erwähnt"),
                format!("{author} schrieb: {comment}"),
            ),
        }
    }
}

impl Core {
    /// Records an in-app notification for `user`, waiting for their next e-mail digest when a
    /// mailer is configured and the account wants e-mail and has an address. Failures are
    /// logged: a notification never fails the action that caused it.
    pub(crate) async fn notify(&self, user: UserId, notice: Notice<'_>, object_type: &str, object_id: &str) {
        let account = match self.meta.user(user).await {
            Ok(Some(account)) => account,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, kind = notice.kind(), "cannot load a notification's recipient");
                return;
            }
        };
        let (subject, message) = notice.texts(&account.language);
        let mailed = self.mailer.is_some() && account.notify_by_email && has_address(&account);
        let notification = Notification {
            id: 0,
            user,
            subject,
            message,
            object_type: object_type.to_string(),
            object_id: object_id.to_string(),
            created_at: self.now(),
            mail_state: if mailed { MailState::Waiting } else { MailState::NotMailed },
        };
        if let Err(error) = self.meta.add_notification(&notification).await {
            tracing::error!(%error, kind = notice.kind(), "cannot store a notification");
        }
    }

    pub async fn notifications(&self, user: &User) -> CoreResult<Vec<Notification>> {
        Ok(self.meta.notifications(user.id).await?)
    }

    pub async fn dismiss_notification(&self, user: &User, id: i64) -> CoreResult<()> {
        if !self.meta.delete_notification(user.id, id).await? {
            return Err(CoreError::NotFound(format!("notification {id} not found")));
        }
        Ok(())
    }

    /// The account's choice of e-mail batching (one of [`MAIL_DIGESTS`]).
    pub async fn set_mail_digest(&self, user: &User, digest: &str) -> CoreResult<User> {
        if !MAIL_DIGESTS.contains(&digest) {
            return Err(CoreError::InvalidInput(format!(
                "mail_digest must be one of: {} (not {digest:?})",
                MAIL_DIGESTS.join(", ")
            )));
        }
        let mut user = self.user_by_id(user.id).await?;
        user.mail_digest = digest.to_string();
        self.meta.update_user(&user).await?;
        Ok(user)
    }

    /// Sends every digest that is due: one e-mail per account whose oldest waiting notification
    /// is at least its window old (`window_secs` for `batched`, a day for `daily`), with all of
    /// its waiting notifications. Returns how many e-mails went out. A digest that cannot be
    /// sent waits for the next run; notifications of accounts that no longer want e-mail are
    /// dropped from the queue.
    pub async fn send_mail_digests(&self, window_secs: i64) -> CoreResult<usize> {
        let Some(mailer) = self.mailer.as_ref() else { return Ok(0) };
        let now = self.now();
        let mut sent = 0;
        for (user, oldest) in self.meta.mail_waiting().await? {
            let Some(account) = self.meta.user(user).await? else { continue };
            let window = if account.mail_digest == "daily" { DAY } else { window_secs.max(0) };
            let wanted = account.notify_by_email && has_address(&account);
            if wanted && now - oldest < window {
                continue;
            }
            let claimed = self.meta.claim_mail(user).await?;
            if claimed.is_empty() {
                continue; // another node took them
            }
            let ids: Vec<i64> = claimed.iter().map(|notification| notification.id).collect();
            let Some(address) = account.email.as_deref().filter(|_| wanted) else {
                self.meta.set_mail_state(&ids, MailState::NotMailed).await?;
                continue;
            };
            let (subject, body) = self.digest_text(&account, &claimed);
            match mailer.send(address, &subject, &body).await {
                Ok(()) => sent += 1,
                Err(error) => {
                    tracing::error!(%error, user = user.0, "cannot send a notification digest; retrying later");
                    self.meta.set_mail_state(&ids, MailState::Waiting).await?;
                }
            }
        }
        Ok(sent)
    }

    /// Subject and body of one digest e-mail.
    fn digest_text(&self, account: &User, notifications: &[Notification]) -> (String, String) {
        let en = english(&account.language);
        let subject = match notifications {
            [only] => format!("Hafen: {}", only.subject),
            many if en => format!("Hafen: {} new notifications", many.len()),
            many => format!("Hafen: {} neue Benachrichtigungen", many.len()),
        };
        let name = if account.display_name.is_empty() { &account.name } else { &account.display_name };
        let mut body = if en { format!("Hello {name},\n\n") } else { format!("Guten Tag {name},\n\n") };
        body.push_str(if en { "this happened in Hafen:\n\n" } else { "in Hafen ist Folgendes geschehen:\n\n" });
        for notification in notifications {
            body.push_str(&format!("* {}\n  {}\n\n", notification.subject, notification.message));
        }
        let files = format!("{}/apps/files/", self.public_url);
        let settings = format!("{}/settings", self.public_url);
        if en {
            body.push_str(&format!("Your files: {files}\nChange how often you get these e-mails: {settings}\n"));
        } else {
            body.push_str(&format!(
                "Ihre Dateien: {files}\nWie oft Sie diese E-Mails erhalten, ändern Sie hier: {settings}\n"
            ));
        }
        (subject, body)
    }
}

fn has_address(account: &User) -> bool {
    account.email.as_deref().is_some_and(|address| !address.is_empty())
}
