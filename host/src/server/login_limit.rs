//! How many wrong passwords a user name, or a client address, may send before logins from it
//! are refused for a while.
//!
//! Only failures count: a user who logs in often is never slowed down, and a success clears the
//! name's count. Each attempt is counted before its password is checked and given back when it
//! was right, so a burst of guesses sent at once gets no more through than guesses sent one by
//! one. A refused login is answered before any password is hashed, so guessing costs the server
//! almost nothing once the limit is reached. (Rate-limiting crates count every request, not
//! failures; this is the few lines that is.)

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Wrong passwords for one user name within [`WINDOW`], from anywhere.
pub const PER_USER: u32 = 10;
/// Wrong passwords from one client address within [`WINDOW`], for any names.
pub const PER_ADDRESS: u32 = 30;
/// Names or addresses tracked at once; past it, expired entries go, and new keys are not
/// tracked until there is room (the hashing pool still bounds what they cost).
const TRACKED: usize = 100_000;

struct Failures<K> {
    limit: u32,
    seen: HashMap<K, (Instant, u32)>,
}

impl<K: Hash + Eq> Failures<K> {
    fn new(limit: u32) -> Self {
        Failures { limit, seen: HashMap::new() }
    }

    /// How long `key` must wait, if it has used up its failures.
    fn wait(&self, key: &K, now: Instant) -> Option<Duration> {
        let (since, count) = self.seen.get(key)?;
        let left = WINDOW.checked_sub(now.duration_since(*since)).filter(|left| !left.is_zero())?;
        (*count >= self.limit).then_some(left)
    }

    fn count(&mut self, key: K, now: Instant) {
        if self.seen.len() >= TRACKED && !self.seen.contains_key(&key) {
            self.seen.retain(|_, (since, _)| now.duration_since(*since) < WINDOW);
            if self.seen.len() >= TRACKED {
                return;
            }
        }
        let entry = self.seen.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    fn give_back(&mut self, key: &K) {
        if let Some((_, count)) = self.seen.get_mut(key) {
            *count = count.saturating_sub(1);
        }
    }
}

pub struct LoginLimit {
    users: Mutex<Failures<String>>,
    addresses: Mutex<Failures<IpAddr>>,
}

impl Default for LoginLimit {
    fn default() -> Self {
        LoginLimit { users: Mutex::new(Failures::new(PER_USER)), addresses: Mutex::new(Failures::new(PER_ADDRESS)) }
    }
}

impl LoginLimit {
    /// Counts a login for `user` from `address` as failed until [`LoginLimit::succeeded`] says
    /// otherwise; or how long it must wait, if it must (and then it is not counted).
    pub fn attempt(&self, user: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = Instant::now();
        let mut users = self.users.lock().unwrap();
        let mut addresses = self.addresses.lock().unwrap();
        let by_user = users.wait(&user.to_string(), now);
        let by_address = address.and_then(|a| addresses.wait(&a, now));
        if let Some(wait) = by_user.max(by_address) {
            return Err(wait);
        }
        users.count(user.to_string(), now);
        if let Some(address) = address {
            addresses.count(address, now);
        }
        Ok(())
    }

    /// The attempt had the right password: the name starts afresh, the address gets it back.
    pub fn succeeded(&self, user: &str, address: Option<IpAddr>) {
        self.users.lock().unwrap().seen.remove(user);
        if let Some(address) = address {
            self.addresses.lock().unwrap().give_back(&address);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_waits_after_its_failures_and_a_success_clears_them() {
        let limit = LoginLimit::default();
        let here: Option<IpAddr> = Some([10, 0, 0, 1].into());
        for _ in 0..PER_USER {
            assert_eq!(limit.attempt("admin", here), Ok(()));
        }
        let wait = limit.attempt("admin", Some([10, 0, 0, 2].into())).expect_err("the name waits, wherever it comes from");
        assert!(wait <= WINDOW && wait > WINDOW - Duration::from_secs(5), "{wait:?}");
        assert_eq!(limit.attempt("other", Some([10, 0, 0, 2].into())), Ok(()));
        limit.succeeded("admin", here);
        assert_eq!(limit.attempt("admin", Some([10, 0, 0, 2].into())), Ok(()));
    }

    #[test]
    fn an_address_waits_after_its_failures_for_any_names_and_gets_its_successes_back() {
        let limit = LoginLimit::default();
        let here: Option<IpAddr> = Some([10, 0, 0, 1].into());
        for n in 0..PER_ADDRESS {
            assert_eq!(limit.attempt(&format!("user{n}"), here), Ok(()));
        }
        assert!(limit.attempt("someone-else", here).is_err());
        assert_eq!(limit.attempt("someone-else", Some([10, 0, 0, 2].into())), Ok(()));
        limit.succeeded("user0", here);
        assert_eq!(limit.attempt("user0", here), Ok(()), "a right password does not count against the address");
    }

    #[test]
    fn failures_older_than_the_window_are_forgotten() {
        let mut failures = Failures::new(1);
        let then = Instant::now();
        failures.count("a", then);
        assert!(failures.wait(&"a", then).is_some());
        assert_eq!(failures.wait(&"a", then + WINDOW), None);
    }
}
