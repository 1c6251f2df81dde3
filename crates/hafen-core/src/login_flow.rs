//! Nextcloud Login Flow v2: a client starts a flow and gets a poll token and a browser URL; the
//! user logs in there and grants access; the client's next poll receives a new app password,
//! exactly once.
//!
//! Secrets: the login token (in the browser URL), the poll token (stored only as its BLAKE3
//! digest), the form token (anti-CSRF value in the flow's forms, compared in constant time) and
//! the grant token, which proves that the user behind the grant form has just authenticated.
//! It is a keyed BLAKE3 MAC over flow, account and time with a key that lives only in this
//! process (no session store needed; a restart merely asks the user to log in again).
//! Flows expire after `LOGIN_FLOW_LIFETIME_SECS`.

use crate::accounts::{random_secret, token_digest};
use crate::{unix_now, Core, CoreError, CoreResult};
use hafen_meta::{LoginFlow, User};
use std::sync::OnceLock;
use subtle::ConstantTimeEq;

/// How long a flow may take from start to the client's successful poll (as Nextcloud: 20 min).
pub const LOGIN_FLOW_LIFETIME_SECS: i64 = 20 * 60;
/// How long a grant form stays valid after the login.
const GRANT_TOKEN_LIFETIME_SECS: i64 = 10 * 60;
/// Length of the login and poll tokens (Nextcloud uses 128 characters).
const FLOW_TOKEN_LENGTH: usize = 128;
const FORM_TOKEN_LENGTH: usize = 64;
/// Longest client name kept (it labels the app password).
const MAX_CLIENT_NAME_CHARS: usize = 120;

/// What the client gets when it starts a flow.
#[derive(Debug, Clone)]
pub struct LoginFlowStart {
    /// Secret part of the browser URL.
    pub login_token: String,
    /// What the client polls with.
    pub poll_token: String,
}

/// A flow waiting for the user in the browser.
#[derive(Debug, Clone)]
pub struct PendingLoginFlow {
    pub client_name: String,
    form_token: String,
}

impl PendingLoginFlow {
    /// The anti-CSRF value to embed in the flow's forms.
    pub fn form_token(&self) -> &str {
        &self.form_token
    }

    /// Whether a submitted form token is this flow's (constant-time comparison).
    pub fn form_token_matches(&self, candidate: &str) -> bool {
        bool::from(self.form_token.as_bytes().ct_eq(candidate.as_bytes()))
    }
}

/// What a successful poll hands to the client.
#[derive(Debug, Clone)]
pub struct LoginFlowGrant {
    pub login_name: String,
    pub app_password: String,
}

fn grant_key() -> &'static [u8; 32] {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    KEY.get_or_init(rand::random)
}

fn grant_mac(login_token: &str, user: &User, issued_at: i64) -> String {
    let mut hasher = blake3::Hasher::new_keyed(grant_key());
    for part in ["hafen login flow grant", login_token, &user.name, &user.id.0.to_string(), &issued_at.to_string()] {
        hasher.update(part.as_bytes());
        hasher.update(&[0]);
    }
    hasher.finalize().to_hex().to_string()
}

/// A client name fit for display and as a label: control characters removed, length capped.
fn clean_client_name(name: &str) -> String {
    let cleaned: String = name.chars().filter(|c| !c.is_control()).take(MAX_CLIENT_NAME_CHARS).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        "unknown client".to_string()
    } else {
        cleaned.to_string()
    }
}

fn is_live(flow: &LoginFlow, now: i64) -> bool {
    flow.created_at > now - LOGIN_FLOW_LIFETIME_SECS && flow.created_at <= now + 60
}

impl Core {
    /// Starts a flow for the client called `client_name` (its User-Agent).
    pub async fn start_login_flow(&self, client_name: &str) -> CoreResult<LoginFlowStart> {
        let now = unix_now();
        self.meta.expire_login_flows(now - LOGIN_FLOW_LIFETIME_SECS).await?;
        let login_token = random_secret(FLOW_TOKEN_LENGTH);
        let poll_token = random_secret(FLOW_TOKEN_LENGTH);
        let flow = LoginFlow {
            login_token: login_token.clone(),
            poll_token_hash: token_digest(&poll_token),
            form_token: random_secret(FORM_TOKEN_LENGTH),
            client_name: clean_client_name(client_name),
            user: None,
            app_password: None,
            created_at: now,
        };
        self.meta.insert_login_flow(&flow).await?;
        Ok(LoginFlowStart { login_token, poll_token })
    }

