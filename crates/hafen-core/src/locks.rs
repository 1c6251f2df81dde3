//! WebDAV write locks (RFC 4918 §6–7): creating, refreshing and removing them, and the one
//! check every change goes through (`ensure_unlocked`). Locks belong to paths of an owner's
//! tree and live in the metadata store, so any server node sees them.

use crate::access::{perm, Located, Viewer};
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

/// A lock with its path in the viewer's namespace, `None` when outside what the viewer sees.
fn to_view(located: &Located, lock: Lock) -> Option<Lock> {
    let path = located.to_view(&TreePath::from_key(&lock.path))?;
    Some(Lock { path: path.to_key(), ..lock })
}

impl Core {
    /// The unexpired locks of the tree `path` lies in, with paths as the viewer sees them
    /// (one query; filter with `lock_covers`).
    pub async fn active_locks(&self, who: &Viewer, path: &TreePath) -> CoreResult<Vec<Lock>> {
        let at = self.locate(who, path).await?;
        self.view_locks(&at).await
    }

    pub(crate) async fn view_locks(&self, at: &Located) -> CoreResult<Vec<Lock>> {
        let locks = self.meta.active_locks(at.tree.id, unix_now()).await?;
        Ok(locks.into_iter().filter_map(|lock| to_view(at, lock)).collect())
    }

    /// The unexpired locks that apply to `path` (on it or on an ancestor with depth infinity),
    /// in the tree's own coordinates.
    async fn tree_locks_covering(&self, at: &Located) -> CoreResult<Vec<Lock>> {
        let locks = self.meta.active_locks(at.tree.id, unix_now()).await?;
        Ok(locks.into_iter().filter(|lock| lock_covers(lock, &at.path)).collect())
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
        who: &Viewer,
        view_path: &TreePath,
        request: LockRequest,
        tokens: &[String],
    ) -> CoreResult<LockResult> {
        let at = self.locate(who, view_path).await?;
        if at.node().is_some() {
            at.require(perm::UPDATE, "lock")?;
        } else {
            at.require(perm::CREATE, "create files")?;
        }
        let (user, path) = (&at.tree, &at.path);
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
        let created = match at.node() {
            Some(_) => false,
            None => {
                self.create_empty_file(who, view_path, tokens).await?;
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
        let lock = to_view(&at, lock).ok_or_else(|| CoreError::Internal("a new lock lies outside its view".into()))?;
        Ok(LockResult { lock, created })
    }

    /// Refreshes the submitted lock that applies to `path`.
    pub async fn refresh_lock(
        &self,
        who: &Viewer,
        path: &TreePath,
        tokens: &[String],
        timeout_secs: Option<i64>,
    ) -> CoreResult<Lock> {
        let at = self.located_existing(who, path).await?;
        let mut lock = self
            .tree_locks_covering(&at)
            .await?
            .into_iter()
            .find(|lock| tokens.contains(&lock.token))
            .ok_or_else(|| {
                CoreError::PreconditionFailed("no lock token in the If header matches a lock of this resource".into())
            })?;
        lock.timeout_secs = clamp_timeout(timeout_secs);
        lock.expires_at = expiry(lock.timeout_secs);
        self.meta.refresh_lock(&lock.token, lock.timeout_secs, lock.expires_at).await?;
        to_view(&at, lock).ok_or_else(|| CoreError::Internal("a lock lies outside its view".into()))
    }

    pub async fn unlock(&self, who: &Viewer, path: &TreePath, token: &str) -> CoreResult<()> {
        let at = self.located_existing(who, path).await?;
        let applies = self.tree_locks_covering(&at).await?.iter().any(|lock| lock.token == token);
        if !applies || !self.meta.delete_lock(token).await? {
            return Err(CoreError::Conflict("the lock token does not match a lock of this resource".into()));
        }
        Ok(())
    }
}
