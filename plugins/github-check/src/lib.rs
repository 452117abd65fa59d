//! `pikoci://github-check`: GitHub check runs for a build, as a GitHub App, the way PikoCI's
//! built-in does it: `notify ... { status = "in_progress" }` creates the check run on the commit,
//! `notify ... { conclusion = "success" }` completes it.
//!
//! ```hcl
//! notification "github-check" "ci" {
//!   params {
//!     app_id          = var.github_app_id
//!     installation_id = var.github_app_installation_id
//!     private_key     = var.github_app_pem
//!     repository      = "org/repo"
//!     base_url        = "https://ci.example.com"
//!   }
//! }
//! ```
//!
//! Each call signs a JWT with the App's key (RS256), trades it for an installation token, then
//! calls the checks API. The commit is the step's `head_sha`, else the `HEAD` of the first git
//! repository in the build's work directory. The check run's id is kept in the work directory
//! (`.github-check-NAME.id`) for the step that completes it. `api_url` points at GitHub
//! Enterprise (`https://HOST/api/v3`). Neither the key nor the token reaches the log.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use pikoci_builtin_support::{http, notice};
use pikoci_sdk::{Error, Notice, NotificationType, Result};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use std::path::Path;
use wasi::http::types::Method;

const GITHUB_API: &str = "https://api.github.com";

#[derive(serde::Deserialize)]
struct Params {
    app_id: Value,
    installation_id: Value,
    private_key: String,
    /// `owner/name`.
    repository: String,
    /// The pikoci server's address: the check run links to the build.
    base_url: Option<String>,
    /// The REST API's root; GitHub's unless given.
    api_url: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Options {
    status: Option<String>,
    conclusion: Option<String>,
    head_sha: Option<String>,
    /// The check run's name; `pipeline/job` unless given.
    name: Option<String>,
    details_url: Option<String>,
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
}

/// The App's JWT: RS256 over `{iat, exp, iss}`, issued a minute back against clock drift and
/// valid for ten minutes, as GitHub asks.
fn app_jwt(params: &Params, now: u64) -> Result<String> {
    let pem = params.private_key.trim();
    let key = RsaPrivateKey::from_pkcs1_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs8_pem(pem))
        .map_err(|_| Error::invalid_config("`private_key` is not an RSA private key in PEM form (the .pem file GitHub gives for the App)"))?;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = json!({ "iat": now - 60, "exp": now + 600, "iss": text(&params.app_id) });
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{payload}");
    let signature = SigningKey::<sha2::Sha256>::new(key).sign(signed.as_bytes());
    Ok(format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes())))
}

struct Api {
    root: String,
    token: String,
}

impl Api {
    fn headers<'a>(auth: &'a str) -> [(&'static str, &'a str); 4] {
        [("authorization", auth), ("accept", "application/vnd.github+json"), ("user-agent", "pikoci"), ("content-type", "application/json")]
    }

    fn connect(params: &Params) -> Result<Api> {
        let root = params.api_url.as_deref().unwrap_or(GITHUB_API).trim_end_matches('/').to_string();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|_| Error::failed("the clock is before 1970"))?.as_secs();
        let auth = format!("Bearer {}", app_jwt(params, now)?);
        let url = format!("{root}/app/installations/{}/access_tokens", text(&params.installation_id));
        let response = http::send(Method::Post, &url, &Self::headers(&auth), None, "GitHub")?;
        let token = response.json().and_then(|j| j.get("token")?.as_str().map(str::to_string));
        match (response.status, token) {
            (200..=299, Some(token)) => Ok(Api { root, token }),
            (status, _) => Err(Error::failed(format!(
                "GitHub refused an installation token for installation {} ({status}: {}); check app_id, installation_id and private_key",
                text(&params.installation_id),
                github_message(&response.body)
            ))),
        }
    }

    fn call(&self, method: Method, path: &str, body: &Value) -> Result<Value> {
        let auth = format!("Bearer {}", self.token);
        let body = body.to_string();
        let response = http::send(method, &format!("{}{path}", self.root), &Self::headers(&auth), Some(body.as_bytes()), "GitHub")?;
        if !(200..300).contains(&response.status) {
            return Err(Error::failed(format!("GitHub answered {} to {path}: {}", response.status, github_message(&response.body))));
        }
        Ok(response.json().unwrap_or(Value::Null))
    }
}

