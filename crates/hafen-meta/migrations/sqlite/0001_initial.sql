-- Accounts, the file tree, file versions as lists of content-addressed blocks,
-- dead properties and WebDAV locks.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    email TEXT,
    password_hash TEXT NOT NULL,
    quota INTEGER,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE app_passwords (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- AUTOINCREMENT: file ids are never reused (clients treat an equal id as the same file).
CREATE TABLE nodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES nodes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    is_dir INTEGER NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    mtime INTEGER NOT NULL,
    ctime INTEGER NOT NULL,
    etag TEXT NOT NULL,
    version_id INTEGER,
    UNIQUE (parent_id, name)
);
CREATE UNIQUE INDEX nodes_one_root_per_owner ON nodes(owner_id) WHERE parent_id IS NULL;

CREATE TABLE versions (
    id INTEGER PRIMARY KEY,
    node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    size INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX versions_node ON versions(node_id);

CREATE TABLE version_blocks (
    version_id INTEGER NOT NULL REFERENCES versions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    len INTEGER NOT NULL,
    PRIMARY KEY (version_id, seq)
);
CREATE INDEX version_blocks_hash ON version_blocks(hash);

CREATE TABLE dead_props (
    node_id INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    ns TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (node_id, ns, name)
);

CREATE TABLE locks (
    token TEXT PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    depth_infinite INTEGER NOT NULL,
    exclusive INTEGER NOT NULL,
    owner_xml TEXT NOT NULL,
    timeout_secs INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX locks_owner_path ON locks(owner_id, path);
