//! Content digests (`sha256:<64 hex>`), the identity of every plugin component pikoci runs.

use sha2::{Digest as _, Sha256};
use std::fmt;
use std::str::FromStr;

/// A sha256 content digest, written as OCI writes it: `sha256:` followed by 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(Sha256::digest(bytes).into())
    }

    /// The 64 hex digits without the `sha256:` prefix, as used in file names.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Why a string is not a digest.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestParseError {
    #[error("digest `{0}` has no algorithm; expected `sha256:<64 hex digits>`")]
    MissingAlgorithm(String),
    #[error("digest algorithm `{0}` is not supported; only sha256 is")]
    UnsupportedAlgorithm(String),
    #[error("digest `{0}` is not 64 lowercase hex digits after `sha256:`")]
    BadHex(String),
}

impl FromStr for Digest {
    type Err = DigestParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (algorithm, hex_part) = s.split_once(':').ok_or_else(|| DigestParseError::MissingAlgorithm(s.to_string()))?;
        if algorithm != "sha256" {
            return Err(DigestParseError::UnsupportedAlgorithm(algorithm.to_string()));
        }
        let is_lower_hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
        if hex_part.len() != 64 || !hex_part.chars().all(is_lower_hex) {
            return Err(DigestParseError::BadHex(s.to_string()));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| DigestParseError::BadHex(s.to_string()))?;
        Ok(Digest(bytes))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

text_form_traits!(Digest);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_text_form() {
        let d = Digest::of(b"hello");
        assert_eq!(d.to_string(), "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
    }

    #[test]
    fn rejects_other_algorithms_and_bad_hex() {
        assert!(matches!("md5:abcd".parse::<Digest>(), Err(DigestParseError::UnsupportedAlgorithm(_))));
        assert!(matches!("sha256:XYZ".parse::<Digest>(), Err(DigestParseError::BadHex(_))));
        assert!(matches!("abcd".parse::<Digest>(), Err(DigestParseError::MissingAlgorithm(_))));
    }
}
