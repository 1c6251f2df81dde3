-- The activity stream (issue 8): what happened to an account's files and shares, one row per
-- account that sees it.
CREATE TABLE activities (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT NOT NULL,
    object_id INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX activities_user ON activities(user_id, id);
CREATE INDEX activities_created ON activities(created_at);
