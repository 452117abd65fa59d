//! `pikoci://postgresql`: a PostgreSQL server of the job's own, started from the worker's
//! PostgreSQL binaries in a fresh data directory on a free loopback port.
//!
//! ```hcl
//! service "postgresql" "db" {
//!   params { version = "15" }     # Debian's /usr/lib/postgresql/15/bin; or bin_dir, or PATH
//! }
//! ```
//!
//! Later steps see `DATABASE_URL`, `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE` (and `PGPASSWORD`
//! when `password` is set). The server listens on 127.0.0.1 only, with its socket in its data
//! directory, so it never meets a PostgreSQL the worker already runs. Durability is switched off
//! (`fsync=off`): the database lives as long as the job. `stop` shuts it down, kills whatever
//! is left and removes the data directory.

use pikoci_builtin_support::{nonce, port_or_free, probe, remove_own_dir, run_quietly, url_credentials, worker_path, State};
use pikoci_sdk::process::Command;
use pikoci_sdk::{Error, Result, ServiceType, Started};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    /// A fixed port instead of a free one.
    port: Option<u16>,
    /// The `postgres` superuser's password; without one, connections are trusted.
    password: Option<String>,
    /// The PostgreSQL major version, found in Debian's layout `/usr/lib/postgresql/VERSION/bin`.
    version: Option<Version>,
    /// The directory of `initdb`, `postgres`, `pg_ctl` and `pg_isready`; wins over `version`.
    bin_dir: Option<String>,
    /// An OS user to run the server as (through `runuser`), for workers running as root, which
    /// PostgreSQL refuses to run as.
    user: Option<String>,
}

/// HCL may write the version as a number or a string.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Version {
    Number(u32),
    Text(String),
}

impl Params {
    /// A PostgreSQL program, from `bin_dir`, `version` or else the worker's PATH. Each way has its
    /// own capability request in the manifest below.
    fn program(&self, name: &str) -> String {
        match (&self.bin_dir, &self.version) {
            (Some(dir), _) => format!("{}/{name}", dir.trim_end_matches('/')),
            (None, Some(Version::Number(v))) => format!("/usr/lib/postgresql/{v}/bin/{name}"),
            (None, Some(Version::Text(v))) => format!("/usr/lib/postgresql/{v}/bin/{name}"),
            (None, None) => name.to_string(),
        }
    }

    /// `program args...`, as `user` when one is set.
    fn command(&self, program: &str, args: &[&str]) -> Command {
        let base = match &self.user {
            Some(user) => Command::new("runuser").args(["-u", user, "--", &self.program(program)]),
            None => Command::new(self.program(program)),
        };
        base.args(args.iter().copied()).env("PATH", worker_path()).env("LC_ALL", "C")
    }
}

const USER: &str = "postgres";

/// `initdb`'s refusal to run as root is common enough on CI workers to deserve a hint.
fn explain(output: &str) -> String {
    if output.contains("cannot be run as root") {
        return format!("{output}\nset the service's `user` param to an unprivileged OS user (e.g. \"postgres\")");
    }
    output.to_string()
}

const DATA_DIR_PREFIX: &str = "/tmp/pikoci-postgresql-";

fn remove_data_dir(dir: &str) {
    remove_own_dir(dir, DATA_DIR_PREFIX);
}

struct Postgresql;

impl ServiceType for Postgresql {
    type Params = Params;

    fn start(_name: &str, params: Params) -> Result<Started> {
        let port = port_or_free(params.port)?;
        let data_dir = format!("{DATA_DIR_PREFIX}{port}-{:016x}", nonce());
        let port_text = port.to_string();

        let mut initdb_args = vec!["-D", &data_dir, "-U", USER, "-E", "UTF8", "--locale=C", "--no-sync"];
        initdb_args.extend(match params.password {
            Some(_) => ["--auth-local=trust", "--auth-host=scram-sha-256"],
            None => ["--auth-local=trust", "--auth-host=trust"],
        });
        let setup = || -> Result<()> {
            run_quietly(params.command("initdb", &initdb_args), "initdb", explain)?;
            if let Some(password) = &params.password {
                // Set through a single-user backend's standard input: never on a command line, and
                // without a password file that the server's user (see `user`) could not open.
                let sql = format!("ALTER USER {USER} PASSWORD '{}';\n\n", password.replace('\'', "''"));
                run_quietly(params.command("postgres", &["--single", "-j", "-D", &data_dir, "postgres"]).stdin(sql.into_bytes()), "setting the password", explain)?;
            }
            Ok(())
        };
        if let Err(e) = setup() {
            remove_data_dir(&data_dir);
            return Err(e);
        }

        let server = params.command(
            "postgres",
            &["-D", &data_dir, "-p", &port_text, "-k", &data_dir, "-c", "listen_addresses=127.0.0.1",
              "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
        );
        let handle = match server.spawn().and_then(|child| child.detach().map_err(Error::from)) {
            Ok(handle) => handle,
            Err(e) => {
                remove_data_dir(&data_dir);
                return Err(e);
            }
        };
        let state = State { handle, port, data_dir: Some(data_dir) };

        let credentials = url_credentials(USER, params.password.as_deref());
        let mut exports = vec![
            ("DATABASE_URL".to_string(), format!("postgresql://{credentials}@127.0.0.1:{port}/postgres")),
            ("PGHOST".to_string(), "127.0.0.1".to_string()),
            ("PGPORT".to_string(), port_text),
            ("PGUSER".to_string(), USER.to_string()),
            ("PGDATABASE".to_string(), "postgres".to_string()),
        ];
        if let Some(p) = &params.password {
            exports.push(("PGPASSWORD".to_string(), p.clone()));
        }
        Ok(Started { state: state.encode(), exports })
    }

    fn ready(state: &str, params: Params) -> Result<bool> {
        let state = State::decode(state)?;
        state.ensure_running("postgres")?;
        let port = state.port.to_string();
        probe(params.command("pg_isready", &["-q", "-h", "127.0.0.1", "-p", &port, "-U", USER, "-t", "2"]))
    }

    fn stop(state: &str, params: Params) -> Result<()> {
        let state = State::decode(state)?;
        if let Some(dir) = &state.data_dir {
            // A fast shutdown lets PostgreSQL release its shared memory; the kill below is for a
            // server that will not stop.
            let _ = params.command("pg_ctl", &["stop", "-D", dir, "-m", "fast", "-w", "-t", "20"]).capture().run();
        }
        state.kill();
        if let Some(dir) = &state.data_dir {
            remove_data_dir(dir);
        }
        Ok(())
    }
}

pikoci_sdk::export_service_type!(
    Postgresql,
    name = "postgresql",
    capabilities = [
        "net:127.0.0.1",
        "env:PATH",
        "run:initdb", "run:postgres", "run:pg_ctl", "run:pg_isready",
        "run:{params.bin_dir}/initdb", "run:{params.bin_dir}/postgres", "run:{params.bin_dir}/pg_ctl", "run:{params.bin_dir}/pg_isready",
        "run:/usr/lib/postgresql/{params.version}/bin/initdb", "run:/usr/lib/postgresql/{params.version}/bin/postgres",
        "run:/usr/lib/postgresql/{params.version}/bin/pg_ctl", "run:/usr/lib/postgresql/{params.version}/bin/pg_isready",
        "run:runuser",
        "run:rm",
    ]
);
