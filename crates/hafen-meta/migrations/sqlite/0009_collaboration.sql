-- Issue 8, collaboration: comments, collaborative tags, e-mail digests of notifications and
-- per-organisation version retention.

-- Notification e-mails go out as digests: 0 waits for the account's next digest, 1 was mailed
-- (or is being mailed), 2 is not to be mailed (e-mail off, no address, or no mailer).
ALTER TABLE notifications ADD COLUMN mail_state INTEGER NOT NULL DEFAULT 2;
CREATE INDEX notifications_mail ON notifications(mail_state, user_id);
-- How an account's notification e-mails are batched: 'batched' (the server's digest window)
-- or 'daily'.
ALTER TABLE users ADD COLUMN mail_digest TEXT NOT NULL DEFAULT 'batched';

-- Version retention of an organisation's accounts (NULL: the server's default).
ALTER TABLE organisations ADD COLUMN version_daily_days INTEGER;
ALTER TABLE organisations ADD COLUMN version_quota_percent INTEGER;

-- Comments on files and folders; they go with the node.
CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    author_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    author_name TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    edited_at INTEGER
);
CREATE INDEX comments_node ON comments(node_id, id);

-- Collaborative tags, one set per organisation (org_id NULL: accounts without one).
CREATE TABLE tags (
    id INTEGER PRIMARY KEY,
    org_id INTEGER REFERENCES organisations(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    user_visible INTEGER NOT NULL,
    user_assignable INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX tags_name ON tags(COALESCE(org_id, 0), name);
CREATE TABLE node_tags (
    node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (node_id, tag_id)
);
CREATE INDEX node_tags_tag ON node_tags(tag_id);
