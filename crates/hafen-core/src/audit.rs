//! The audit log for compliance (BSI IT-Grundschutz OPS.1.1.5 style): who did what, when and
//! from where, for logins, app passwords, sharing, public-link access, file-drop uploads and
//! every change to accounts, organisations, groups and spaces.
//!
//! Entries are appended through [`Core::audit`], which never fails the action it records: a
//! store error is logged with tracing and the action goes on (refusing logins because the log
//! is unavailable would turn an audit problem into an outage). Entries never hold passwords,
//! tokens or file contents, only names, ids, paths and flags.
//!
//! Tamper evidence comes from the store's hash chain (`hafen_meta::audit`): [`Core::verify_audit`]
//! recomputes every hash and link from the retention anchor on and names the first entry that
//! was changed, removed or moved. Truncating the newest entries cannot be told from a log that
//! simply ends there; exporting regularly (`hafen audit export`) covers that.
//!
//! Stateless protocols authenticate every request: a login that only repeats one of the last
//! few minutes (same credential and address, see `REPEAT_WINDOW`) is not logged again, so a
//! sync client does not write an entry per request. Failures are always logged.

use crate::{Core, CoreResult};
use hafen_meta::{AuditEntry, NewAuditEntry, AUDIT_GENESIS};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a repeated successful login or link access is not logged again.
const REPEAT_WINDOW: Duration = Duration::from_secs(300);
/// Bound of the repeat memory; when full, it is cleared (at worst an entry too many).
const REPEAT_MAX_ENTRIES: usize = 10_000;
/// Entries read per page by verification and export.
const PAGE: i64 = 1000;
/// The default retention (`--audit-retention-days`): two years.
pub const AUDIT_RETENTION_DEFAULT_DAYS: i64 = 365 * 2;

/// Recently logged successes, keyed by a keyed digest (no credential is kept in memory).
pub(crate) struct RepeatFilter {
    key: [u8; 32],
    seen: Mutex<HashMap<[u8; 32], Instant>>,
}

impl Default for RepeatFilter {
    fn default() -> Self {
        RepeatFilter { key: rand::random(), seen: Mutex::new(HashMap::new()) }
    }
}

impl RepeatFilter {
    /// Whether `parts` were seen within the window; remembers them now either way.
    pub(crate) fn repeated(&self, parts: &[&str]) -> bool {
        let mut hasher = blake3::Hasher::new_keyed(&self.key);
        for part in parts {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = *hasher.finalize().as_bytes();
        let Ok(mut seen) = self.seen.lock() else { return false };
        let repeated = seen.get(&digest).is_some_and(|at| at.elapsed() < REPEAT_WINDOW);
        if !repeated {
            if seen.len() >= REPEAT_MAX_ENTRIES {
                seen.retain(|_, at| at.elapsed() < REPEAT_WINDOW);
                if seen.len() >= REPEAT_MAX_ENTRIES {
                    seen.clear();
                }
            }
            seen.insert(digest, Instant::now());
        }
        repeated
    }
}

/// What is wrong with an entry of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditDamage {
    /// Its fields no longer match its hash, or its hash was recomputed so that the next
    /// entry's link no longer matches.
    Changed,
    /// Entries before it are missing (a gap in the ids or a broken link to its predecessor).
    Removed,
    /// It holds an entry that belongs at another place in the chain.
    Reordered,
}

impl AuditDamage {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditDamage::Changed => "changed",
            AuditDamage::Removed => "removed",
            AuditDamage::Reordered => "reordered",
        }
    }
}

/// The first problem verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditProblem {
    /// The id of the first bad entry (for removals: the first missing id).
    pub id: i64,
    pub damage: AuditDamage,
    pub explanation: String,
}

/// Outcome of [`Core::verify_audit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries checked.
    pub entries: u64,
    /// The id of the newest expired entry verification started after, if any.
    pub anchor: Option<i64>,
    pub problem: Option<AuditProblem>,
}

impl Core {
    /// Records an action. Never fails: a store error is logged and the action goes on.
    /// `actor` is an account name, `link:{share id}` or `operator`; `detail` a small JSON
    /// object without secrets.
    pub async fn audit(&self, actor: &str, ip: Option<IpAddr>, action: &str, object: &str, detail: serde_json::Value) {
        let entry = NewAuditEntry {
            at: self.now(),
            actor: actor.to_string(),
            ip: ip.map(|ip| ip.to_string()).unwrap_or_default(),
            action: action.to_string(),
            object: object.to_string(),
            detail: detail.to_string(),
        };
        if let Err(error) = self.meta.append_audit(&entry).await {
            tracing::error!(%error, actor, action, object, "cannot append to the audit log");
        }
    }

    /// Records a success unless the same (action, actor, address, `key`) was recorded within
    /// the last few minutes (see the module documentation).
    pub(crate) async fn audit_once(
        &self,
        key: &str,
        actor: &str,
        ip: Option<IpAddr>,
        action: &str,
        object: &str,
        detail: serde_json::Value,
    ) {
        let address = ip.map(|ip| ip.to_string()).unwrap_or_default();
        if !self.audit_repeats.repeated(&[action, actor, &address, key]) {
            self.audit(actor, ip, action, object, detail).await;
        }
    }

