//! The audit log's rows and its hash chain, shared by both stores.
//!
//! Every entry carries the BLAKE3 hash of a canonical encoding of its own fields and of the
//! previous entry's hash (`prev_hash`); the first entry chains to [`AUDIT_GENESIS`]. Ids are
//! handed out by the store as "last id + 1" inside the appending transaction (never by a
//! sequence, which may skip values), so they are contiguous and a missing row shows as a gap.
//! Expiring old entries deletes a prefix of the chain and keeps the newest deleted entry's id
//! and hash as the [`AuditAnchor`] that verification starts from.
//!
//! The hashing lives here, not in each store, so that SQLite and PostgreSQL compute exactly
//! the same chain and a log copied between them (`hafen store copy`) still verifies.

/// The `prev_hash` of the very first entry.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry to append: the store assigns `id`, `prev_hash` and `hash`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewAuditEntry {
    /// Seconds since the epoch (the core's clock).
    pub at: i64,
    /// An account name, `link:{share id}` for a public link's visitor, `operator` for the CLI.
    pub actor: String,
    /// The client address, empty when not known.
    pub ip: String,
    /// What happened, e.g. `login.success`, `share.create`.
    pub action: String,
    /// What it happened to: a path, a share id, an account name.
    pub object: String,
    /// A small JSON object with further facts (never secrets).
    pub detail: String,
}

/// A stored audit log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub ip: String,
    pub action: String,
    pub object: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Where the chain starts after expiry: the id and hash of the newest deleted entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditAnchor {
    pub id: i64,
    pub hash: String,
}

impl AuditEntry {
    /// The entry `new` stored as `id` after the entry whose hash is `prev_hash`.
    pub fn chained(id: i64, new: &NewAuditEntry, prev_hash: &str) -> AuditEntry {
        let mut entry = AuditEntry {
            id,
            at: new.at,
            actor: new.actor.clone(),
            ip: new.ip.clone(),
            action: new.action.clone(),
            object: new.object.clone(),
            detail: new.detail.clone(),
            prev_hash: prev_hash.to_string(),
            hash: String::new(),
        };
        entry.hash = entry.computed_hash();
        entry
    }

    /// The hash the entry's fields (its id and `prev_hash` included) call for.
    pub fn computed_hash(&self) -> String {
        audit_hash(self, self.id)
    }
}

/// BLAKE3 over the canonical encoding of `entry`'s fields with `id` in place of its own: a
/// version tag, then the integers as 8 little-endian bytes and every string as its length (8
/// little-endian bytes) followed by its UTF-8 bytes, so no two different entries encode alike.
/// Lower-case hex.
pub fn audit_hash(entry: &AuditEntry, id: i64) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"hafen audit v1\0");
    hasher.update(&id.to_le_bytes());
    hasher.update(&entry.at.to_le_bytes());
    for field in [&entry.actor, &entry.ip, &entry.action, &entry.object, &entry.detail, &entry.prev_hash] {
        hasher.update(&(field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_covers_every_field_and_fields_do_not_run_together() {
        let new = NewAuditEntry {
            at: 1,
            actor: "ab".into(),
            ip: "c".into(),
            action: "x".into(),
            object: "o".into(),
            detail: "{}".into(),
        };
        let entry = AuditEntry::chained(1, &new, AUDIT_GENESIS);
        assert_eq!(entry.hash, entry.computed_hash());
        assert_eq!(entry.hash.len(), 64);
        let shifted =
            AuditEntry::chained(1, &NewAuditEntry { actor: "a".into(), ip: "bc".into(), ..new.clone() }, AUDIT_GENESIS);
        assert_ne!(entry.hash, shifted.hash);
        assert_ne!(entry.hash, AuditEntry::chained(2, &new, AUDIT_GENESIS).hash);
        assert_ne!(entry.hash, AuditEntry::chained(1, &new, &entry.hash).hash);
        assert_ne!(entry.hash, AuditEntry::chained(1, &NewAuditEntry { at: 2, ..new.clone() }, AUDIT_GENESIS).hash);
    }
}
