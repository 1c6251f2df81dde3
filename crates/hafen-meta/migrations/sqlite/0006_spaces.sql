-- Project spaces and e-mail notification preferences (issue 6).
-- A project space is a folder owned by an organisation or a project group rather than by a
-- person: its data lives in the tree of an account of kind 'space' (which never logs in and
-- whose quota is the space's quota), so it stays when a member leaves.
CREATE TABLE spaces (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    account_id INTEGER NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    -- The space's folder in that account's tree; members mount it.
    folder_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    org_id INTEGER REFERENCES organisations(id) ON DELETE CASCADE,
    group_id INTEGER REFERENCES user_groups(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);

-- Members of a space are shares of its folder (to a user, a group or an organisation) marked
-- with the space; their permissions are the member's role.
ALTER TABLE shares ADD COLUMN space_id INTEGER REFERENCES spaces(id) ON DELETE CASCADE;
CREATE INDEX shares_space ON shares(space_id);

ALTER TABLE users ADD COLUMN notify_by_email INTEGER NOT NULL DEFAULT 1;
