-- Organisations, groups, guests and shares (issue 6).
CREATE TABLE organisations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    quota INTEGER,
    -- Link policy the organisation's admins enforce for its members' public links.
    link_password_required INTEGER NOT NULL DEFAULT 0,
    link_max_expiry_days INTEGER,
    created_at INTEGER NOT NULL
);

-- kind: 'user' or 'guest'. A guest belongs to no organisation and was invited by someone.
ALTER TABLE users ADD COLUMN org_id INTEGER REFERENCES organisations(id) ON DELETE SET NULL;
ALTER TABLE users ADD COLUMN org_admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'user';
ALTER TABLE users ADD COLUMN invited_by INTEGER REFERENCES users(id) ON DELETE SET NULL;
CREATE INDEX users_org ON users(org_id);

-- A group belongs to an organisation, or to none when it is a cross-organisation project group.
CREATE TABLE user_groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    org_id INTEGER REFERENCES organisations(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    is_admin INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);

-- share_type: 0 user, 1 group, 3 public link, 100 organisation (Hafen's own).
-- Exactly one recipient column is set for 0/1/100; token for 3.
CREATE TABLE shares (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sharer_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    share_type INTEGER NOT NULL,
    recipient_user INTEGER REFERENCES users(id) ON DELETE CASCADE,
    recipient_group INTEGER REFERENCES user_groups(id) ON DELETE CASCADE,
    recipient_org INTEGER REFERENCES organisations(id) ON DELETE CASCADE,
    permissions INTEGER NOT NULL,
    token TEXT UNIQUE,
    password_hash TEXT,
    expires_at INTEGER,
    download_limit INTEGER,
    download_count INTEGER NOT NULL DEFAULT 0,
    label TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    hide_download INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX shares_node ON shares(node_id);
CREATE INDEX shares_sharer ON shares(sharer_id);
CREATE INDEX shares_recipient_user ON shares(recipient_user);
CREATE INDEX shares_recipient_group ON shares(recipient_group);
CREATE INDEX shares_recipient_org ON shares(recipient_org);

-- A recipient's own name for a received share (renamed or left) — rows only where it differs
-- from the default, so a group share to 10,000 members costs one row.
CREATE TABLE share_mounts (
    share_id INTEGER NOT NULL REFERENCES shares(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT,
    hidden INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (share_id, user_id)
);

-- One-time links: guest invitations and password resets. Only the token's hash is stored.
CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

-- In-app notifications (a file-drop upload, a reached download limit, a new share).
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    subject TEXT NOT NULL,
    message TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX notifications_user ON notifications(user_id);
