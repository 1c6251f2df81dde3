//! Accounts and authentication: argon2id password hashes, app passwords, login throttling
//! and a short-lived cache of verified credentials.
//!
//! The cache exists because DAV clients send Basic credentials with every request and an
//! argon2id verification costs tens of milliseconds by design. It maps a keyed BLAKE3 digest
//! of (login, secret) — the key is random per process, so the digest reveals nothing — to the
//! account and the password hash it was verified against; a password change invalidates it.

use crate::{throttle, unix_now, Core, CoreError, CoreResult};
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use hafen_meta::{NewUser, User};
use rand::distributions::Alphanumeric;
use rand::Rng;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const CACHE_TTL: Duration = Duration::from_secs(300);
const CACHE_MAX_ENTRIES: usize = 10_000;
/// Length of generated app passwords (as Nextcloud's, so clients accept them).
const APP_PASSWORD_LENGTH: usize = 72;

pub(crate) struct AuthCache {
    key: [u8; 32],
    entries: Mutex<HashMap<[u8; 32], (String, String, Instant)>>,
}

impl Default for AuthCache {
    fn default() -> Self {
        AuthCache { key: rand::random(), entries: Mutex::new(HashMap::new()) }
    }
}

impl AuthCache {
    fn digest(&self, login: &str, secret: &str) -> [u8; 32] {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        hasher.update(login.as_bytes());
        hasher.update(&[0]);
        hasher.update(secret.as_bytes());
        *hasher.finalize().as_bytes()
    }
}

/// An account to create.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub name: String,
    pub password: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub quota: Option<i64>,
    pub is_admin: bool,
    /// Organisation name the account belongs to.
    pub org: Option<String>,
    pub org_admin: bool,
}

/// Result of a login attempt.
// Returned once per request and matched at once, never stored: boxing the account would only
// add an allocation per request.
#[allow(clippy::large_enum_variant)]
pub enum AuthOutcome {
    Authenticated(User),
    Denied,
}

/// argon2id with one of OWASP's equivalent recommended settings: 12 MiB, 3 passes, 1 lane.
/// Chosen over 19 MiB × 2 passes (same strength) because every verification allocates that
/// memory, and less of it per login keeps the server's footprint small under login bursts.
fn hasher() -> CoreResult<Argon2<'static>> {
    let params = argon2::Params::new(12 * 1024, 3, 1, None)
        .map_err(|error| CoreError::Internal(format!("argon2 parameters: {error}")))?;
    Ok(Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params))
}

/// Hashes a password with argon2id (see `hasher`).
pub fn hash_password(password: &str) -> CoreResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| CoreError::Internal(format!("password hashing failed: {error}")))
}

/// Runs argon2 work on a thread of its own. Each hash or verification allocates 12 MiB; the
/// allocator keeps freed memory per thread, so a pool thread would hold it while idle, whereas
/// a thread that ends gives it back at once (idle RSS stays small). A thread start costs
/// microseconds against argon2's tens of milliseconds.
async fn on_own_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> CoreResult<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("hafen-argon2".into())
        .spawn(move || {
            let _ = done.send(work());
        })
        .map_err(|error| CoreError::Internal(format!("cannot start a hashing thread: {error}")))?;
    result.await.map_err(|_| CoreError::Internal("the hashing thread ended without a result".into()))
}

/// Hashes a password with argon2id on a thread of its own (see `on_own_thread`).
pub(crate) async fn hash_password_off_thread(password: String) -> CoreResult<String> {
    on_own_thread(move || hash_password(&password)).await?
}

/// Verifies a password against an argon2id hash on a thread of its own.
pub(crate) async fn verify_password_off_thread(hash: String, password: String) -> CoreResult<bool> {
    on_own_thread(move || verify_password(&hash, &password)).await
}

fn verify_password(hash: &str, password: &str) -> bool {
    // argon2's verifier compares digests in constant time.
    // The parameters come from the stored hash; the hasher's own only matter for new hashes.
    PasswordHash::new(hash)
        .is_ok_and(|parsed| hasher().is_ok_and(|argon2| argon2.verify_password(password.as_bytes(), &parsed).is_ok()))
}

pub(crate) fn token_digest(token: &str) -> String {
    // App passwords are 72 random characters: an unsalted fast hash is enough to keep the
    // stored form useless, and looking it up by digest leaks nothing about the token.
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

pub(crate) fn valid_account_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

/// A random password or token of `length` alphanumeric characters.
pub fn random_secret(length: usize) -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(length).map(char::from).collect()
}

