//! `pikoci://rabbitmq`: a RabbitMQ broker of the job's own, from the worker's RabbitMQ server
//! (Debian's `rabbitmq-server` package), a node of its own on free loopback ports with its data
//! in a fresh directory, so it never meets a broker the worker already runs.
//!
//! ```hcl
//! service "rabbitmq" {}
//! ```
//!
//! Later steps see `AMQP_URL` (`amqp://guest:guest@127.0.0.1:PORT/`, the guest account RabbitMQ
//! allows from loopback), `RABBITMQ_HOST` and `RABBITMQ_PORT`. `stop` kills the node and removes
//! its directory.

use pikoci_builtin_support::{accepts_connections, free_port, nonce, port_or_free, remove_own_dir, run_quietly, worker_path, State};
use pikoci_sdk::process::Command;
use pikoci_sdk::{Error, Result, ServiceType, Started};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// A fixed AMQP port instead of a free one.
    port: Option<u16>,
    /// Where `rabbitmq-server` is, when not in Debian's `/usr/lib/rabbitmq/bin`.
    bin_dir: Option<String>,
    /// Accepted for PikoCI pipelines, which pick a Docker image with it; the worker's RabbitMQ
    /// is what runs.
    #[allow(dead_code)]
    version: Option<serde::de::IgnoredAny>,
}

const DEFAULT_BIN_DIR: &str = "/usr/lib/rabbitmq/bin";
const DATA_DIR_PREFIX: &str = "/tmp/pikoci-rabbitmq-";

struct Rabbitmq;

impl ServiceType for Rabbitmq {
    type Params = Params;

    fn start(_name: &str, params: Params) -> Result<Started> {
        let port = port_or_free(params.port)?;
        // Erlang's distribution port would default to PORT + 20000, which may not exist.
        let dist_port = free_port()?;
        let id = format!("{port}-{:016x}", nonce());
        let dir = format!("{DATA_DIR_PREFIX}{id}");
        // The node's Erlang cookie is written to its HOME, which must exist.
        run_quietly(Command::new("mkdir").args(["-m", "0700", "-p", &dir]), "creating the broker's directory", str::to_string)?;
        let program = format!("{}/rabbitmq-server", params.bin_dir.as_deref().unwrap_or(DEFAULT_BIN_DIR).trim_end_matches('/'));
        let server = Command::new(&program)
            .env("PATH", worker_path())
            .env("HOME", &dir)
            .env("RABBITMQ_NODENAME", format!("pikoci-{id}@localhost"))
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", port.to_string())
            .env("RABBITMQ_DIST_PORT", dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", format!("{dir}/mnesia"))
            .env("RABBITMQ_LOG_BASE", format!("{dir}/log"))
            // None of the worker's configuration, plugins or environment file applies.
            .env("RABBITMQ_CONFIG_FILE", format!("{dir}/rabbitmq"))
            .env("RABBITMQ_ADVANCED_CONFIG_FILE", format!("{dir}/advanced.config"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", format!("{dir}/enabled_plugins"))
            .env("RABBITMQ_CONF_ENV_FILE", format!("{dir}/rabbitmq-env.conf"))
            .env("ERL_CRASH_DUMP", format!("{dir}/erl_crash.dump"));
        let handle = match server.spawn().and_then(|child| child.detach().map_err(Error::from)) {
            Ok(handle) => handle,
            Err(e) => {
                remove_own_dir(&dir, DATA_DIR_PREFIX);
                return Err(Error::failed(format!("cannot start {program} (install Debian's rabbitmq-server, or give `bin_dir`): {e}")));
            }
        };
        Ok(Started {
            state: State { handle, port, data_dir: Some(dir) }.encode(),
            exports: vec![
                ("AMQP_URL".to_string(), format!("amqp://guest:guest@127.0.0.1:{port}/")),
                ("RABBITMQ_HOST".to_string(), "127.0.0.1".to_string()),
                ("RABBITMQ_PORT".to_string(), port.to_string()),
            ],
        })
    }

    fn ready(state: &str, _params: Params) -> Result<bool> {
        let state = State::decode(state)?;
        state.ensure_running("rabbitmq-server")?;
        accepts_connections(state.port)
    }

    fn stop(state: &str, _params: Params) -> Result<()> {
        let state = State::decode(state)?;
        state.kill();
        if let Some(dir) = &state.data_dir {
            remove_own_dir(dir, DATA_DIR_PREFIX);
        }
        Ok(())
    }
}

pikoci_sdk::export_service_type!(
    Rabbitmq,
    name = "rabbitmq",
    capabilities = ["net:127.0.0.1", "env:PATH", "run:mkdir", "run:rm", "run:/usr/lib/rabbitmq/bin/rabbitmq-server", "run:{params.bin_dir}/rabbitmq-server"]
);
