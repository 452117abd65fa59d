//! Why a plugin call failed, in words for the person who wrote the pipeline.

use std::time::Duration;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CallError {
    /// The plugin reached for something it was not granted.
    #[error("plugin {plugin} tried to {what}: not granted (grant it in the type's `allow` block, e.g. {hint})")]
    Denied { plugin: String, what: String, hint: String },
    /// The plugin asked for something the host never does for a plugin, granted or not.
    #[error("plugin {plugin} tried to {what}")]
    Refused { plugin: String, what: String },
    /// The pipeline's configuration is not what the plugin expects.
    #[error("plugin {plugin}: invalid configuration: {message}")]
    InvalidConfig { plugin: String, message: String },
    /// The plugin reported a failure.
    #[error("plugin {plugin} failed: {message}")]
    Failed { plugin: String, message: String },
    #[error("plugin {plugin} timed out after {}", humanize(*after))]
    Timeout { plugin: String, after: Duration },
    #[error("plugin {plugin} exceeded its memory limit of {} MiB (it asked for {} MiB)", limit / (1024 * 1024), requested / (1024 * 1024))]
    MemoryLimit { plugin: String, limit: u64, requested: u64 },
    /// The plugin crashed: a trap, a panic, a bug in the plugin.
    #[error("plugin {plugin} crashed: {message}")]
    Crashed { plugin: String, message: String },
    /// The sandbox could not be set up (a granted directory does not exist...).
    #[error("plugin {plugin} could not be started: {message}")]
    Setup { plugin: String, message: String },
}

fn humanize(d: Duration) -> String {
    if d.as_secs() >= 1 && d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// An example grant for a denial, shown in the error so the fix is one copy away.
pub(crate) fn grant_hint(what: &str) -> String {
    let (verb, rest) = what.split_once(' ').unwrap_or((what, ""));
    let target = rest.split_whitespace().last().unwrap_or(rest);
    match verb {
        "read" | "list" => format!("`read:{}`", parent_dir(target)),
        "write" | "create" => format!("`write:{}`", parent_dir(target)),
        "run" => format!("`run:{}`", rest.split_whitespace().next().unwrap_or(rest)),
        "connect" | "send" => {
            let host = target.trim_start_matches("http://").trim_start_matches("https://");
            format!("`net:{host}`")
        }
        _ => "an `allow` entry".to_string(),
    }
}

fn parent_dir(path: &str) -> String {
    std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()).map(|p| p.display().to_string()).unwrap_or_else(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_point_at_the_grant_that_would_allow_it() {
        assert_eq!(grant_hint("read /etc/passwd"), "`read:/etc`");
        assert_eq!(grant_hint("run curl"), "`run:curl`");
        assert_eq!(grant_hint("send an HTTP request to http://10.0.0.1:80"), "`net:10.0.0.1:80`");
    }

    #[test]
    fn denial_message_names_plugin_action_and_fix() {
        let e = CallError::Denied { plugin: "fs".into(), what: "read /etc/passwd".into(), hint: grant_hint("read /etc/passwd") };
        assert_eq!(e.to_string(), "plugin fs tried to read /etc/passwd: not granted (grant it in the type's `allow` block, e.g. `read:/etc`)");
    }
}