    /// The flow behind a browser URL, while it waits for the user; `None` when the token is
    /// unknown, the flow expired or access was already granted.
    pub async fn pending_login_flow(&self, login_token: &str) -> CoreResult<Option<PendingLoginFlow>> {
        if login_token.len() != FLOW_TOKEN_LENGTH {
            return Ok(None);
        }
        let Some(flow) = self.meta.login_flow(login_token).await? else { return Ok(None) };
        if !is_live(&flow, unix_now()) || flow.user.is_some() {
            return Ok(None);
        }
        Ok(Some(PendingLoginFlow { client_name: flow.client_name, form_token: flow.form_token }))
    }

    /// A token for the grant form of `user`, who has just authenticated in flow `login_token`.
    pub fn login_flow_grant_token(&self, login_token: &str, user: &User) -> String {
        let issued_at = unix_now();
        format!("{issued_at}.{}", grant_mac(login_token, user, issued_at))
    }

    /// Grants access: checks the grant token issued to `login_name`, creates an app password
    /// labelled with the client's name and records it for the client's next poll. Returns the
    /// account; `Forbidden` when the grant token is invalid or stale, `NotFound` when the flow
    /// is gone or already granted.
    pub async fn grant_login_flow(&self, login_token: &str, login_name: &str, grant_token: &str) -> CoreResult<User> {
        let refused = || CoreError::Forbidden("the grant form is invalid or expired; please log in again".into());
        let (issued, mac) = grant_token.split_once('.').ok_or_else(refused)?;
        let issued_at: i64 = issued.parse().map_err(|_| refused())?;
        let now = unix_now();
        if issued_at > now + 60 || issued_at < now - GRANT_TOKEN_LIFETIME_SECS {
            return Err(refused());
        }
        let user = self.meta.user_by_name(login_name).await?.ok_or_else(refused)?;
        let expected = grant_mac(login_token, &user, issued_at);
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return Err(refused());
        }
        let flow = self.pending_login_flow(login_token).await?;
        let flow = flow.ok_or_else(|| CoreError::NotFound("this login link is invalid or expired".into()))?;
        let app_password = self.create_app_password(&user.name, &flow.client_name).await?;
        if !self.meta.grant_login_flow(login_token, user.id, &app_password).await? {
            // Granted concurrently: do not leave an orphaned password behind.
            self.meta.delete_app_password_by_hash(&token_digest(&app_password)).await?;
            return Err(CoreError::NotFound("this login link is invalid or expired".into()));
        }
        tracing::info!(account = %user.name, client = %flow.client_name, "login flow granted");
        let detail = serde_json::json!({ "client": flow.client_name });
        self.audit(&user.name, None, "login_flow.grant", &user.name, detail).await;
        Ok(user)
    }

    /// The client's poll: the login name and app password once access was granted (single
    /// use), `None` before, after and for unknown tokens.
    pub async fn poll_login_flow(&self, poll_token: &str) -> CoreResult<Option<LoginFlowGrant>> {
        let now = unix_now();
        self.meta.expire_login_flows(now - LOGIN_FLOW_LIFETIME_SECS).await?;
        if poll_token.len() != FLOW_TOKEN_LENGTH {
            return Ok(None);
        }
        let Some(flow) = self.meta.take_login_flow(&token_digest(poll_token)).await? else { return Ok(None) };
        let Some(app_password) = flow.app_password.clone() else { return Ok(None) };
        let digest = token_digest(&app_password);
        if !is_live(&flow, now) {
            self.meta.delete_app_password_by_hash(&digest).await?;
            return Ok(None);
        }
        match self.meta.user_by_app_password(&digest).await? {
            Some(user) if Some(user.id) == flow.user => {
                Ok(Some(LoginFlowGrant { login_name: user.name, app_password }))
            }
            // Revoked (or the account deleted) between grant and poll.
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_are_cleaned() {
        assert_eq!(clean_client_name("  \u{7}\n "), "unknown client");
        assert_eq!(clean_client_name("mirall/3.7.3\r\nX: y"), "mirall/3.7.3X: y");
        assert_eq!(clean_client_name(&"é".repeat(500)).chars().count(), MAX_CLIENT_NAME_CHARS);
    }

    #[test]
    fn form_token_comparison() {
        let flow = PendingLoginFlow { client_name: "c".into(), form_token: "abc".into() };
        assert!(flow.form_token_matches("abc"));
        assert!(!flow.form_token_matches("abd"));
        assert!(!flow.form_token_matches("ab"));
        assert!(!flow.form_token_matches(""));
    }
}
