//! Services started by a build, stopped when it ends.

use super::grants::CallValues;
use super::plan::PluginRef;
use super::Build;
use std::sync::Mutex;

pub(crate) struct RunningService {
    pub name: String,
    pub step: String,
    pub plugin: PluginRef,
    pub state: String,
    pub params: serde_json::Value,
}

#[derive(Default)]
pub(crate) struct Services(Mutex<Vec<RunningService>>);

impl Services {
    pub fn push(&self, service: RunningService) {
        self.0.lock().unwrap().push(service);
    }

    /// Stop every service, last started first. A stop that fails is logged, not fatal: the
    /// build's processes are killed afterwards in any case.
    pub async fn stop_all(&self, build: &Build) {
        let services = std::mem::take(&mut *self.0.lock().unwrap());
        for service in services.into_iter().rev() {
            let values = CallValues { params: Some(&service.params), ..Default::default() };
            let grants = build.grants_for(&service.step, &service.plugin, &values, &[]);
            let log = build.log.step(&service.step);
            let stopped = match build.plugin(&service.plugin) {
                Ok(plugin) => crate::runtime::host_process::detaching_into(&build.background, plugin.stop(&grants, log, &service.state, &service.params))
                    .await
                    .map_err(|e| e.to_string()),
                Err(why) => Err(why),
            };
            match stopped {
                Ok(()) => build.log.note(&service.step, format!("service {} stopped", service.name)),
                Err(e) => build.log.note(&service.step, format!("stopping service {} failed: {e}", service.name)),
            }
        }
    }
}
