//! The server's side of PikoCI's `trigger` resource type: a build's `put "trigger" "NAME"`
//! appends an event to its team's stream NAME, and every pipeline of the team that has a trigger
//! resource NAME checks it at once, so a put in one pipeline starts jobs in another without
//! waiting for a check interval.

use super::state::AppState;
use crate::executor::TriggerBus;
use pikoci_store::TeamId;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

pub struct TeamTriggers {
    pub state: AppState,
    pub team: TeamId,
}

impl TriggerBus for TeamTriggers {
    fn publish<'a>(&'a self, stream: &'a str, payload: BTreeMap<String, String>) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>> {
        Box::pin(async move {
            let event = self.state.store.append_trigger_event(self.team, stream, &payload).await.map_err(|e| e.to_string())?;
            // A trigger resource listens on the stream of its own name.
            let listening: Vec<_> = self
                .state
                .pipelines
                .all()
                .into_iter()
                .filter(|p| p.team_id == self.team)
                .flat_map(|p| {
                    p.compiled
                        .resources
                        .iter()
                        .filter(|r| r.name == stream && matches!(r.backend, crate::executor::ResourceBackend::Trigger { .. }))
                        .filter_map(|r| p.resources.get(&r.name).copied())
                        .collect::<Vec<_>>()
                })
                .collect();
            for resource in listening {
                self.state.scheduler.check_now(resource);
            }
            Ok(event.id.to_string())
        })
    }
}
