//! The real `pikoci server` on loopback for tests that drive it over HTTP.

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; sent SIGTERM (unless it already exited) and waited for when dropped.
pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Once reaped, its pid may belong to another process.
        if let Ok(None) = self.child.try_wait() {
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        }
        let _ = self.child.wait();
    }
}

impl Server {
    /// What the server printed on stderr so far, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

/// The environment variables `pikoci server` reads its flags from.
pub const SERVER_ENV: &[&str] = &[
    "CONFIG",
    "PORT",
    "LISTEN",
    "DB_SYSTEM",
    "DB_HOST",
    "DB_PORT",
    "DB_USER",
    "DB_PASSWORD",
    "DB_NAME",
    "DB_URL",
    "RUN_MIGRATIONS",
    "RUN_WORKER",
    "CONCURRENCY",
    "DRAIN_TIMEOUT",
    "MAX_CONCURRENT_CHECKS",
    "CHECK_TIMEOUT",
    "TEAM_CANONICAL",
    "TEAM_ENV",
    "TEAM_DIRS",
    "TASK_SANDBOX",
    "PIPELINE_CONFIG",
    "PIPELINE_NAME",
    "VARS",
    "USERS",
    "JWT_SECRET",
    "PUBSUB_SYSTEM",
    "LOG_LEVEL",
];

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `USER:HASH` for `--users`, made by the binary itself.
pub fn hash(user: &str, password: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_pikoci")).args(["user-password", "-u", user, "-p", password]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Starts a server with users `admin`/`adminpw` (the first, so the admin) and `viewer`/`viewerpw`
/// (no role anywhere), plus `extra` flags; returns once it accepts connections.
pub fn start(extra: &[&str]) -> Server {
    start_with_env(extra, &[])
}

/// `start`, with `env` added to the server's environment.
pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Server {
    // Port 0: the kernel picks a port no other test holds; the server says which.
    let port = 0;
    let mut args = vec![
        "server".to_string(),
        "--listen".into(),
        format!("127.0.0.1:{port}"),
        "--users".into(),
        hash("admin", "adminpw"),
        "--users".into(),
        hash("viewer", "viewerpw"),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    launch(&args, env, port)
}

/// Runs `pikoci ARGS` with `env` added and returns once it listens on `port` of 127.0.0.1 (where
/// the arguments, the environment or a config file make it listen; 0 for any port).
pub fn launch(args: &[String], env: &[(&str, &str)], port: u16) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pikoci"));
    command.args(args).env("PIKOCI_CACHE_DIR", super::repo_root().join("target/test-cache"));
    launch_command(command, env, port)
}

/// Runs `command` (a server however started: the test binary, an installed package in a chroot)
/// with only `env` of the server's variables, and returns once it says it listens on `port` (0:
/// any port).
///
/// The server's own "listening on" line is the signal, not a connection that succeeds: a port
/// picked free a moment ago may be taken by another test's server, and a test talking to it
/// would see someone else's pipelines.
pub fn launch_command(mut command: Command, env: &[(&str, &str)], port: u16) -> Server {
    let dir = tempfile::tempdir().unwrap();
    // Only what the test gives reaches the server's flags.
    for name in SERVER_ENV {
        command.env_remove(name);
    }
    let child = command
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap())
        .spawn()
        .unwrap();
    // Held from the start: a test that fails here still stops the server as it unwinds.
    let mut server = Server { child, base: String::new(), dir };
    let deadline = Instant::now() + Duration::from_secs(30);
    let listening = loop {
        let log = server.log();
        if let Some(address) = listening_on(&log) {
            break address;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("server exited ({status}) before listening: {log}");
        }
        assert!(Instant::now() < deadline, "server did not start: {log}");
        std::thread::sleep(Duration::from_millis(20));
    };
    if port != 0 {
        assert_eq!(listening.port(), port, "the server listens where it was told");
    }
    // Loopback reaches a server listening on every interface too.
    server.base = format!("http://127.0.0.1:{}", listening.port());
    server
}

/// The address in the server's "pikoci: listening on http://ADDR" line, once it is whole.
fn listening_on(log: &str) -> Option<std::net::SocketAddr> {
    let line = log.lines().find(|l| l.starts_with("pikoci: listening on http://") && log.contains(&format!("{l}\n")))?;
    line.trim_start_matches("pikoci: listening on http://").trim().parse().ok()
}

pub fn client() -> reqwest::Client {
    pikoci_registry::install_tls_provider();
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// A token for `user`, through `POST /api/v1/login`.
pub async fn login(c: &reqwest::Client, base: &str, user: &str, password: &str) -> String {
    let r = c.post(format!("{base}/api/v1/login")).json(&json!({"username": user, "password": password})).send().await.unwrap();
    assert_eq!(r.status(), 200, "login {user}");
    r.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
}

/// Authenticated JSON calls to a test server, as one user.
pub struct Api {
    pub c: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    /// As `admin` (the first user `start` makes).
    pub async fn admin(server: &Server) -> Api {
        let c = client();
        let token = login(&c, &server.base, "admin", "adminpw").await;
        Api { c, base: server.base.clone(), token }
    }

    pub async fn get(&self, path: &str) -> Value {
        self.c.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.unwrap().json().await.unwrap()
    }

    pub async fn post(&self, path: &str) -> Value {
        self.c.post(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.unwrap().json().await.unwrap_or(Value::Null)
    }

    /// The text of each line of a build's log.
    pub async fn log_lines(&self, build_id: &Value) -> Vec<String> {
        let log = self.get(&format!("/api/v1/builds/{build_id}/log")).await;
        log.as_array().unwrap().iter().filter_map(|l| l["text"].as_str().map(str::to_string)).collect()
    }

    /// The finished builds of `job` in pipeline `pipeline` of team main, oldest first, once there
    /// are `count` (60 s at most).
    pub async fn finished(&self, pipeline: &str, job: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let builds = self.get(&format!("/api/v1/teams/main/pipelines/{pipeline}/jobs/{job}/builds")).await;
            let Some(builds) = builds.as_array() else { panic!("{pipeline}/{job}: the builds are not a list: {builds}") };
            let mut done: Vec<Value> = builds.iter().filter(|b| b["finished_at"].is_number()).cloned().collect();
            if done.len() >= count {
                done.sort_by_key(|b| b["number"].as_i64());
                return done;
            }
            assert!(Instant::now() < deadline, "{pipeline}/{job}: waited for {count} finished builds: {builds:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A pipeline watching `watched` with the fs type: `test` gets every version and prints three
/// lines slowly, then the version's content; `deploy` takes what passed `test`.
pub fn pipeline_text(watched: &Path) -> String {
    format!(
        r#"
resource "fs" "app" {{
  check_interval = "@every 1h"
  params {{ path = "{path}" }}
}}

job "test" {{
  get "fs" "app" {{ trigger = true }}
  task "unit" {{
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "for i in 1 2 3; do echo line $i; sleep 0.2; done; cat app/v"]
    }}
  }}
}}

job "deploy" {{
  get "fs" "app" {{
    trigger = true
    passed  = ["test"]
  }}
  task "ship" {{
    run "exec" {{
      path = "/bin/cat"
      args = ["app/v"]
    }}
  }}
}}
"#,
        path = watched.display()
    )
}