impl Core {
    pub async fn count_accounts(&self) -> CoreResult<i64> {
        Ok(self.meta.count_users().await?)
    }

    /// Creates an account as the operator (CLI, first start).
    pub async fn create_account(&self, account: NewAccount) -> CoreResult<User> {
        self.create_account_by("operator", account).await
    }

    /// Creates an account, recording `actor` in the audit log.
    pub(crate) async fn create_account_by(&self, actor: &str, account: NewAccount) -> CoreResult<User> {
        if !valid_account_name(&account.name) {
            return Err(CoreError::InvalidInput(
                "account names use 1-64 characters: letters, digits, '.', '-', '_', '@'".into(),
            ));
        }
        if account.password.is_empty() {
            return Err(CoreError::InvalidInput("the password must not be empty".into()));
        }
        let password = account.password.clone();
        let password_hash = on_own_thread(move || hash_password(&password)).await??;
        let org = match &account.org {
            Some(name) => Some(
                self.meta
                    .org_by_name(name)
                    .await?
                    .ok_or_else(|| CoreError::NotFound(format!("organisation {name} not found")))?
                    .id,
            ),
            None => None,
        };
        let new_user = NewUser {
            display_name: account.display_name.unwrap_or_else(|| account.name.clone()),
            name: account.name,
            email: account.email,
            password_hash,
            quota: account.quota,
            is_admin: account.is_admin,
            org,
            org_admin: account.org_admin,
            ..NewUser::default()
        };
        let user = self.meta.create_user(&new_user, unix_now()).await?;
        let detail = serde_json::json!({
            "org": account.org, "is_admin": user.is_admin, "org_admin": user.org_admin, "quota": user.quota,
        });
        self.audit(actor, None, "account.create", &user.name, detail).await;
        Ok(user)
    }

    pub async fn account(&self, name: &str) -> CoreResult<User> {
        self.meta.user_by_name(name).await?.ok_or_else(|| CoreError::NotFound(format!("account {name} not found")))
    }

    pub async fn list_accounts(&self) -> CoreResult<Vec<User>> {
        Ok(self.meta.list_users().await?)
    }

    /// Sets an account's password as the operator (CLI).
    pub async fn set_password(&self, name: &str, password: &str) -> CoreResult<()> {
        self.set_password_by("operator", name, password).await
    }

    /// Sets an account's password, recording `actor` (never the password).
    pub(crate) async fn set_password_by(&self, actor: &str, name: &str, password: &str) -> CoreResult<()> {
        if password.is_empty() {
            return Err(CoreError::InvalidInput("the password must not be empty".into()));
        }
        let user = self.account(name).await?;
        let password = password.to_string();
        let hash = on_own_thread(move || hash_password(&password)).await??;
        self.meta.set_password_hash(user.id, &hash).await?;
        self.audit(actor, None, "account.password", &user.name, serde_json::json!({})).await;
        // A new password ends every browser session (someone may have known the old one).
        self.end_web_sessions_of(&user).await
    }

    /// Deletes an account as the operator (CLI).
    pub async fn delete_account(&self, name: &str) -> CoreResult<()> {
        let user = self.account(name).await?;
        self.delete_trash_of(&user).await?;
        self.meta.delete_user(user.id).await?;
        self.audit("operator", None, "account.delete", name, serde_json::json!({})).await;
        Ok(())
    }

    /// Creates an app password for the account (by the account itself) and returns the token
    /// (shown once).
    pub async fn create_app_password(&self, name: &str, label: &str) -> CoreResult<String> {
        self.create_app_password_by(name, name, label).await
    }

    /// Creates an app password for the account `name`, recording `actor` (never the token).
    pub async fn create_app_password_by(&self, actor: &str, name: &str, label: &str) -> CoreResult<String> {
        let user = self.account(name).await?;
        let token = random_secret(APP_PASSWORD_LENGTH);
        self.meta.add_app_password(user.id, label, &token_digest(&token), unix_now()).await?;
        self.audit(actor, None, "app_password.create", &user.name, serde_json::json!({ "label": label })).await;
        Ok(token)
    }

    /// Checks Basic credentials (account password or app password), with throttling.
    pub async fn authenticate(&self, login: &str, secret: &str, client: IpAddr) -> CoreResult<AuthOutcome> {
        self.authenticate_via(login, secret, client, "basic").await
    }

