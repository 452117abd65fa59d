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
fn event_of(outcome: &Outcome) -> NotifyEvent {
    match outcome {
        Outcome::Succeeded => NotifyEvent::Success,
        Outcome::Failed(_) | Outcome::Errored(_) | Outcome::Warning(_) => NotifyEvent::Failure,
        Outcome::Aborted => NotifyEvent::Cancel,
    }
}

/// `$NAME` and `${NAME}` replaced by the variable's value in `env`; a name `env` lacks stays as
/// written (a price such as `$5` is not a variable).
fn expand(text: &str, env: &[(String, String)]) -> String {
    let var = |name: &str| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    pikoci_pipeline::build_vars::expand(text, &var, pikoci_pipeline::build_vars::Missing::Keep)
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
        let grants = self.grants_for(step, &notify.plugin, &values, &[self.write_grant(&self.workdir)]);
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
