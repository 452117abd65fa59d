//! `pikoci://mariadb`: a MariaDB server of the job's own, from the worker's MariaDB binaries, in
//! a fresh data directory on a free loopback port.
//!
//! ```hcl
//! service "mariadb" {
//!   root_password = var.db_password   # optional
//! }
//! ```
//!
//! Later steps see `DATABASE_URL`, `MYSQL_HOST`, `MYSQL_PORT`, `MYSQL_USER` (and `MYSQL_PWD`,
//! which MariaDB's clients read, when `root_password` is set). The server listens on 127.0.0.1
//! only, with its socket in its data directory, so it never meets a MariaDB the worker already
//! runs. `stop` kills it and removes the data directory.

use pikoci_builtin_support::{nonce, port_or_free, probe, remove_own_dir, run_quietly, url_credentials, worker_path, State};
use pikoci_sdk::process::Command;
use pikoci_sdk::{Error, Result, ServiceType, Started};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// A fixed port instead of a free one.
    port: Option<u16>,
    /// The `root` account's password; without one, root needs none.
    root_password: Option<String>,
    /// Accepted for PikoCI pipelines, which pick a Docker image with it; the worker's MariaDB is
    /// what runs.
    #[allow(dead_code)]
    version: Option<serde::de::IgnoredAny>,
}

/// How long `start` waits for the new server to take the password.
const SETUP_TIMEOUT_MS: u64 = 60_000;

fn command(program: &str) -> Command {
    Command::new(program).arg("--no-defaults").env("PATH", worker_path()).env("LC_ALL", "C")
}

/// `mariadb-admin` or `mariadb` reaching the server over TCP as root.
fn client(program: &str, port: u16, password: Option<&str>) -> Command {
    let cmd = command(program).args(["--protocol=TCP", "-h", "127.0.0.1", "-P", &port.to_string(), "-u", "root"]);
    match password {
        Some(p) => cmd.env("MYSQL_PWD", p),
        None => cmd,
    }
}

const DATA_DIR_PREFIX: &str = "/tmp/pikoci-mariadb-";

fn remove_data_dir(dir: &str) {
    remove_own_dir(dir, DATA_DIR_PREFIX);
}

/// Waits for the fresh server, then gives root its password, through the client's standard
/// input: never on a command line.
fn set_password(state: &State, password: &str) -> Result<()> {
    let mut waited = 0;
    while !probe(client("mariadb-admin", state.port, None).arg("ping"))? {
        state.ensure_running("mariadbd")?;
        if waited >= SETUP_TIMEOUT_MS {
            return Err(Error::failed(format!("mariadbd did not answer within {} s", SETUP_TIMEOUT_MS / 1000)));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += 100;
    }
    let sql = format!("ALTER USER 'root'@'localhost' IDENTIFIED BY '{}';\n", password.replace('\\', "\\\\").replace('\'', "\\'"));
    run_quietly(client("mariadb", state.port, None).stdin(sql.into_bytes()), "setting the root password", str::to_string)
}

struct Mariadb;

impl ServiceType for Mariadb {
    type Params = Params;

    fn start(_name: &str, params: Params) -> Result<Started> {
        let port = port_or_free(params.port)?;
        let data_dir = format!("{DATA_DIR_PREFIX}{port}-{:016x}", nonce());
        // `--user=root` only matters to a worker running as root, which mariadbd otherwise
        // refuses; any other user is told it is ignored.
        let install = command("mariadb-install-db").args([
            &format!("--datadir={data_dir}/data"),
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--user=root",
        ]);
        if let Err(e) = run_quietly(install, "mariadb-install-db", str::to_string) {
            remove_data_dir(&data_dir);
            return Err(e);
        }
        let server = command("mariadbd").args([
            &format!("--datadir={data_dir}/data"),
            &format!("--socket={data_dir}/mysqld.sock"),
            &format!("--pid-file={data_dir}/mysqld.pid"),
            &format!("--port={port}"),
            "--bind-address=127.0.0.1",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=0",
            "--user=root",
        ]);
        let handle = match server.spawn().and_then(|child| child.detach().map_err(Error::from)) {
            Ok(handle) => handle,
            Err(e) => {
                remove_data_dir(&data_dir);
                return Err(e);
            }
        };
        let state = State { handle, port, data_dir: Some(data_dir) };
        if let Some(password) = &params.root_password {
            if let Err(e) = set_password(&state, password) {
                state.kill();
                remove_data_dir(state.data_dir.as_deref().unwrap_or_default());
                return Err(e);
            }
        }
        let credentials = url_credentials("root", params.root_password.as_deref());
        let mut exports = vec![
            ("DATABASE_URL".to_string(), format!("mysql://{credentials}@127.0.0.1:{port}/mysql")),
            ("MYSQL_HOST".to_string(), "127.0.0.1".to_string()),
            ("MYSQL_PORT".to_string(), port.to_string()),
            ("MYSQL_USER".to_string(), "root".to_string()),
        ];
        if let Some(p) = &params.root_password {
            exports.push(("MYSQL_PWD".to_string(), p.clone()));
        }
        Ok(Started { state: state.encode(), exports })
    }

    fn ready(state: &str, params: Params) -> Result<bool> {
        let state = State::decode(state)?;
        state.ensure_running("mariadbd")?;
        probe(client("mariadb-admin", state.port, params.root_password.as_deref()).arg("ping"))
    }

    fn stop(state: &str, _params: Params) -> Result<()> {
        let state = State::decode(state)?;
        state.kill();
        if let Some(dir) = &state.data_dir {
            remove_data_dir(dir);
        }
        Ok(())
    }
}

pikoci_sdk::export_service_type!(
    Mariadb,
    name = "mariadb",
    capabilities = ["net:127.0.0.1", "env:PATH", "run:mariadb-install-db", "run:mariadbd", "run:mariadb-admin", "run:mariadb", "run:rm"]
);
