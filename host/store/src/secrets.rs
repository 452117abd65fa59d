//! Making and hashing the secrets the store hands out: API tokens, webhook tokens.
//! Passwords are in users.rs (argon2); tokens are 256 random bits, so sha256 is enough to keep a
//! stolen database from yielding usable tokens, and lets a lookup be one indexed query.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// A fresh token: a recognisable prefix (so secret scanners and people can tell what it is) and
/// 64 hex digits of randomness.
pub(crate) fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// What the database keeps of a token.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
