//! Login throttling policy: exponential back-off after repeated failures.
//!
//! Failures are counted per (account, client address) pair, so that one clerk typing a wrong
//! password never locks out colleagues behind the same proxy or NAT address; and per account
//! across all addresses with a much higher threshold, against distributed guessing. The counts
//! live in the metadata store, so every node sees them; this module only decides how long a
//! given number of failures blocks.

/// Failures allowed before back-off starts, per (account, address).
const FREE_FAILURES_PER_ADDRESS: i64 = 3;
/// Failures allowed before back-off starts, per account over all addresses.
const FREE_FAILURES_PER_ACCOUNT: i64 = 30;
/// Longest block, in seconds.
const MAX_BACKOFF_SECS: i64 = 300;
/// Failures older than this no longer count (the store forgets them after an hour).
pub(crate) const FORGET_AFTER_SECS: i64 = 3600;

/// Seconds to block after `failures` failures (of one address, or account-wide).
pub(crate) fn backoff_secs(failures: i64, account_wide: bool) -> i64 {
    let free = if account_wide { FREE_FAILURES_PER_ACCOUNT } else { FREE_FAILURES_PER_ADDRESS };
    if failures < free {
        return 0;
    }
    // Starts at 2 s: the store counts whole seconds, so a 1-second block could last almost 0.
    (2i64 << (failures - free).min(16)).min(MAX_BACKOFF_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_grows_exponentially_and_is_capped() {
        assert_eq!(backoff_secs(2, false), 0);
        assert_eq!(backoff_secs(3, false), 2);
        assert_eq!(backoff_secs(5, false), 8);
        assert_eq!(backoff_secs(40, false), MAX_BACKOFF_SECS);
        assert_eq!(backoff_secs(29, true), 0, "the account-wide threshold is much higher");
        assert_eq!(backoff_secs(31, true), 4);
    }
}
