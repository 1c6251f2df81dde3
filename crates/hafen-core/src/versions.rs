//! File versions: every overwrite keeps the replaced content as an older version (its blocks
//! are shared, so a version costs only its changed blocks); versions can be listed, read and
//! restored (restoring commits the old block list as the newest version, so nothing is lost).
//!
//! Retention thins the older versions after every change of a file: all of the last day are
//! kept, then the newest of each day for a month, then the newest of each week; and together
//! they never take more than a share of the owner's quota (the oldest go first). Ages are
//! judged by the core's `Clock`, so tests can move time forward.

use crate::access::{perm, Viewer};
use crate::locks::Change;
use crate::transfer::FileContent;
use crate::{unix_now, Core, CoreError, CoreResult, TreePath};
use hafen_meta::{Expect, FileCommit, FileVersion, Node, User, VersionId};

const DAY: i64 = 86_400;

/// How many older versions a file keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetentionPolicy {
    /// Every version younger than this is kept.
    pub keep_all_secs: i64,
    /// Up to this age, the newest version of each day is kept; after it, of each week.
    pub daily_until_secs: i64,
    /// Older versions of a file together take at most this share of the owner's quota.
    pub max_quota_share: f64,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy { keep_all_secs: DAY, daily_until_secs: 30 * DAY, max_quota_share: 0.5 }
    }
}

/// The older versions (not `current`) that retention removes at `now`. `versions` may come in
/// any order; `quota` is the owner's quota in bytes, if any.
pub fn versions_to_drop(
    versions: &[FileVersion],
    current: Option<VersionId>,
    now: i64,
    policy: &RetentionPolicy,
    quota: Option<i64>,
) -> Vec<VersionId> {
    let mut older: Vec<&FileVersion> = versions.iter().filter(|v| Some(v.id) != current).collect();
    // Newest first: in each bucket the first one seen is the one kept.
    older.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.0.cmp(&a.id.0)));
    let mut kept: Vec<&FileVersion> = Vec::new();
    let mut drop = Vec::new();
    let mut last_bucket: Option<(bool, i64)> = None;
    for version in older {
        let age = (now - version.created_at).max(0);
        if age < policy.keep_all_secs {
            kept.push(version);
            continue;
        }
        let bucket = if age < policy.daily_until_secs { (true, age / DAY) } else { (false, age / (7 * DAY)) };
        if last_bucket == Some(bucket) {
            drop.push(version.id);
        } else {
            last_bucket = Some(bucket);
            kept.push(version);
        }
    }
    if let Some(quota) = quota {
        let allowed = (quota as f64 * policy.max_quota_share) as i64;
        let mut total: i64 = kept.iter().map(|v| v.size).sum();
        // `kept` is newest first: the oldest go until the rest fits.
        while total > allowed {
            let Some(oldest) = kept.pop() else { break };
            total -= oldest.size;
            drop.push(oldest.id);
        }
    }
    drop
}

/// A version as the protocols show it.
#[derive(Debug, Clone)]
pub struct VersionView {
    pub id: VersionId,
    pub size: i64,
    pub content_hash: String,
    pub created_at: i64,
    pub is_current: bool,
}

impl Core {
    /// The file at `path` and its versions, newest (the current one) first.
    pub async fn versions(&self, who: &Viewer, path: &TreePath) -> CoreResult<(Node, Vec<VersionView>)> {
        let at = self.locate(who, path).await?;
        let node = at
            .node()
            .filter(|_| at.allows(perm::READ))
            .cloned()
            .ok_or_else(|| CoreError::NotFound(format!("{} does not exist", path.to_key())))?;
        if node.is_dir {
            return Err(CoreError::NotAllowed(format!("{} is a folder; only files have versions", path.to_key())));
        }
        let versions = self.meta.file_versions(node.id).await?;
        let views = versions
            .into_iter()
            .map(|v| VersionView {
                is_current: Some(v.id) == node.version,
                id: v.id,
                size: v.size,
                content_hash: v.content_hash,
                created_at: v.created_at,
            })
            .collect();
        Ok((node, views))
    }

    /// The path in `user`'s own tree of the file with id `file` (Nextcloud's versions
    /// endpoint names files by id); NotFound for folders and for other accounts' files.
    pub async fn own_file_path(&self, user: &User, file: hafen_meta::NodeId) -> CoreResult<TreePath> {
        let not_found = || CoreError::NotFound(format!("file {} does not exist", file.0));
        let node = self.meta.node(file).await?.ok_or_else(not_found)?;
        if node.owner != user.id || node.is_dir {
            return Err(not_found());
        }
        self.tree_path_of(node.id).await
    }

    /// The content of one version of the file at `path`.
    pub async fn open_version(&self, who: &Viewer, path: &TreePath, version: VersionId) -> CoreResult<FileContent> {
        let (node, versions) = self.versions(who, path).await?;
        let found = versions
            .iter()
            .find(|v| v.id == version)
            .ok_or_else(|| CoreError::NotFound(format!("version {} of {} does not exist", version.0, path.to_key())))?;
        self.open_file(Node { version: Some(found.id), size: found.size, ..node }).await
    }

