//! Reading `source = "..."` (and `digest`) into a [`PluginSource`].

use crate::model::PluginSource;
use pikoci_registry::{Digest, Reference};
use std::path::Path;

/// The forms `source` takes, for messages.
pub const SOURCE_FORMS: &str = "`pikoci://NAME`, `oci://HOST/REPO:TAG[@sha256:...]`, an `https://` URL or a path to a `.wasm` component or a `.hcl` definition";

/// Why a `source` was refused, and what would have been accepted.
#[derive(Debug, PartialEq, Eq)]
pub struct SourceError {
    pub message: String,
    pub expected: String,
    /// The problem is the `digest` attribute rather than `source`.
    pub about_digest: bool,
}

fn refuse(message: String, expected: &str) -> SourceError {
    SourceError { message, expected: expected.to_string(), about_digest: false }
}

/// The `digest` attribute as read: absent, or present and valid, or present and already reported.
#[derive(Clone, Copy, Debug)]
pub enum DigestAttr {
    Absent,
    Valid(Digest),
    Invalid,
}

/// `text` as a source; relative paths are taken from `base_dir` (the pipeline file's directory),
/// so a pipeline validates the same from any working directory.
pub fn parse_source(text: &str, digest: DigestAttr, base_dir: &Path) -> Result<PluginSource, SourceError> {
    let has_digest = !matches!(digest, DigestAttr::Absent);
    let no_digest_here = |what: &str| SourceError {
        message: format!("`digest` does not apply to {what}"),
        expected: "`digest` only with a `.wasm` URL or file; pin an OCI reference with `@sha256:...`".into(),
        about_digest: true,
    };
    if let Some(name) = text.strip_prefix("pikoci://") {
        if name.is_empty() || name.contains(['/', ':', '@']) {
            return Err(refuse(format!("`{text}` is not a built-in name"), "`pikoci://NAME`"));
        }
        if has_digest {
            return Err(no_digest_here("a built-in"));
        }
        return Ok(PluginSource::Builtin(name.to_string()));
    }
    if text.starts_with("oci://") {
        let reference: Reference =
            text.parse().map_err(|e: pikoci_registry::ReferenceError| refuse(e.to_string(), "`oci://HOST/REPO:TAG` or `oci://HOST/REPO@sha256:DIGEST`"))?;
        if has_digest {
            return Err(no_digest_here("an OCI reference"));
        }
        return Ok(PluginSource::Oci(reference));
    }
    // Plain HTTP only to this machine (a local mirror, tests): elsewhere anyone on the way could
    // change the download.
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|h| text.strip_prefix(h).is_some_and(|rest| rest.starts_with(':') || rest.starts_with('/')));
    if text.starts_with("http://") && !loopback {
        return Err(refuse(
            format!("`{text}` is fetched over plain HTTP, which anyone on the way can change"),
            "an `https://` URL (plain HTTP only to 127.0.0.1 or localhost)",
        ));
    }
    if let Some(rest) = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://")) {
        if rest.is_empty() || rest.starts_with('/') {
            return Err(refuse(format!("`{text}` has no host"), "`https://HOST/PATH`"));
        }
        if url_path(text).ends_with(".wasm") {
            return match digest {
                DigestAttr::Valid(digest) => Ok(PluginSource::WasmUrl { url: text.to_string(), digest }),
                DigestAttr::Invalid => Err(refuse(String::new(), "")),
                DigestAttr::Absent => Err(refuse(
                    format!("the component at `{text}` is not pinned"),
                    "`digest = \"sha256:<64 hex digits>\"` next to a `.wasm` URL, so a changed download is refused",
                )),
            };
        }
        if has_digest {
            return Err(no_digest_here("an HCL definition"));
        }
        return Ok(PluginSource::DefinitionUrl(text.to_string()));
    }
    if text.contains("://") {
        let scheme = text.split("://").next().unwrap_or_default();
        return Err(refuse(format!("`{scheme}://` is not a plugin source scheme"), SOURCE_FORMS));
    }
    if text.trim().is_empty() {
        return Err(refuse("`source` is empty".into(), SOURCE_FORMS));
    }
    let path = base_dir.join(text);
    if text.ends_with(".wasm") {
        let digest = match digest {
            DigestAttr::Valid(d) => Some(d),
            _ => None,
        };
        return Ok(PluginSource::WasmFile { path, digest });
    }
    if text.ends_with(".hcl") {
        if has_digest {
            return Err(no_digest_here("an HCL definition"));
        }
        return Ok(PluginSource::DefinitionFile(path));
    }
    Err(refuse(format!("`{text}` is neither a known scheme nor a `.wasm` or `.hcl` file"), SOURCE_FORMS))
}

/// The URL without query or fragment.
fn url_path(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    #[test]
    fn every_form() {
        let base = Path::new("ci");
        let digest = DigestAttr::Valid(D.parse().unwrap());
        assert_eq!(parse_source("pikoci://git", DigestAttr::Absent, base), Ok(PluginSource::Builtin("git".into())));
        assert!(matches!(parse_source("oci://ghcr.io/a/b:1.0", DigestAttr::Absent, base), Ok(PluginSource::Oci(_))));
        assert!(matches!(parse_source(&format!("oci://ghcr.io/a/b@{D}"), DigestAttr::Absent, base), Ok(PluginSource::Oci(_))));
        assert!(matches!(parse_source("https://x.example/p.wasm", digest, base), Ok(PluginSource::WasmUrl { .. })));
        assert!(parse_source("https://x.example/p.wasm", DigestAttr::Absent, base).is_err());
        assert_eq!(parse_source("https://x.example/git.hcl", DigestAttr::Absent, base), Ok(PluginSource::DefinitionUrl("https://x.example/git.hcl".into())));
        assert_eq!(parse_source("p.wasm", DigestAttr::Absent, base), Ok(PluginSource::WasmFile { path: "ci/p.wasm".into(), digest: None }));
        assert_eq!(parse_source("t/git.hcl", DigestAttr::Absent, base), Ok(PluginSource::DefinitionFile("ci/t/git.hcl".into())));
        assert!(parse_source("ftp://x", DigestAttr::Absent, base).is_err());
        assert!(parse_source("pikoci://git", digest, base).unwrap_err().about_digest);
    }
}
