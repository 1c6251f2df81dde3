//! The activity stream: what happened to an account's files and shares (created, changed,
//! deleted, restored, shared, unshared, downloaded through a link, uploaded through a file
//! drop), by whom and when, one entry per account that should see it. Recording never fails
//! the operation that caused it (a failure is logged); entries expire after
//! `ACTIVITY_RETENTION_SECS`.

use crate::{unix_now, Core, CoreResult, Viewer};
use hafen_meta::{Activity, User, UserId};

/// How long activity entries are kept (a year: long enough for audits of collaboration).
pub const ACTIVITY_RETENTION_SECS: i64 = 365 * 86_400;
/// Most entries one request returns.
pub const ACTIVITY_PAGE_MAX: i64 = 200;

/// The name an activity gives the one who acted.
pub(crate) fn actor_of(who: &Viewer) -> String {
    match who {
        Viewer::Account(user) => user.name.clone(),
        Viewer::Link(grant) => format!("link:{}", grant.share.id),
    }
}

impl Core {
    /// Records `kind` on `subject` by `actor` in the streams of `users`.
    pub(crate) async fn record_activity(
        &self,
        users: &[UserId],
        kind: &str,
        actor: &str,
        subject: &str,
        object_id: Option<i64>,
    ) {
        let now = unix_now();
        let entries: Vec<Activity> = users
            .iter()
            .map(|user| Activity {
                id: 0,
                user: *user,
                kind: kind.to_string(),
                actor: actor.to_string(),
                subject: subject.to_string(),
                object_id,
                created_at: now,
            })
            .collect();
        if let Err(error) = self.meta.add_activities(&entries).await {
            tracing::error!(%error, kind, "recording an activity failed");
        }
    }

    /// The account's activity stream, newest first; `before` pages, `kinds` filters.
    pub async fn activities(
        &self,
        user: &User,
        before: Option<i64>,
        kinds: &[String],
        limit: i64,
    ) -> CoreResult<Vec<Activity>> {
        Ok(self.meta.activities(user.id, before, kinds, limit.clamp(1, ACTIVITY_PAGE_MAX)).await?)
    }

    /// Deletes entries older than the retention (run by the server's maintenance).
    pub async fn expire_activities(&self) -> CoreResult<u64> {
        Ok(self.meta.expire_activities(self.clock.now() - ACTIVITY_RETENTION_SECS).await?)
    }
}
