//! `pikoci://nats`: a NATS server of the job's own on a free loopback port, from the worker's
//! `nats-server`, keeping nothing on disk.
//!
//! ```hcl
//! service "nats" {}
//! ```
//!
//! Later steps see `NATS_URL`, `NATS_HOST` and `NATS_PORT`.

use pikoci_builtin_support::{accepts_connections, port_or_free, State};
use pikoci_sdk::process::Command;
use pikoci_sdk::{Result, ServiceType, Started};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// A fixed port instead of a free one.
    port: Option<u16>,
    /// Accepted for PikoCI pipelines, which pick a Docker image with it; the worker's
    /// `nats-server` is what runs.
    #[allow(dead_code)]
    version: Option<serde::de::IgnoredAny>,
}

struct Nats;

impl ServiceType for Nats {
    type Params = Params;

    fn start(_name: &str, params: Params) -> Result<Started> {
        let port = port_or_free(params.port)?;
        let server = Command::new("nats-server").args(["--addr", "127.0.0.1", "--port", &port.to_string()]).spawn()?;
        let handle = server.detach()?;
        Ok(Started {
            state: State { handle, port, data_dir: None }.encode(),
            exports: vec![
                ("NATS_URL".to_string(), format!("nats://127.0.0.1:{port}")),
                ("NATS_HOST".to_string(), "127.0.0.1".to_string()),
                ("NATS_PORT".to_string(), port.to_string()),
            ],
        })
    }

    fn ready(state: &str, _params: Params) -> Result<bool> {
        let state = State::decode(state)?;
        state.ensure_running("nats-server")?;
        accepts_connections(state.port)
    }

    fn stop(state: &str, _params: Params) -> Result<()> {
        State::decode(state)?.kill();
        Ok(())
    }
}

pikoci_sdk::export_service_type!(Nats, name = "nats", capabilities = ["net:127.0.0.1", "run:nats-server"]);
