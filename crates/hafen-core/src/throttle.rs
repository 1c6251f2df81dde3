//! Login throttling: exponential back-off after repeated failures.
//!
//! Failures are counted per (account, client address) pair, so that one clerk typing a wrong
//! password never locks out colleagues behind the same proxy or NAT address; and per account
//! across all addresses with a much higher threshold, against distributed guessing. State is
//! in process memory for now (the scale-out issue moves it to the database).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed before back-off starts, per (account, address).
const FREE_FAILURES_PER_ADDRESS: u32 = 3;
/// Failures allowed before back-off starts, per account over all addresses.
const FREE_FAILURES_PER_ACCOUNT: u32 = 30;
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// A record unused this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    blocked_until: Instant,
    last_failure: Instant,
}

#[derive(Default)]
pub(crate) struct LoginThrottle {
    by_address: Mutex<HashMap<(String, IpAddr), Record>>,
    by_account: Mutex<HashMap<String, Record>>,
}

fn backoff(failures: u32, free: u32) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let exponent = (failures - free).min(16);
    Duration::from_secs(1u64 << exponent).min(MAX_BACKOFF)
}

impl LoginThrottle {
    /// `Some(wait)` when the login must not even be tried now.
    pub(crate) fn check(&self, account: &str, address: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let key = account.to_lowercase();
        let waits = [
            self.by_address.lock().ok().and_then(|map| map.get(&(key.clone(), address)).map(|r| r.blocked_until)),
            self.by_account.lock().ok().and_then(|map| map.get(&key).map(|r| r.blocked_until)),
        ];
        waits.into_iter().flatten().filter(|until| *until > now).map(|until| until - now).max()
    }

    pub(crate) fn record_failure(&self, account: &str, address: IpAddr) {
        let now = Instant::now();
        let key = account.to_lowercase();
        let bump = |record: &mut Record, free: u32| {
            record.failures += 1;
            record.last_failure = now;
            record.blocked_until = now + backoff(record.failures, free);
        };
        let fresh = Record { failures: 0, blocked_until: now, last_failure: now };
        if let Ok(mut map) = self.by_address.lock() {
            map.retain(|_, record| now.duration_since(record.last_failure) < FORGET_AFTER);
            bump(map.entry((key.clone(), address)).or_insert(fresh), FREE_FAILURES_PER_ADDRESS);
        }
        if let Ok(mut map) = self.by_account.lock() {
            map.retain(|_, record| now.duration_since(record.last_failure) < FORGET_AFTER);
            bump(map.entry(key).or_insert(fresh), FREE_FAILURES_PER_ACCOUNT);
        }
    }

    pub(crate) fn record_success(&self, account: &str, address: IpAddr) {
        let key = account.to_lowercase();
        if let Ok(mut map) = self.by_address.lock() {
            map.remove(&(key, address));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_accounts_failures_do_not_block_another_behind_the_same_address() {
        let throttle = LoginThrottle::default();
        let shared: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..5 {
            throttle.record_failure("mallory", shared);
        }
        assert!(throttle.check("mallory", shared).is_some());
        assert!(throttle.check("alice", shared).is_none());
        assert!(throttle.check("mallory", "10.0.0.2".parse().unwrap()).is_none());
    }
}
