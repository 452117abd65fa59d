//! {{name}}: a pikoci notification type. Each notification is appended as one line to the file
//! its `params.file` names: replace `send` with a call to your chat, pager or status API.
use pikoci_sdk::{fs, Notice, NotificationType, Result};
use std::path::PathBuf;

#[derive(serde::Deserialize)]
struct Params {
    file: PathBuf,
}

/// A `notify` step's attributes this type reads (`notify "{{name}}" "NAME" { channel = "#ci" }`).
#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Options {
    channel: Option<String>,
}

/// The line sent for a notice. Pure logic, tested without a sandbox.
fn line(job: &str, number: u64, status: Option<&str>, message: Option<&str>, channel: Option<&str>) -> String {
    let text = message.map(str::to_string).unwrap_or_else(|| format!("{job} #{number} {}", status.unwrap_or("running")));
    match channel {
        Some(channel) => format!("{channel}: {text}"),
        None => text,
    }
}

struct Plugin;

impl NotificationType for Plugin {
    type Params = Params;
    type Options = Options;

    fn notify(n: Notice<Params, Options>) -> Result<()> {
        let b = &n.build;
        let mut text = fs::read_to_string(&n.params.file).unwrap_or_default();
        text.push_str(&line(&b.job, b.number, b.status.as_deref(), n.message.as_deref(), n.options.channel.as_deref()));
        text.push('\n');
        fs::write(&n.params.file, text)
    }
}

// A pipeline grants the file's directory: `allow { write = ["/srv/notices"] }`.
pikoci_sdk::export_notification_type!(Plugin, name = "{{name}}");

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_says_the_message_or_the_build_and_its_status() {
        assert_eq!(super::line("deploy", 7, Some("failure"), None, Some("#ci")), "#ci: deploy #7 failure");
        assert_eq!(super::line("deploy", 7, None, Some("shipped"), None), "shipped");
    }
}
