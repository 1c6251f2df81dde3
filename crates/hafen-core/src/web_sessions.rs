//! Browser sessions of the web interface: started by a password login (throttled like every
//! other login), looked up by the digest of the cookie's random token, ended by logout or by
//! a password change, and expiring after a fixed lifetime.
//!
//! Sessions are rows of the metadata store (`account_tokens` with purpose `web-session`), so
//! every node of a cluster knows them and a logout takes effect everywhere at once. The CSRF
//! token of a session is derived from its secret token, so it needs no storage and cannot be
//! guessed without the cookie.

use crate::accounts::{random_secret, token_digest};
use crate::{unix_now, AuthOutcome, Core, CoreResult};
use hafen_meta::{AccountToken, User};
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// The `purpose` of session rows in the token table.
const SESSION_PURPOSE: &str = "web-session";
/// Length of the random session token (alphanumeric: about 428 bits).
const SESSION_TOKEN_LENGTH: usize = 72;
/// How long a session lasts after login: a working day.
pub const WEB_SESSION_LIFETIME_SECS: i64 = 10 * 3600;

/// A started session: the account and the token to put into the cookie.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub user: User,
    pub token: String,
}

/// The CSRF token belonging to a session token: forms and scripts send it back.
pub fn csrf_token(session_token: &str) -> String {
    let mut hasher = blake3::Hasher::new_derive_key("hafen web session csrf token v1");
    hasher.update(session_token.as_bytes());
    hasher.finalize().to_hex().to_string()
}

/// Whether `candidate` is the CSRF token of `session_token` (constant time).
pub fn csrf_token_matches(session_token: &str, candidate: &str) -> bool {
    bool::from(csrf_token(session_token).as_bytes().ct_eq(candidate.as_bytes()))
}

impl Core {
    /// Logs in with an account password (not an app password: those are for programs) and
    /// starts a session. `Ok(None)` for wrong credentials; `Throttled` after repeated failures.
    pub async fn start_web_session(
        &self,
        login: &str,
        password: &str,
        client: IpAddr,
    ) -> CoreResult<Option<WebSession>> {
        let user = match self.authenticate_via(login, password, client, "web").await? {
            AuthOutcome::Authenticated(user) => user,
            AuthOutcome::Denied => return Ok(None),
        };
        if self.is_app_password(login, password).await? {
            let detail = serde_json::json!({ "via": "web", "reason": "app_password_refused" });
            self.audit(&user.name, Some(client), "login.failure", &user.name, detail).await;
            return Ok(None);
        }
        let token = random_secret(SESSION_TOKEN_LENGTH);
        let row = AccountToken {
            user: user.id,
            purpose: SESSION_PURPOSE.to_string(),
            expires_at: unix_now() + WEB_SESSION_LIFETIME_SECS,
        };
        self.meta.insert_account_token(&token_digest(&token), &row).await?;
        tracing::info!(account = %user.name, %client, "web session started");
        self.audit(&user.name, Some(client), "web_session.start", &user.name, serde_json::json!({})).await;
        Ok(Some(WebSession { user, token }))
    }

    /// The account of a live session; `None` for unknown, ended or expired sessions.
    pub async fn web_session_user(&self, token: &str) -> CoreResult<Option<User>> {
        if token.len() != SESSION_TOKEN_LENGTH {
            return Ok(None);
        }
        let Some(row) = self.meta.account_token(&token_digest(token)).await? else { return Ok(None) };
        if row.purpose != SESSION_PURPOSE || row.expires_at <= unix_now() {
            return Ok(None);
        }
        Ok(self.meta.user(row.user).await?)
    }

    /// When a live session began (its password was entered), in seconds since the epoch;
    /// `None` for unknown, ended or expired sessions. Administration asks for a recent one.
    pub async fn web_session_started(&self, token: &str) -> CoreResult<Option<i64>> {
        if token.len() != SESSION_TOKEN_LENGTH {
            return Ok(None);
        }
        let Some(row) = self.meta.account_token(&token_digest(token)).await? else { return Ok(None) };
        if row.purpose != SESSION_PURPOSE || row.expires_at <= unix_now() {
            return Ok(None);
        }
        Ok(Some(row.expires_at - WEB_SESSION_LIFETIME_SECS))
    }

    /// Ends a session (logout); unknown tokens are ignored.
    pub async fn end_web_session(&self, token: &str) -> CoreResult<()> {
        self.meta.take_account_token(&token_digest(token)).await?;
        Ok(())
    }

    /// Ends every session of the account (after a password change).
    pub async fn end_web_sessions_of(&self, user: &User) -> CoreResult<()> {
        let ended = self.meta.delete_account_tokens(user.id, SESSION_PURPOSE).await?;
        tracing::info!(account = %user.name, ended, "web sessions ended");
        Ok(())
    }
}
