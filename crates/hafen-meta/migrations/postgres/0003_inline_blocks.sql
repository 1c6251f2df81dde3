-- Small blocks stored inside the metadata database, committed in the same transaction as the
-- file version that uses them (no separate file and fsync per small upload).
-- PostgreSQL twin of migrations/sqlite/0003_inline_blocks.sql.
CREATE TABLE inline_blocks (
    hash TEXT PRIMARY KEY,
    data BYTEA NOT NULL
);
