-- Login throttling shared by all nodes: failures per (account, client address) and per account
-- over all addresses (address '*'). `users.last_failed_login` lets the hot path skip the
-- throttle lookup for accounts without recent failures (it reads the user row anyway).
ALTER TABLE users ADD COLUMN last_failed_login INTEGER;

CREATE TABLE login_failures (
    account TEXT NOT NULL,
    address TEXT NOT NULL,
    failures INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL,
    last_failure INTEGER NOT NULL,
    PRIMARY KEY (account, address)
);
