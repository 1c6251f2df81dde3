//! App passwords as seen by their owner and the administrator: listing, revocation by id (web
//! API, CLI) and by token (a client logging out revokes the password it authenticated with),
//! and telling an app password apart from the account password (Nextcloud refuses to turn an
//! app password into another one).
//!
//! Creation and verification live in `accounts.rs`. Verified app passwords are never cached
//! there, so a revocation takes effect with the very next request, from any process.

use crate::accounts::token_digest;
use crate::{Core, CoreError, CoreResult};
use hafen_meta::{AppPassword, User};

impl Core {
    /// The account's app passwords (never the tokens themselves), oldest first.
    pub async fn list_app_passwords(&self, user: &User) -> CoreResult<Vec<AppPassword>> {
        Ok(self.meta.list_app_passwords(user.id).await?)
    }

    /// Revokes one of the account's app passwords by its id (by the account itself).
    pub async fn revoke_app_password(&self, user: &User, id: i64) -> CoreResult<()> {
        self.revoke_app_password_by(&user.name, user, id).await
    }

    /// Revokes one of the account's app passwords by its id, recording `actor`.
    pub async fn revoke_app_password_by(&self, actor: &str, user: &User, id: i64) -> CoreResult<()> {
        if self.meta.delete_app_password(user.id, id).await? {
            tracing::info!(account = %user.name, id, "app password revoked");
            self.audit(actor, None, "app_password.revoke", &user.name, serde_json::json!({ "id": id })).await;
            Ok(())
        } else {
            Err(CoreError::NotFound(format!("app password {id} of {} not found", user.name)))
        }
    }

    /// Revokes the app password `token` if it belongs to `user`; returns whether it did.
    pub async fn revoke_app_password_token(&self, user: &User, token: &str) -> CoreResult<bool> {
        let digest = token_digest(token);
        match self.meta.user_by_app_password(&digest).await? {
            Some(owner) if owner.id == user.id => {
                let revoked = self.meta.delete_app_password_by_hash(&digest).await?;
                if revoked {
                    tracing::info!(account = %user.name, "app password revoked by its client");
                    let detail = serde_json::json!({ "by_client": true });
                    self.audit(&user.name, None, "app_password.revoke", &user.name, detail).await;
                }
                Ok(revoked)
            }
            _ => Ok(false),
        }
    }

    /// Whether `secret` is an app password of the account `login` (not its account password).
    pub async fn is_app_password(&self, login: &str, secret: &str) -> CoreResult<bool> {
        Ok(self.meta.user_by_app_password(&token_digest(secret)).await?.is_some_and(|owner| owner.name == login))
    }
}
