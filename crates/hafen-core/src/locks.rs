//! WebDAV write locks (RFC 4918 §6–7): creating, refreshing and removing them, and the one
//! check every change goes through (`ensure_unlocked`). Locks belong to paths of an owner's
//! tree and live in the metadata store, so any server node sees them.

use crate::{unix_now, Core, CoreError, CoreResult, TreePath};
use hafen_meta::{Lock, User};

/// Longest lock lifetime granted, whatever the client asks for.
const MAX_TIMEOUT_SECS: i64 = 7 * 24 * 3600;
/// Lifetime when the client does not ask for one.
pub const DEFAULT_TIMEOUT_SECS: i64 = 3600;

/// How a change touches the tree, which decides the locks it needs tokens for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Content or properties of the resource itself.
    Content,
    /// Creating the resource: also changes the parent's membership.
    Membership,
    /// Removing or replacing the resource and everything below it.
    Subtree,
}

#[derive(Debug, Clone)]
pub struct LockRequest {
    pub exclusive: bool,
    pub depth_infinite: bool,
    pub owner_xml: String,
    /// Requested lifetime; `None` for the default.
    pub timeout_secs: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct LockResult {
    pub lock: Lock,
    /// Whether LOCK created an empty resource at an unmapped URL.
    pub created: bool,
}

/// Whether `lock` applies to `path` (on it, or on an ancestor with depth infinity).
pub fn lock_covers(lock: &Lock, path: &TreePath) -> bool {
    let root = TreePath::from_key(&lock.path);
    path == &root || (lock.depth_infinite && path.is_within(&root))
}

/// When a lock granted now for `timeout_secs` ends. Times are whole seconds, so one is added:
/// a lock lives at least as long as granted, never a few milliseconds short of a second.
fn expiry(timeout_secs: i64) -> i64 {
    unix_now() + timeout_secs + 1
}

fn clamp_timeout(requested: Option<i64>) -> i64 {
    requested.unwrap_or(DEFAULT_TIMEOUT_SECS).clamp(1, MAX_TIMEOUT_SECS)
}

impl Core {
    /// All unexpired locks in the user's tree (one query; filter with `lock_covers`).
    pub async fn active_locks(&self, user: &User) -> CoreResult<Vec<Lock>> {
        Ok(self.meta.active_locks(user.id, unix_now()).await?)
    }

    /// The unexpired locks that apply to `path` (on it or on an ancestor with depth infinity).
    pub async fn locks_covering(&self, user: &User, path: &TreePath) -> CoreResult<Vec<Lock>> {
        let locks = self.meta.active_locks(user.id, unix_now()).await?;
        Ok(locks.into_iter().filter(|lock| lock_covers(lock, path)).collect())
    }

    /// Fails with `Locked` when a lock that applies to the change was not submitted.
    pub(crate) async fn ensure_unlocked(
        &self,
        user: &User,
        path: &TreePath,
        change: Change,
        tokens: &[String],
    ) -> CoreResult<()> {
        let locks = self.meta.active_locks(user.id, unix_now()).await?;
        if locks.is_empty() {
            return Ok(());
        }
        let parent = path.parent();
        let relevant: Vec<&Lock> = locks
            .iter()
            .filter(|lock| {
                let root = TreePath::from_key(&lock.path);
                lock_covers(lock, path)
                    || (change != Change::Content && parent.as_ref() == Some(&root))
                    || (change == Change::Subtree && root.is_within(path))
            })
            .collect();
        let submitted = |lock: &&Lock| tokens.iter().any(|token| token == &lock.token);
        let missing_exclusive = relevant.iter().any(|lock| lock.exclusive && !submitted(lock));
        let shared: Vec<&&Lock> = relevant.iter().filter(|lock| !lock.exclusive).collect();
        let missing_shared = !shared.is_empty() && !shared.iter().any(|lock| submitted(lock));
        if missing_exclusive || missing_shared {
            return Err(CoreError::Locked(format!(
                "{} is locked; submit the lock token in the If header",
                path.to_key()
            )));
        }
        Ok(())
    }

    /// Creates a lock, creating an empty file first when `path` is unmapped.
    pub async fn lock(
        &self,
        user: &User,
        path: &TreePath,
        request: LockRequest,
        tokens: &[String],
    ) -> CoreResult<LockResult> {
        let (exclusive, depth_infinite) = (request.exclusive, request.depth_infinite);
        let conflicts = |locks: &[Lock]| {
            locks.iter().any(|lock| {
                let applies =
                    lock_covers(lock, path) || (depth_infinite && TreePath::from_key(&lock.path).is_within(path));
                applies && (lock.exclusive || exclusive)
            })
        };
        let already_locked = || CoreError::Locked(format!("{} is already locked", path.to_key()));
        // Checked first so that a refused LOCK does not create an empty file, and again
        // atomically with the insert, against other nodes.
        if conflicts(&self.meta.active_locks(user.id, unix_now()).await?) {
            return Err(already_locked());
        }
        let created = match self.resolve(user, path).await? {
            Some(_) => false,
            None => {
                self.create_empty_file(user, path, tokens).await?;
                true
            }
        };
        let timeout_secs = clamp_timeout(request.timeout_secs);
        let lock = Lock {
            token: format!("opaquelocktoken:{}", uuid::Uuid::new_v4()),
            owner: user.id,
            path: path.to_key(),
            depth_infinite: request.depth_infinite,
            exclusive: request.exclusive,
            owner_xml: request.owner_xml,
            timeout_secs,
            expires_at: expiry(timeout_secs),
        };
        if !self.meta.insert_lock(&lock, &conflicts).await? {
            return Err(already_locked());
        }
        Ok(LockResult { lock, created })
    }

    /// Refreshes the submitted lock that applies to `path`.
    pub async fn refresh_lock(
        &self,
        user: &User,
        path: &TreePath,
        tokens: &[String],
        timeout_secs: Option<i64>,
    ) -> CoreResult<Lock> {
        let mut lock = self
            .locks_covering(user, path)
            .await?
            .into_iter()
            .find(|lock| tokens.contains(&lock.token))
            .ok_or_else(|| {
                CoreError::PreconditionFailed("no lock token in the If header matches a lock of this resource".into())
            })?;
        lock.timeout_secs = clamp_timeout(timeout_secs);
        lock.expires_at = expiry(lock.timeout_secs);
        self.meta.refresh_lock(&lock.token, lock.timeout_secs, lock.expires_at).await?;
        Ok(lock)
    }

    pub async fn unlock(&self, user: &User, path: &TreePath, token: &str) -> CoreResult<()> {
        let applies = self.locks_covering(user, path).await?.iter().any(|lock| lock.token == token);
        if !applies || !self.meta.delete_lock(token).await? {
            return Err(CoreError::Conflict("the lock token does not match a lock of this resource".into()));
        }
        Ok(())
    }
}
