-- Nextcloud client support: declared checksums of versions, chunked upload sessions
-- (chunks are stored as blocks right away), Login Flow v2 state, app password metadata.
-- The client-declared checksum (e.g. `SHA1:…`) of the current version.
ALTER TABLE nodes ADD COLUMN checksum TEXT;

CREATE TABLE uploads (
    id INTEGER PRIMARY KEY,
    owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    destination TEXT,
    total_length INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (owner_id, name)
);

CREATE TABLE upload_chunks (
    upload_id INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (upload_id, name)
);

CREATE TABLE upload_chunk_blocks (
    upload_id INTEGER NOT NULL,
    chunk_name TEXT NOT NULL,
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    len INTEGER NOT NULL,
    PRIMARY KEY (upload_id, chunk_name, seq),
    FOREIGN KEY (upload_id, chunk_name) REFERENCES upload_chunks(upload_id, name) ON DELETE CASCADE
);
CREATE INDEX upload_chunk_blocks_hash ON upload_chunk_blocks(hash);

CREATE TABLE login_flows (
    login_token TEXT PRIMARY KEY,
    poll_token_hash TEXT NOT NULL UNIQUE,
    form_token TEXT NOT NULL,
    client_name TEXT NOT NULL,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    app_password TEXT,
    created_at INTEGER NOT NULL
);

ALTER TABLE app_passwords ADD COLUMN last_used INTEGER;
