-- Issue 9, audit log: an append-only, hash-chained record of logins, sharing, link access and
-- administrative changes (see src/audit.rs for the chain).

-- Ids are assigned by the store as the last id + 1 (no AUTOINCREMENT), so they are contiguous
-- and a deleted row leaves a visible gap.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    ip TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
-- Entries are never changed: refused here as a second line of defence (the hash chain is the
-- first; someone who can drop this trigger can also rewrite rows, which verification finds).
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- The newest entry removed by retention: verification starts from its hash. One row at most.
CREATE TABLE audit_anchor (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    entry_id INTEGER NOT NULL,
    hash TEXT NOT NULL
);
