-- Login throttling shared by all nodes: failures per (account, client address) and per account
-- over all addresses (address '*'). `users.last_failed_login` lets the hot path skip the
-- throttle lookup for accounts without recent failures (it reads the user row anyway).
ALTER TABLE users ADD COLUMN last_failed_login BIGINT;

CREATE TABLE login_failures (
    account TEXT COLLATE "C" NOT NULL,
    address TEXT NOT NULL,
    failures BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    last_failure BIGINT NOT NULL,
    PRIMARY KEY (account, address)
);
