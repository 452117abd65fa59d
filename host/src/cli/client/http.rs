//! The client's side of the wire: where the server and token come from (flags, environment,
//! the file `login` writes), JSON requests with readable errors, and following a build's log
//! over server-sent events.

use anyhow::{bail, Context};
use futures_util::StreamExt;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What `login` keeps: the server and the token for it.
#[derive(Serialize, Deserialize, Default)]
pub struct Saved {
    pub url: String,
    pub token: String,
}

/// `$XDG_CONFIG_HOME/pikoci/client.json` (or ~/.config/pikoci/client.json).
pub fn default_config_path() -> anyhow::Result<PathBuf> {
    let base = directories::BaseDirs::new().context("cannot tell your home directory; pass --client-config")?;
    Ok(base.config_dir().join("pikoci").join("client.json"))
}

pub fn load(path: &Path) -> anyhow::Result<Option<Saved>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(serde_json::from_str(&text).with_context(|| format!("{} is not a pikoci client file; log in again", path.display()))?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes the file readable by its owner only: it holds a credential.
pub fn save(path: &Path, saved: &Saved) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // An older file keeps its mode through open(): tighten it explicitly.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(serde_json::to_string_pretty(saved)?.as_bytes())?;
    Ok(())
}

/// `localhost:8080` as PikoCI's client takes it, or a full `http(s)://` URL.
pub fn normalize_url(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    }
}

/// A name as one URL path segment.
pub fn seg(name: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(name, KEEP).to_string()
}

pub struct Api {
    http: reqwest::Client,
    pub base: String,
    token: Option<String>,
}

impl Api {
    pub fn new(base: String, token: Option<String>) -> anyhow::Result<Api> {
        pikoci_registry::install_tls_provider();
        // No overall timeout: following a log may take as long as the build does.
        let http = reqwest::Client::builder().connect_timeout(std::time::Duration::from_secs(10)).build()?;
        Ok(Api { http, base, token })
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<reqwest::Response> {
        let mut r = self.request(method.clone(), path);
        if let Some(b) = body {
            r = r.json(b);
        }
        let answer = r.send().await.with_context(|| format!("cannot reach the pikoci server at {}", self.base))?;
        if answer.status().is_success() {
            return Ok(answer);
        }
        let status = answer.status();
        let text = answer.text().await.unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["error"].as_str().map(str::to_string)).unwrap_or(text);
        let hint = match status.as_u16() {
            401 if self.token.is_none() => " (log in with `pikoci client login`)",
            401 => " (your token was refused: log in again)",
            _ => "",
        };
        bail!("{method} {path}: {status}: {message}{hint}")
    }

    /// A JSON answer (null for an empty one, such as 204).
    pub async fn json(&self, method: Method, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let text = self.send(method, path, body).await?.text().await?;
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).with_context(|| format!("the server's answer to {path} is not JSON"))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.json(Method::GET, path, None).await
    }

    pub async fn text(&self, path: &str) -> anyhow::Result<String> {
        Ok(self.send(Method::GET, path, None).await?.text().await?)
    }

    /// Streams a GET's body into `path`, written beside it first and renamed when complete, so an
    /// interrupted download never leaves a truncated file under the name asked for.
    pub async fn download(&self, path: &str, to: &Path) -> anyhow::Result<u64> {
        use std::io::Write;
        let answer = self.send(Method::GET, path, None).await?;
        let dir = to.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let mut partial = tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write into {}", dir.display()))?;
        let mut body = answer.bytes_stream();
        let mut written = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.with_context(|| format!("the download of {path} broke off"))?;
            partial.write_all(&chunk).with_context(|| format!("writing {}", to.display()))?;
            written += chunk.len() as u64;
        }
        partial.persist(to).with_context(|| format!("writing {}", to.display()))?;
        Ok(written)
    }

    /// Prints the build's log from `/api/v1/builds/{id}/events` as it is written, until the server
    /// says the build is over. A dropped connection is resumed after the last event shown.
    pub async fn follow_log(&self, build: i64, out: &mut impl std::io::Write) -> anyhow::Result<()> {
        let mut after = 0i64;
        let mut failures = 0;
        loop {
            let path = format!("/api/v1/builds/{build}/events?after={after}");
            let answer = self.request(Method::GET, &path).header(reqwest::header::ACCEPT, "text/event-stream").send().await;
            let answer = match answer {
                Ok(a) if a.status().is_success() => a,
                Ok(_) => {
                    // Let `send` word the error (401, 404...).
                    self.send(Method::GET, &path, None).await?;
                    bail!("{path}: the server refused to stream");
                }
                Err(e) if failures < 5 => {
                    failures += 1;
                    tracing::debug!(error = %e, "log stream connection failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                    continue;
                }
                Err(e) => return Err(e).with_context(|| format!("cannot reach the pikoci server at {}", self.base)),
            };
            let mut stream = answer.bytes_stream();
            let mut buffer = String::new();
            while let Some(chunk) = stream.next().await {
                let Ok(chunk) = chunk else { break };
                buffer.push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
                while let Some(end) = buffer.find("\n\n") {
                    let event: String = buffer.drain(..end + 2).collect();
                    let (name, data) = parse_event(&event);
                    match name.as_str() {
                        "log" => {
                            let line: Value = serde_json::from_str(&data).context("a log event is not JSON")?;
                            after = line["seq"].as_i64().unwrap_or(after);
                            print_line(&line, out)?;
                        }
                        "end" => return Ok(()),
                        _ => {} // keep-alive comments and unknown events
                    }
                }
            }
            failures += 1;
            if failures > 5 {
                bail!("the log stream of build {build} kept breaking off");
            }
        }
    }
}

/// An event's name (`message` if unnamed) and its data lines joined.
fn parse_event(event: &str) -> (String, String) {
    let mut name = "message".to_string();
    let mut data = Vec::new();
    for line in event.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            name = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    (name, data.join("\n"))
}

/// One log event as a person reads it: output lines as they are, steps marked.
pub fn print_line(line: &Value, out: &mut impl std::io::Write) -> anyhow::Result<()> {
    let text = line["text"].as_str().unwrap_or("");
    let step = line["step"].as_str().unwrap_or("");
    match line["kind"].as_str() {
        Some("step_started") => writeln!(out, "--- {step}")?,
        Some("step_finished") => {
            let outcome = line["origin"].as_str().unwrap_or("");
            if text.is_empty() {
                writeln!(out, "--- {step}: {outcome}")?
            } else {
                writeln!(out, "--- {step}: {outcome} ({text})")?
            }
        }
        _ => writeln!(out, "{text}")?,
    }
    out.flush()?;
    Ok(())
}
