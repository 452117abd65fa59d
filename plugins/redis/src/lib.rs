//! `pikoci://redis`: a Redis server of the job's own on a free loopback port, without
//! persistence, from the worker's `redis-server`.
//!
//! ```hcl
//! service "redis" "cache" {}
//! ```
//!
//! Later steps see `REDIS_URL`, `REDIS_HOST` and `REDIS_PORT`. The configuration, password
//! included, reaches `redis-server` on its standard input, never on a command line.

use pikoci_builtin_support::{port_or_free, userinfo_encode, State};
use pikoci_sdk::process::Command;
use pikoci_sdk::{Result, ServiceType, Started};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// A fixed port instead of a free one.
    port: Option<u16>,
    /// Required of clients (`requirepass`).
    password: Option<String>,
    /// Accepted for PikoCI pipelines, which pick a Docker image with it; the worker's
    /// `redis-server` is what runs.
    #[allow(dead_code)]
    version: Option<serde::de::IgnoredAny>,
}

/// A value quoted for redis.conf.
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

struct Redis;

impl ServiceType for Redis {
    type Params = Params;

    fn start(_name: &str, params: Params) -> Result<Started> {
        let port = port_or_free(params.port)?;
        let mut config = format!("port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndaemonize no\n");
        if let Some(password) = &params.password {
            config.push_str(&format!("requirepass {}\n", quoted(password)));
        }
        // `-` reads the configuration from standard input.
        let server = Command::new("redis-server").arg("-").stdin(config.into_bytes()).spawn()?;
        let handle = server.detach()?;
        // Redis 6+ names the password's user `default`; clients such as redis-cli 7.0 send an
        // empty user name as one, which fails.
        let auth = params.password.as_deref().map(|p| format!("default:{}@", userinfo_encode(p))).unwrap_or_default();
        Ok(Started {
            state: State { handle, port, data_dir: None }.encode(),
            exports: vec![
                ("REDIS_URL".to_string(), format!("redis://{auth}127.0.0.1:{port}")),
                ("REDIS_HOST".to_string(), "127.0.0.1".to_string()),
                ("REDIS_PORT".to_string(), port.to_string()),
            ],
        })
    }

    fn ready(state: &str, params: Params) -> Result<bool> {
        let state = State::decode(state)?;
        state.ensure_running("redis-server")?;
        let mut ping = Command::new("redis-cli").args(["-h", "127.0.0.1", "-p", &state.port.to_string(), "ping"]);
        if let Some(password) = &params.password {
            ping = ping.env("REDISCLI_AUTH", password);
        }
        // redis-cli exits 0 even when the server answers with an error; only PONG is ready.
        let out = ping.capture().run()?;
        Ok(out.success() && out.stdout_text().trim() == "PONG")
    }

    fn stop(state: &str, _params: Params) -> Result<()> {
        State::decode(state)?.kill();
        Ok(())
    }
}

pikoci_sdk::export_service_type!(Redis, name = "redis", capabilities = ["net:127.0.0.1", "run:redis-server", "run:redis-cli"]);