    /// Makes an older version the current content again (as a new version: the content it
    /// replaces stays an older version).
    pub async fn restore_version(&self, who: &Viewer, path: &TreePath, version: VersionId) -> CoreResult<Node> {
        let at = self.locate(who, path).await?;
        at.require(perm::UPDATE, "change files")?;
        let (parent, existing) = at.parent_and_node()?;
        let node = existing.ok_or_else(|| CoreError::NotFound(format!("{} does not exist", path.to_key())))?;
        if node.version == Some(version) {
            return Ok(node);
        }
        let old =
            self.meta.file_versions(node.id).await?.into_iter().find(|v| v.id == version).ok_or_else(|| {
                CoreError::NotFound(format!("version {} of {} does not exist", version.0, path.to_key()))
            })?;
        self.ensure_unlocked(&at.tree, &at.path, Change::Content, &[]).await?;
        let blocks = self.meta.version_blocks(old.id).await?;
        let now = unix_now();
        let (restored, _) = self
            .meta
            .commit_file(&FileCommit {
                parent: parent.id,
                name: node.name.clone(),
                blocks,
                size: old.size,
                content_hash: old.content_hash,
                mtime: now,
                now,
                // Only if nobody changed the file in between.
                expect: Expect::Etag(node.etag.clone()),
                quota: at.tree.quota,
                checksum: None,
                inline_blocks: Vec::new(),
            })
            .await
            .map_err(|error| match error {
                hafen_meta::MetaError::PreconditionFailed => {
                    CoreError::PreconditionFailed(format!("{} changed meanwhile", path.to_key()))
                }
                other => other.into(),
            })?;
        tracing::info!(owner = %at.tree.name, path = %at.path.to_key(), version = version.0, "version restored");
        self.thin_versions(&at.tree, &restored).await?;
        Ok(restored)
    }

    /// The retention policy for `owner`'s files: the server's, with what the owner's
    /// organisation sets instead.
    pub(crate) async fn retention_for(&self, owner: &User) -> CoreResult<RetentionPolicy> {
        let mut policy = self.retention;
        let Some(org) = owner.org else { return Ok(policy) };
        if let Some(org) = self.meta.org(org).await? {
            if let Some(days) = org.version_daily_days {
                policy.daily_until_secs = days.max(1) * DAY;
            }
            if let Some(percent) = org.version_quota_percent {
                policy.max_quota_share = percent.clamp(0, 100) as f64 / 100.0;
            }
        }
        Ok(policy)
    }

    /// Applies the retention policy to the older versions of `node` (after a change of it).
    pub(crate) async fn thin_versions(&self, owner: &User, node: &Node) -> CoreResult<()> {
        let versions = self.meta.file_versions(node.id).await?;
        if versions.len() <= 1 {
            return Ok(());
        }
        let policy = self.retention_for(owner).await?;
        let drop = versions_to_drop(&versions, node.version, self.clock.now(), &policy, owner.quota);
        if !drop.is_empty() {
            self.meta.delete_versions(node.id, &drop).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hafen_meta::NodeId;

    fn version(id: i64, created_at: i64, size: i64) -> FileVersion {
        FileVersion { id: VersionId(id), node: NodeId(1), size, content_hash: String::new(), created_at }
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn the_last_day_is_kept_whole_then_one_per_day_then_one_per_week() {
        let policy = RetentionPolicy::default();
        let mut versions = vec![version(100, NOW, 1)]; // current
                                                       // Five in the last day, three on each of days 2, 3 and 4, two in each of weeks 6, 7.
        for (i, hours) in [1, 2, 5, 10, 23].iter().enumerate() {
            versions.push(version(1 + i as i64, NOW - hours * 3600, 1));
        }
        let mut id = 10;
        for day in [2, 3, 4] {
            for minutes in [10, 20, 30] {
                versions.push(version(id, NOW - day * DAY - minutes * 60, 1));
                id += 1;
            }
        }
        for week in [6, 7] {
            for day in [1, 2] {
                versions.push(version(id, NOW - week * 7 * DAY - day * DAY, 1));
                id += 1;
            }
        }
        let mut dropped = versions_to_drop(&versions, Some(VersionId(100)), NOW, &policy, None);
        dropped.sort_by_key(|v| v.0);
        // Of each day the newest stays (10, 13, 16); of each week the newest (19, 21).
        assert_eq!(dropped, [11, 12, 14, 15, 17, 18, 20, 22].map(VersionId).to_vec());
    }

    #[test]
    fn older_versions_never_take_more_than_their_share_of_the_quota() {
        let policy = RetentionPolicy::default();
        let versions =
            vec![version(9, NOW, 400), version(3, NOW - 30, 300), version(2, NOW - 20, 300), version(1, NOW - 10, 300)];
        // Quota 1000: at most 500 bytes of older versions; the oldest (3) goes, then 2.
        let dropped = versions_to_drop(&versions, Some(VersionId(9)), NOW, &policy, Some(1000));
        assert_eq!(dropped, vec![VersionId(3), VersionId(2)]);
        assert!(versions_to_drop(&versions, Some(VersionId(9)), NOW, &policy, None).is_empty());
    }

    #[test]
    fn the_current_version_is_never_dropped() {
        let policy = RetentionPolicy::default();
        let versions = vec![version(1, NOW - 100 * DAY, 10), version(2, NOW - 100 * DAY - 1, 10)];
        assert_eq!(versions_to_drop(&versions, Some(VersionId(1)), NOW, &policy, Some(1)), vec![VersionId(2)]);
    }
}
