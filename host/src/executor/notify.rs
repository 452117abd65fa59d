//! Notifications: the `notify` step, and the notifications the host sends once a build has
//! ended (`on = [...]`), after its hooks.

use super::grants::CallValues;
use super::plan::{AutoNotify, NotifyStep};
use super::{Build, Outcome, HOOK_STATUS, JOB_STEP};
use crate::runtime::{Notice, NoticeBuild};
use pikoci_pipeline::NotifyEvent;
use tokio_util::sync::CancellationToken;

tokio::task_local! {
    /// While the host sends a build's notifications: how the build ended.
    static NOTIFY_EVENT: NotifyEvent;
}

/// The event a build's outcome sends: an errored build did not do its job either.
pub fn event_of(outcome: &Outcome) -> NotifyEvent {
    match outcome {
        Outcome::Succeeded => NotifyEvent::Success,
        Outcome::Failed(_) | Outcome::Errored(_) => NotifyEvent::Failure,
        Outcome::Aborted => NotifyEvent::Cancel,
    }
}

/// `$NAME` and `${NAME}` replaced by the variable's value; a name `env` lacks stays as written
/// (a price such as `$5` is not a variable).
pub fn expand(text: &str, env: &[(String, String)]) -> String {
    let value = |name: &str| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, consumed) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) if inner[..end].chars().all(is_name) => (&inner[..end], end + 2),
                _ => ("", 0),
            },
            None => {
                let len = after.find(|c: char| !is_name(c)).unwrap_or(after.len());
                (&after[..len], len)
            }
        };
        match value(name).filter(|_| !name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())) {
            Some(v) => {
                out.push_str(v);
                rest = &after[consumed..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl Build {
    /// Send one notification through its type's plugin. In a `notify` step the build's status is
    /// not known yet; after the build it is.
    pub(super) async fn notify(&self, step: &str, notify: &NotifyStep, own_env: &[(String, String)]) -> Outcome {
        let plugin = match self.plugin(&notify.plugin) {
            Ok(p) => p,
            Err(why) => return Outcome::Errored(why),
        };
        let env = self.step_env(own_env);
        let id = &self.identity;
        let notice = Notice {
            params: notify.params.clone(),
            options: notify.options.clone(),
            message: notify.message.as_deref().map(|m| expand(m, &env)),
            build: NoticeBuild { team: id.team.clone(), pipeline: id.pipeline.clone(), job: id.job.clone(), number: id.number },
            status: NOTIFY_EVENT.try_with(|e| e.as_str().to_string()).ok(),
            workdir: self.workdir.display().to_string(),
            env,
        };
        let values = CallValues { params: Some(&notify.params), ..Default::default() };
        let grants = self.grants_for(step, &notify.plugin, &values, &[format!("write:{}", self.workdir.display())]);
        match plugin.notify(&grants, self.log.step(step), &notice).await {
            Ok(()) => Outcome::Succeeded,
            Err(e) => Outcome::Errored(e.to_string()),
        }
    }

    /// The notifications that listen for how the build ended, each as a step of its own in the
    /// log. One that cannot be sent is logged; the build's outcome stands.
    pub(super) async fn send_notifications(&self, notifications: &[AutoNotify], outcome: &Outcome) {
        let event = event_of(outcome);
        let status = outcome.status().as_str();
        let uncancelled = CancellationToken::new();
        for n in notifications.iter().filter(|n| n.on.contains(&event)) {
            let sent = NOTIFY_EVENT.scope(event, HOOK_STATUS.scope(status, self.run_step(&n.step, &uncancelled))).await;
            if !sent.is_success() {
                self.log.note(JOB_STEP, format!("{} was not sent; the build's outcome is unchanged", n.step.name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_expand_the_variables_they_name() {
        let env = vec![("BUILD_NUMBER".to_string(), "7".to_string()), ("TASK_BUILD_VERSION".to_string(), "1.2".to_string())];
        assert_eq!(expand("Build $BUILD_NUMBER shipped ${TASK_BUILD_VERSION}.", &env), "Build 7 shipped 1.2.");
        assert_eq!(expand("costs $5, $UNSET and ${UNSET} stay, $ alone", &env), "costs $5, $UNSET and ${UNSET} stay, $ alone");
        assert_eq!(expand("$BUILD_NUMBER$BUILD_NUMBER", &env), "77");
    }
}
