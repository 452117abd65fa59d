//! Registry references: `[oci://]HOST[:PORT]/REPO[:TAG][@sha256:DIGEST]`.
//!
//! pikoci always names the registry host explicitly; there is no implicit Docker Hub and no
//! implicit `latest`, because a pipeline that silently resolves to a different registry or tag
//! than its author meant is exactly what pinning exists to prevent.

use crate::digest::{Digest, DigestParseError};
use std::fmt;
use std::str::FromStr;

const SCHEME: &str = "oci://";
const MAX_TAG_LEN: usize = 128;

/// A component in a registry, by tag, by manifest digest, or both.
///
/// When both are present the digest wins: the tag is kept only so people can read what it was.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// Why a string is not a registry reference. Every variant carries the input so the message can
/// show it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("`{input}` is not a registry reference: expected HOST[:PORT]/REPO:TAG or HOST[:PORT]/REPO@sha256:DIGEST")]
    MissingRepository { input: String },
    #[error("`{input}` has an invalid registry host `{host}`: use a host name, an IPv4 address or [IPv6], with an optional :PORT")]
    BadHost { input: String, host: String },
    #[error("`{input}` has an invalid repository path `{repository}`: each /-separated part must be lowercase letters and digits, joined by `.`, `_`, `__` or dashes")]
    BadRepository { input: String, repository: String },
    #[error("`{input}` has an invalid tag `{tag}`: a tag is 1 to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`")]
    BadTag { input: String, tag: String },
    #[error("`{input}` has an invalid digest: {source}")]
    BadDigest { input: String, source: DigestParseError },
    #[error("`{input}` names neither a tag nor a digest: add :TAG (resolved and pinned on first use) or @sha256:DIGEST")]
    MissingTagOrDigest { input: String },
}

impl Reference {
    /// The registry host, with its port if it has one (`127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The manifest digest this reference is pinned to, if any.
    pub fn digest(&self) -> Option<Digest> {
        self.digest
    }

    /// The same reference pinned to `digest`, keeping the tag for readability.
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference { digest: Some(digest), ..self.clone() }
    }

    /// The same reference without its digest: the name a pin is recorded under.
    pub fn without_digest(&self) -> Reference {
        Reference { digest: None, ..self.clone() }
    }

    pub(crate) fn to_oci(&self) -> oci_client::Reference {
        let (registry, repository) = (self.registry.clone(), self.repository.clone());
        match (&self.tag, self.digest) {
            (Some(tag), Some(digest)) => oci_client::Reference::with_tag_and_digest(registry, repository, tag.clone(), digest.to_string()),
            (None, Some(digest)) => oci_client::Reference::with_digest(registry, repository, digest.to_string()),
            (Some(tag), None) => oci_client::Reference::with_tag(registry, repository, tag.clone()),
            // Parsing refuses a reference with neither; `latest` only keeps this total.
            (None, None) => oci_client::Reference::with_tag(registry, repository, "latest".to_string()),
        }
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err_input = || input.to_string();
        let rest = input.strip_prefix(SCHEME).unwrap_or(input);
        let (host, path) = rest
            .split_once('/')
            .filter(|(host, path)| !host.is_empty() && !path.is_empty())
            .ok_or_else(|| ReferenceError::MissingRepository { input: err_input() })?;
        if !is_valid_host(host) {
            return Err(ReferenceError::BadHost { input: err_input(), host: host.to_string() });
        }

        let (name_and_tag, digest) = match path.split_once('@') {
            Some((name, digest)) => {
                let digest = digest.parse::<Digest>().map_err(|source| ReferenceError::BadDigest { input: err_input(), source })?;
                (name, Some(digest))
            }
            None => (path, None),
        };

        // A tag can only follow the last path segment; a colon earlier would be part of the host.
        let last_segment_start = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match name_and_tag[last_segment_start..].rfind(':') {
            Some(i) => {
                let split = last_segment_start + i;
                (&name_and_tag[..split], Some(&name_and_tag[split + 1..]))
            }
            None => (name_and_tag, None),
        };

        if !is_valid_repository(repository) {
            return Err(ReferenceError::BadRepository { input: err_input(), repository: repository.to_string() });
        }
        if let Some(tag) = tag {
            if !is_valid_tag(tag) {
                return Err(ReferenceError::BadTag { input: err_input(), tag: tag.to_string() });
            }
        }
        if tag.is_none() && digest.is_none() {
            return Err(ReferenceError::MissingTagOrDigest { input: err_input() });
        }

        Ok(Reference { registry: host.to_string(), repository: repository.to_string(), tag: tag.map(str::to_string), digest })
    }
}

