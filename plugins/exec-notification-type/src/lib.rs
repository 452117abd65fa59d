//! `pikoci://exec-notification-type`: the adapter that runs PikoCI-style inline notification
//! types (`notify "exec" { path = ..., args = [...] }`).
//!
//! The command runs in the build's work directory and sees, as on PikoCI, `$param_<name>` (the
//! notification's params), `$notify_<name>` (the `notify` step's attributes),
//! `$notify_build_status` (`success`, `failure`, `cancel`) when the host sends it after the
//! build, `$NOTIFY_MESSAGE` when a message was set, and the build's variables (`BUILD_*`,
//! `WORKDIR`, `PATH`...). Its output goes to the build log; a non-zero exit fails the call.

use pikoci_sdk::process::CommandSpec;
use pikoci_sdk::{Error, Notice, NotificationType, Result};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Definition {
    /// The type's name, for messages.
    name: String,
    notify: CommandSpec,
    /// The notification's `params` block.
    #[serde(default)]
    params: BTreeMap<String, Value>,
}

/// HCL values as PikoCI puts them in the environment: strings as they are, others as JSON.
fn text(value: &Value) -> String {
    value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string())
}

struct ExecNotification;

impl NotificationType for ExecNotification {
    type Params = Definition;
    type Options = BTreeMap<String, Value>;

    fn notify(notice: Notice<Definition, BTreeMap<String, Value>>) -> Result<()> {
        let def = &notice.params;
        let mut env = notice.env.clone();
        env.extend(def.params.iter().map(|(k, v)| (format!("param_{k}"), text(v))));
        env.extend(notice.options.iter().map(|(k, v)| (format!("notify_{k}"), text(v))));
        if let Some(status) = &notice.build.status {
            env.push(("notify_build_status".into(), status.clone()));
        }
        if let Some(message) = &notice.message {
            env.push(("NOTIFY_MESSAGE".into(), message.clone()));
        }
        let finished = def.notify.command(env).cwd(&notice.build.workdir).run()?;
        if !finished.success() {
            return Err(Error::failed(format!("the notify command of notification type `{}` exited with status {}", def.name, finished.code())));
        }
        Ok(())
    }
}

pikoci_sdk::export_notification_type!(ExecNotification, name = "exec-notification-type", capabilities = ["run:{params.notify.path}"]);