/// GitHub's own error text (`{"message": "Not Found"}`), which holds no secret.
fn github_message(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body).ok().and_then(|v| v.get("message")?.as_str().map(str::to_string)).unwrap_or_else(|| "no details".into())
}

/// The commit checked out by the first git repository in `workdir` (a `get` of a git resource
/// puts one there), read from its files: no program to run.
fn head_of_workdir(workdir: &Path) -> Option<String> {
    let mut dirs: Vec<_> = std::fs::read_dir(workdir).ok()?.flatten().map(|e| e.path()).filter(|p| p.join(".git").is_dir()).collect();
    dirs.sort();
    let git = dirs.first()?.join(".git");
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref: ") else { return Some(head.to_string()) };
    if let Ok(sha) = std::fs::read_to_string(git.join(reference)) {
        return Some(sha.trim().to_string());
    }
    let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
    packed.lines().find_map(|l| l.strip_suffix(reference).map(|sha| sha.trim().to_string()))
}

struct GithubCheck;

impl NotificationType for GithubCheck {
    type Params = Params;
    type Options = Options;

    fn notify(n: Notice<Params, Options>) -> Result<()> {
        let (params, options, build) = (&n.params, &n.options, &n.build);
        let details_url = options.details_url.clone().or_else(|| params.base_url.as_deref().map(|base| notice::build_link(base, build)));
        let check_name = options.name.clone().unwrap_or_else(|| format!("{}/{}", build.pipeline, build.job));
        let id_file = build.workdir.join(format!(".github-check-{}.id", options.name.as_deref().unwrap_or("github-check").replace(' ', "-")));
        let repo = &params.repository;
        if options.status.as_deref() == Some("in_progress") {
            let head_sha = options.head_sha.clone().or_else(|| head_of_workdir(&build.workdir)).ok_or_else(|| {
                Error::invalid_config("no commit to check: give `head_sha`, or get a git repository into the work directory before this step")
            })?;
            let mut body = json!({ "name": check_name, "head_sha": head_sha, "status": "in_progress" });
            if let Some(url) = &details_url {
                body["details_url"] = json!(url);
            }
            let created = Api::connect(params)?.call(Method::Post, &format!("/repos/{repo}/check-runs"), &body)?;
            let id = created.get("id").map(text).ok_or_else(|| Error::failed("GitHub created the check run but sent no id"))?;
            std::fs::write(&id_file, &id).map_err(|e| Error::failed(format!("cannot keep the check run's id in {}: {e}", id_file.display())))?;
            pikoci_sdk::log::info(format!("created check run {id} for {check_name} on {head_sha}"));
        } else if let Some(conclusion) = &options.conclusion {
            let id = std::fs::read_to_string(&id_file)
                .map(|s| s.trim().to_string())
                .map_err(|_| Error::failed(format!("no check run of {check_name} was created in this build: notify with status = \"in_progress\" first")))?;
            let mut body = json!({ "status": "completed", "conclusion": conclusion });
            if let Some(url) = &details_url {
                body["details_url"] = json!(url);
            }
            Api::connect(params)?.call(Method::Patch, &format!("/repos/{repo}/check-runs/{id}"), &body)?;
            pikoci_sdk::log::info(format!("completed check run {id} with conclusion {conclusion}"));
        } else {
            return Err(Error::invalid_config("say what to do: `status = \"in_progress\"` creates the check run, `conclusion = \"...\"` completes it"));
        }
        Ok(())
    }
}

pikoci_sdk::export_notification_type!(GithubCheck, name = "github-check", capabilities = ["net:https://api.github.com", "net:{params.api_url|origin}"]);