fn is_valid_host(host: &str) -> bool {
    let (name, port) = if let Some(bracketed) = host.strip_prefix('[') {
        // IPv6 literal: `[addr]` or `[addr]:port`.
        let Some((addr, after)) = bracketed.split_once(']') else { return false };
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("ipv6", Some(port)),
                None => return false,
            },
        }
    } else {
        match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    let label_ok =
        |label: &str| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-') && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0));
    !name.is_empty() && name.split('.').all(label_ok) && port_ok
}

/// The OCI distribution grammar for one path component:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let is_alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let run_start = i;
        while i < bytes.len() && is_alnum(bytes[i]) {
            i += 1;
        }
        if i == run_start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        let sep_start = i;
        while i < bytes.len() && !is_alnum(bytes[i]) {
            i += 1;
        }
        let separator = &component[sep_start..i];
        let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
}

fn is_valid_repository(repository: &str) -> bool {
    !repository.is_empty() && repository.len() <= 255 && repository.split('/').all(is_valid_path_component)
}

fn is_valid_tag(tag: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut chars = tag.chars();
    tag.len() <= MAX_TAG_LEN && chars.next().is_some_and(word) && chars.all(|c| word(c) || c == '.' || c == '-')
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

text_form_traits!(Reference);

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    fn parse(s: &str) -> Result<Reference, ReferenceError> {
        s.parse()
    }

    #[test]
    fn parses_tags_digests_ports_and_the_oci_scheme() {
        let r = parse("oci://127.0.0.1:5000/plugins/git:1.2.0").unwrap();
        assert_eq!((r.registry(), r.repository(), r.tag(), r.digest()), ("127.0.0.1:5000", "plugins/git", Some("1.2.0"), None));
        assert_eq!(r.to_string(), "127.0.0.1:5000/plugins/git:1.2.0");

        let pinned = parse(&format!("ghcr.io/acme/s3@sha256:{HEX}")).unwrap();
        assert_eq!(pinned.tag(), None);
        assert_eq!(pinned.digest().unwrap().hex(), HEX);

        let both = parse(&format!("localhost:5000/a/b/c:v1@sha256:{HEX}")).unwrap();
        assert_eq!(both.tag(), Some("v1"));
        assert_eq!(both.without_digest().to_string(), "localhost:5000/a/b/c:v1");
        assert_eq!(both.to_string().parse::<Reference>().unwrap(), both);

        let v6 = parse("[::1]:5000/x:latest").unwrap();
        assert_eq!(v6.registry(), "[::1]:5000");
    }

    #[test]
    fn says_what_is_wrong() {
        assert!(matches!(parse("git:1.0"), Err(ReferenceError::MissingRepository { .. })));
        assert!(matches!(parse("oci://"), Err(ReferenceError::MissingRepository { .. })));
        assert!(matches!(parse("host:99999/x:1"), Err(ReferenceError::BadHost { .. })));
        assert!(matches!(parse("ho_st/x:1"), Err(ReferenceError::BadHost { .. })));
        assert!(matches!(parse("host/Upper:1"), Err(ReferenceError::BadRepository { .. })));
        assert!(matches!(parse("host/a//b:1"), Err(ReferenceError::BadRepository { .. })));
        assert!(matches!(parse("host/a..b:1"), Err(ReferenceError::BadRepository { .. })));
        assert!(matches!(parse("host/a:-x"), Err(ReferenceError::BadTag { .. })));
        assert!(matches!(parse("host/a:"), Err(ReferenceError::BadTag { .. })));
        assert!(matches!(parse("host/a@sha256:abc"), Err(ReferenceError::BadDigest { .. })));
        assert!(matches!(parse("host/a"), Err(ReferenceError::MissingTagOrDigest { .. })));
        let message = parse("host/a").unwrap_err().to_string();
        assert!(message.contains("`host/a`") && message.contains(":TAG"), "{message}");
    }

    #[test]
    fn accepts_the_distribution_separators() {
        for ok in ["host/a.b:1", "host/a_b:1", "host/a__b:1", "host/a---b:1", "host/a0/b1:1"] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        for bad in ["host/a___b:1", "host/_a:1", "host/a-:1", "host/a._b:1"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in ["", "/", "@", ":", "a/@", "a/:@", "[/x:1", "[]/x:1", "[::1]x/y:1", "h/a@", "h/é:1", "oci:///:"] {
            let _ = parse(s);
        }
    }
}
