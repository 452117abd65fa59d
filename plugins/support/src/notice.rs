//! What the chat notification types (`slack`, `discord`) share: the message they send when the
//! pipeline wrote none, as PikoCI's built-ins word it.

use crate::http;
use pikoci_sdk::{BuildInfo, Error, NoParams, Notice, Result};
use wasi::http::types::Method;

/// The build's page on a pikoci server at `base_url`.
pub fn build_link(base_url: &str, build: &BuildInfo) -> String {
    format!("{}/teams/{}/pipelines/{}/jobs/{}/builds/{}", base_url.trim_end_matches('/'), build.team, build.pipeline, build.job, build.number)
}

/// `✅ [pipeline/job] Build #7 - success - LINK`: the status (and its icon) when the host sends
/// it after the build, the link when `base_url` is set.
pub fn default_message(build: &BuildInfo, base_url: Option<&str>) -> String {
    let mut message = format!("[{}/{}] Build #{}", build.pipeline, build.job, build.number);
    if let Some(status) = build.status.as_deref().filter(|s| !s.is_empty()) {
        let icon = match status {
            "success" => "✅",
            "failure" => "❌",
            "cancel" => "⚠️",
            _ => "",
        };
        message = format!("{icon} {message} - {status}").trim_start().to_string();
    }
    if let Some(base) = base_url.filter(|b| !b.is_empty()) {
        message = format!("{message} - {}", build_link(base, build));
    }
    message
}

/// The params of a chat webhook notification (`slack`, `discord`).
#[derive(serde::Deserialize)]
pub struct WebhookParams {
    pub webhook_url: String,
    /// The pikoci server's address, for a link to the build.
    pub base_url: Option<String>,
}

/// Post `{"FIELD": MESSAGE}` to the notice's webhook, the message being the pipeline's or
/// [`default_message`]; `service` names the chat in messages.
pub fn post_to_webhook(n: &Notice<WebhookParams, NoParams>, field: &str, service: &str) -> Result<()> {
    let text = n.message.clone().unwrap_or_else(|| default_message(&n.build, n.params.base_url.as_deref()));
    let body = serde_json::json!({ field: text }).to_string();
    let url = &n.params.webhook_url;
    let response = http::send(Method::Post, url, &[("content-type", "application/json")], Some(body.as_bytes()), service)?;
    if !(200..300).contains(&response.status) {
        let said: String = String::from_utf8_lossy(&response.body).chars().take(200).collect();
        return Err(Error::failed(format!("{service} answered {} to the webhook at {}: {said}", response.status, http::origin(url))));
    }
    pikoci_sdk::log::info(format!("sent the {service} notification"));
    Ok(())
}