    /// [`Core::authenticate`] for a login through `via` (`basic`, `web`, `login_flow`,
    /// `settings`), which the audit log records with it.
    pub async fn authenticate_via(
        &self,
        login: &str,
        secret: &str,
        client: IpAddr,
        via: &str,
    ) -> CoreResult<AuthOutcome> {
        let now = unix_now();
        let address = client.to_string();
        let user = self.meta.user_by_name(login).await?;
        // The throttle is only looked up for accounts with recent failures (or unknown ones):
        // the user row, read anyway, says so, which keeps the common case at one query.
        let recently_failed = user
            .as_ref()
            .is_none_or(|user| user.last_failed_login.is_some_and(|at| now - at < throttle::FORGET_AFTER_SECS));
        if recently_failed {
            let blocked_until = self.meta.login_blocked_until(login, &address).await?;
            if blocked_until > now {
                tracing::warn!(account = login, %client, "login throttled");
                let detail = serde_json::json!({ "via": via, "reason": "throttled" });
                self.audit(login, Some(client), "login.failure", login, detail).await;
                return Err(CoreError::Throttled { retry_after_secs: (blocked_until - now).max(1) as u64 });
            }
        }
        let known = user.is_some();
        match self.verify_credentials(user, login, secret).await? {
            Some((user, method)) => {
                if recently_failed {
                    self.meta.clear_login_failures(login, &address).await?;
                }
                // Keyed by the channel and the credential's keyed digest: each app password is a
                // login of its own, and a web login is logged even right after a DAV one.
                let key = format!("{via}:{}", hex::encode(self.auth_cache.digest(login, secret)));
                let detail = serde_json::json!({ "via": via, "method": method });
                self.audit_once(&key, &user.name, Some(client), "login.success", &user.name, detail).await;
                Ok(AuthOutcome::Authenticated(user))
            }
            None => {
                self.meta.record_login_failure(login, &address, now, &throttle::backoff_secs).await?;
                tracing::warn!(account = login, %client, "login failed");
                let detail = serde_json::json!({ "via": via, "reason": "bad_credentials", "known_account": known });
                self.audit(login, Some(client), "login.failure", login, detail).await;
                Ok(AuthOutcome::Denied)
            }
        }
    }

    /// The account the credentials belong to and how they were checked (`password` or
    /// `app_password`, for the audit log).
    async fn verify_credentials(
        &self,
        user: Option<User>,
        login: &str,
        secret: &str,
    ) -> CoreResult<Option<(User, &'static str)>> {
        let digest = self.auth_cache.digest(login, secret);
        if let Some(user) = &user {
            let cached = self.auth_cache.entries.lock().ok().and_then(|entries| entries.get(&digest).cloned());
            if let Some((name, hash, at)) = cached {
                if name == user.name && hash == user.password_hash && at.elapsed() < CACHE_TTL {
                    return Ok(Some((user.clone(), "password")));
                }
            }
        }
        // App passwords first: they are cheap to check and what sync clients send.
        if secret.len() == APP_PASSWORD_LENGTH {
            if let Some(owner) = self.meta.user_by_app_password(&token_digest(secret)).await? {
                if owner.name == login {
                    // Not cached: the lookup is cheap and a revocation must take effect at once.
                    return Ok(Some((owner, "app_password")));
                }
            }
        }
        // Verify against a dummy hash for unknown accounts so timing does not reveal them.
        let stored = user.as_ref().map(|user| user.password_hash.clone());
        let secret_owned = secret.to_string();
        let valid = on_own_thread(move || verify_password(&stored.unwrap_or_else(dummy_hash), &secret_owned)).await?;
        match user {
            Some(user) if valid => {
                self.remember(digest, &user);
                Ok(Some((user, "password")))
            }
            _ => Ok(None),
        }
    }

    fn remember(&self, digest: [u8; 32], user: &User) {
        if let Ok(mut entries) = self.auth_cache.entries.lock() {
            if entries.len() >= CACHE_MAX_ENTRIES {
                entries.retain(|_, (_, _, at)| at.elapsed() < CACHE_TTL);
                if entries.len() >= CACHE_MAX_ENTRIES {
                    entries.clear();
                }
            }
            entries.insert(digest, (user.name.clone(), user.password_hash.clone(), Instant::now()));
        }
    }
}

/// An argon2id hash (current parameters) of a random string nobody knows, verified for unknown
/// accounts so that they take as long as known ones. Made once, on first use.
fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_secret(32)).unwrap_or_default()).clone()
}