    /// Checks the whole log from the retention anchor on: every entry's hash, every link to
    /// its predecessor and that the ids have no gaps. Reports the first bad entry.
    pub async fn verify_audit(&self) -> CoreResult<AuditReport> {
        let anchor = self.meta.audit_anchor().await?;
        let (mut last_id, mut last_hash) = match &anchor {
            Some(anchor) => (anchor.id, anchor.hash.clone()),
            None => (0, AUDIT_GENESIS.to_string()),
        };
        let start = (last_id, last_hash.clone());
        let mut checked = 0u64;
        let mut after = last_id;
        loop {
            let page = self.meta.audit_entries(None, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for entry in &page {
                let fault = if entry.id != last_id + 1 {
                    Some(AuditProblem {
                        id: last_id + 1,
                        damage: AuditDamage::Removed,
                        explanation: format!(
                            "entries {} to {} are missing (the next stored entry is {})",
                            last_id + 1,
                            entry.id - 1,
                            entry.id
                        ),
                    })
                } else if entry.hash != entry.computed_hash() || entry.prev_hash != last_hash {
                    Some(self.diagnose(entry, last_id, &start).await?)
                } else {
                    None
                };
                if let Some(problem) = fault {
                    return Ok(AuditReport { entries: checked, anchor: anchor.map(|a| a.id), problem: Some(problem) });
                }
                checked += 1;
                (last_id, last_hash) = (entry.id, entry.hash.clone());
            }
        }
        Ok(AuditReport { entries: checked, anchor: anchor.map(|a| a.id), problem: None })
    }

    /// Says why `entry` (the first one that does not fit after entry `previous`) is bad. Reads
    /// the log once more to find where its content belongs; only runs for a damaged log.
    async fn diagnose(&self, entry: &AuditEntry, previous: i64, start: &(i64, String)) -> CoreResult<AuditProblem> {
        // Every stored content by the hash it links to: following the links from the anchor
        // gives each content the position it was appended at, wherever its row is now.
        let mut by_prev: HashMap<String, AuditEntry> = HashMap::new();
        let mut after = start.0;
        loop {
            let page = self.meta.audit_entries(None, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for row in page {
                by_prev.insert(row.prev_hash.clone(), row);
            }
        }
        let (mut position, mut hash) = start.clone();
        let mut home = None;
        for _ in 0..by_prev.len() {
            let Some(row) = by_prev.get(&hash) else { break };
            position += 1;
            if row.hash == entry.hash && row.prev_hash == entry.prev_hash {
                home = Some(position);
                break;
            }
            hash = row.hash.clone();
        }
        // Its hash fits the position its links give it: it was moved, not edited.
        if let Some(home) = home.filter(|home| *home != entry.id) {
            if hafen_meta::audit_hash(entry, home) == entry.hash {
                return Ok(AuditProblem {
                    id: entry.id,
                    damage: AuditDamage::Reordered,
                    explanation: format!("entry {} holds the entry that was appended as {home}", entry.id),
                });
            }
        }
        if entry.hash != entry.computed_hash() {
            return Ok(AuditProblem {
                id: entry.id,
                damage: AuditDamage::Changed,
                explanation: format!("entry {}'s fields do not match its hash", entry.id),
            });
        }
        // Consistent in itself but not linked to its predecessor: the predecessor was rewritten
        // with a recomputed hash (its old hash is what this entry names), or replaced.
        Ok(AuditProblem {
            id: previous,
            damage: AuditDamage::Changed,
            explanation: format!(
                "entry {previous} was rewritten: entry {} links to a different predecessor hash",
                entry.id
            ),
        })
    }

    /// Hands every entry at or after `since` (seconds) to `each`, oldest first; returns how
    /// many. Reads in pages, so the log never has to fit in memory.
    pub async fn export_audit(
        &self,
        since: Option<i64>,
        each: &mut (dyn FnMut(&AuditEntry) -> std::io::Result<()> + Send),
    ) -> CoreResult<u64> {
        let mut after = i64::MIN;
        let mut count = 0;
        loop {
            let page = self.meta.audit_entries(since, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for entry in &page {
                each(entry).map_err(|error| crate::CoreError::Internal(format!("cannot write the export: {error}")))?;
                count += 1;
            }
        }
        Ok(count)
    }

    /// Deletes entries older than `retention_days` (a prefix of the chain; see
    /// `MetaStore::expire_audit`); returns how many.
    pub async fn expire_audit(&self, retention_days: i64) -> CoreResult<u64> {
        let before = self.now().saturating_sub(retention_days.saturating_mul(86_400));
        let expired = self.meta.expire_audit(before).await?;
        if expired > 0 {
            tracing::info!(expired, retention_days, "audit log entries expired");
        }
        Ok(expired)
    }
}
