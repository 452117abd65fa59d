//! Network grants: which hosts a plugin may reach over HTTP (wasi:http) and sockets (wasi:sockets).
//!
//! A pattern is `[SCHEME://]HOST[:PORT]`. HOST is a name (`git.example.com`), a wildcard over
//! subdomains (`*.example.com`), an IP address (`127.0.0.1`, `[::1]`), or `*` for any host. Without
//! a port any port matches; without a scheme any scheme matches. An empty list allows nothing.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    scheme: Option<String>,
    host: HostMatch,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Any,
    Exact(String),
    Subdomains(String),
    Ip(IpAddr),
}

impl FromStr for HostPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) if scheme == "http" || scheme == "https" => (Some(scheme.to_string()), rest),
            Some((scheme, _)) => return Err(format!("scheme `{scheme}` is not supported; use http or https, or none")),
            None => (None, text),
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() {
            return Err("expected a host, e.g. net:example.com:443".into());
        }
        let (host, port) = split_host_port(rest)?;
        let host = if host == "*" {
            HostMatch::Any
        } else if let Some(domain) = host.strip_prefix("*.") {
            HostMatch::Subdomains(domain.to_ascii_lowercase())
        } else if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            HostMatch::Ip(ip)
        } else if host.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
            HostMatch::Exact(host.to_ascii_lowercase())
        } else {
            return Err(format!("`{host}` is not a host name, an IP address, `*` or `*.domain`"));
        };
        Ok(HostPattern { scheme, host, port })
    }
}

fn split_host_port(text: &str) -> Result<(&str, Option<u16>), String> {
    // `[::1]:8080` and `[::1]`; a bare IPv6 address has several colons and no port.
    let split_at = if text.starts_with('[') {
        text.find(']').map(|end| end + 1).filter(|&end| end < text.len())
    } else if text.matches(':').count() == 1 {
        text.find(':')
    } else {
        None
    };
    match split_at {
        Some(i) => {
            let port = text[i + 1..].parse::<u16>().map_err(|_| format!("`{}` is not a port number", &text[i + 1..]))?;
            Ok((&text[..i], Some(port)))
        }
        None => Ok((text, None)),
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.scheme {
            write!(f, "{s}://")?;
        }
        match &self.host {
            HostMatch::Any => f.write_str("*")?,
            HostMatch::Exact(h) => f.write_str(h)?,
            HostMatch::Subdomains(d) => write!(f, "*.{d}")?,
            HostMatch::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]")?,
            HostMatch::Ip(ip) => write!(f, "{ip}")?,
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

impl HostPattern {
    fn matches_host(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        match &self.host {
            HostMatch::Any => true,
            HostMatch::Exact(h) => *h == host,
            HostMatch::Subdomains(d) => host.ends_with(&format!(".{d}")),
            HostMatch::Ip(ip) => host.parse::<IpAddr>().is_ok_and(|h| h == *ip),
        }
    }

    /// Whether an HTTP request to `scheme://host:port` is covered.
    pub fn matches_url(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.scheme.as_deref().is_none_or(|s| s == scheme) && self.port.is_none_or(|p| p == port) && self.matches_host(host)
    }
}

/// The network grants of one plugin call.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts(Vec<HostPattern>);

impl AllowedHosts {
    pub fn push(&mut self, pattern: HostPattern) {
        self.0.push(pattern);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn allows_url(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.0.iter().any(|p| p.matches_url(scheme, host, port))
    }

    /// Whether a socket connection to `addr` is covered: by an IP pattern directly, or by a host
    /// name pattern that resolves to that address (the plugin resolved the name the same way).
    pub async fn allows_socket(&self, addr: SocketAddr) -> bool {
        for pattern in &self.0 {
            if pattern.port.is_some_and(|p| p != addr.port()) {
                continue;
            }
            let covered = match &pattern.host {
                HostMatch::Any => true,
                HostMatch::Ip(ip) => *ip == addr.ip(),
                HostMatch::Exact(name) => tokio::net::lookup_host((name.as_str(), addr.port())).await.is_ok_and(|mut addrs| addrs.any(|a| a.ip() == addr.ip())),
                // A wildcard cannot be resolved ahead of the connection; it covers HTTP only.
                HostMatch::Subdomains(_) => false,
            };
            if covered {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(patterns: &[&str]) -> AllowedHosts {
        let mut h = AllowedHosts::default();
        for p in patterns {
            h.push(p.parse().unwrap());
        }
        h
    }

    #[test]
    fn empty_allows_nothing() {
        assert!(!AllowedHosts::default().allows_url("https", "example.com", 443));
    }

    #[test]
    fn port_scheme_and_wildcards_are_honoured() {
        let h = hosts(&["http://127.0.0.1:8080", "*.example.com", "git.test:22"]);
        assert!(h.allows_url("http", "127.0.0.1", 8080));
        assert!(!h.allows_url("http", "127.0.0.1", 8081));
        assert!(!h.allows_url("https", "127.0.0.1", 8080));
        assert!(h.allows_url("https", "api.example.com", 443));
        assert!(!h.allows_url("https", "example.com", 443));
        assert!(!h.allows_url("https", "evilexample.com", 443));
        assert!(h.allows_url("http", "GIT.test", 22));
    }

    #[test]
    fn ipv6_with_and_without_port() {
        let h = hosts(&["[::1]:9000"]);
        assert!(h.allows_url("http", "[::1]", 9000));
        assert_eq!("[::1]:9000".parse::<HostPattern>().unwrap().to_string(), "[::1]:9000");
        assert!("ftp://x".parse::<HostPattern>().is_err());
        assert!("host:notaport".parse::<HostPattern>().is_err());
    }

    #[tokio::test]
    async fn sockets_match_ips_and_resolved_names() {
        let h = hosts(&["127.0.0.1:5432", "localhost:6379"]);
        assert!(h.allows_socket("127.0.0.1:5432".parse().unwrap()).await);
        assert!(!h.allows_socket("127.0.0.1:5433".parse().unwrap()).await);
        assert!(h.allows_socket("127.0.0.1:6379".parse().unwrap()).await);
        assert!(!h.allows_socket("10.0.0.1:6379".parse().unwrap()).await);
    }
}
