//! The host side of `pikoci:plugin/log`.

use super::bindings::v0_1::log::{self as wit, Level};
use super::log_sink::{LogLine, LogOrigin};
use super::sandbox::PluginState;

impl wit::Host for PluginState {
    async fn write(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let origin = match level {
            Level::Debug => LogOrigin::Debug,
            Level::Info => LogOrigin::Info,
            Level::Warn => LogOrigin::Warn,
            Level::Error => LogOrigin::Error,
        };
        for text in message.lines() {
            self.log.line(LogLine { origin, text: text.to_string() });
        }
        Ok(())
    }
}

impl super::bindings::v0_1::types::Host for PluginState {}
