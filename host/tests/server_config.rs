//! `pikoci server --config FILE` on the real binary: PikoCI's config file (keys are the flag
//! names; YAML, TOML, JSON or dotenv by extension), below the command line and the environment.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::server::{client, free_port, hash, launch, login, SERVER_ENV};

fn pipeline(dir: &Path) -> String {
    let path = dir.join("hello.hcl");
    std::fs::write(&path, "job \"hello\" {\n  task \"say\" {\n    run \"exec\" {\n      path = \"/bin/echo\"\n      args = [\"hello\"]\n    }\n  }\n}\n")
        .unwrap();
    path.display().to_string()
}

/// The jobs of `team`/`name` as the API shows them to the admin, or the status when it has none.
async fn jobs(base: &str, team: &str, name: &str) -> Result<Value, u16> {
    let c = client();
    let admin = login(&c, base, "admin", "adminpw").await;
    let r = c.get(format!("{base}/api/v1/teams/{team}/pipelines/{name}")).bearer_auth(&admin).send().await.unwrap();
    match r.status().as_u16() {
        200 => Ok(r.json::<Value>().await.unwrap()["jobs"].clone()),
        other => Err(other),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_yaml_config_file_sets_the_address_the_pipeline_and_the_users() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("pikoci.yaml");
    std::fs::write(
        &config,
        format!(
            "# PikoCI's keys: the server's flag names\nlisten: 127.0.0.1:{port}\npipeline-config: {pipeline}\npipeline-name: from-file\nteam-canonical: ops\nrun-worker: false\ndrain-timeout: 5s\nusers:\n  - \"{admin}\"\n",
            pipeline = pipeline(dir.path()),
            admin = hash("admin", "adminpw"),
        ),
    )
    .unwrap();
    let server = launch(&["server".into(), "--config".into(), config.display().to_string()], &[], port);
    assert!(server.log().contains(&format!("listening on http://127.0.0.1:{port}")), "{}", server.log());
    assert_eq!(jobs(&server.base, "ops", "from-file").await, Ok(serde_json::json!(["hello"])), "{}", server.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_beats_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (file_port, cli_port) = (free_port(), free_port());
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{file_port}\"\npipeline-config = \"{pipeline}\"\npipeline-name = \"from-file\"\nteam-canonical = \"ops\"\nusers = [\"{admin}\"]\n",
            pipeline = pipeline(dir.path()),
            admin = hash("admin", "adminpw"),
        ),
    )
    .unwrap();
    // The file itself through CONFIG; the pipeline's name from the environment; the address from
    // the command line. The team is the file's, over the default `main`.
    let config = config.display().to_string();
    let server =
        launch(&["server".into(), "--listen".into(), format!("127.0.0.1:{cli_port}")], &[("CONFIG", &config), ("PIPELINE_NAME", "from-env")], cli_port);
    assert!(std::net::TcpStream::connect(("127.0.0.1", file_port)).is_err(), "the file's address is not used");
    assert_eq!(jobs(&server.base, "ops", "from-env").await, Ok(serde_json::json!(["hello"])), "{}", server.log());
    assert_eq!(jobs(&server.base, "ops", "from-file").await, Err(404));
}

/// Runs `pikoci server --config FILE` (with a free port in the file where it is well-formed) and
/// returns its exit code and stderr; fails if it is still running after 30 s.
fn refused(name: &str, text: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_pikoci"));
    for var in SERVER_ENV {
        command.env_remove(var);
    }
    let mut child = command
        .args(["server", "--listen", &format!("127.0.0.1:{}", free_port()), "--config"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started despite {name}: {text}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{name} accepted: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let prefix = format!("error: config file {}: ", path.display());
    assert!(stderr.starts_with(&prefix), "{stderr}");
    (out.status.code().map_or("signal".into(), |c| c.to_string()), stderr[prefix.len()..].trim_end().to_string())
}

#[test]
fn a_bad_config_file_is_refused_naming_the_file_the_key_and_what_was_expected() {
    let (code, why) = refused("pikoci.yaml", "prot: 9090\n");
    assert_eq!(code, "1");
    assert!(why.starts_with("unknown key `prot`; did you mean `port`?"), "{why}");

    let (_, why) = refused("pikoci.env", "DB_SYTEM=sqlite\n");
    assert!(why.starts_with("unknown key `DB_SYTEM`; did you mean `db-system`?"), "{why}");

    let (_, why) = refused("pikoci.yml", "port: http\n");
    assert_eq!(why, "`port`: expected a port number (0 to 65535), got \"http\" (invalid digit found in string)");

    let (_, why) = refused("pikoci.json", r#"{"drain-timeout": "soon"}"#);
    assert!(why.starts_with("`drain-timeout`: expected a duration such as 90s or 10m, got \"soon\""), "{why}");

    let (_, why) = refused("pikoci.toml", "run-worker = \"perhaps\"\n");
    assert_eq!(why, "`run-worker`: expected one of true, false, got \"perhaps\"");

    let (_, why) = refused("pikoci.yaml", "users: {admin: x}\n");
    assert_eq!(why, "`users`: expected a value or a list of values, found a table of keys");

    // Secrets are never echoed, not even from a broken line.
    let (_, why) = refused("pikoci.yaml", "db-password: [s3cret]\n");
    assert_eq!(why, "`db-password`: expected a single value, found a list");
    let (_, why) = refused("pikoci.toml", "port = 8080\ndb-password = s3cret\n");
    assert!(why.starts_with("not valid TOML at line 2 column 15: ") && !why.contains("s3cret"), "{why}");

    let (_, why) = refused("pikoci.ini", "port = 8080\n");
    assert_eq!(why, "unknown format: name the file .yaml, .yml, .json, .toml or .env");
}

#[test]
fn a_bad_log_level_is_refused_before_anything_starts() {
    let out = Command::new(env!("CARGO_BIN_EXE_pikoci"))
        .args(["server", "--listen", &format!("127.0.0.1:{}", free_port())])
        .env("LOG_LEVEL", "verbose[")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: --log-level (LOG_LEVEL) `verbose[`: expected error, warn, info, debug or trace"), "{stderr}");
}

/// PikoCI's own development example starts as it is; a queue pikoci does not have is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pikoci_operators_command_line_works() {
    let port = free_port();
    let args: Vec<String> = ["server", "--jwt-secret", "dev-secret", "--db-system", "mem", "--pubsub-system", "mem", "--listen", &format!("127.0.0.1:{port}")]
        .map(String::from)
        .to_vec();
    let server = launch(&args, &[], port);
    let health = client().get(format!("{}/health", server.base)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    drop(server);

    let out = Command::new(env!("CARGO_BIN_EXE_pikoci")).args(["server", "--pubsub-system", "nats"]).stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("pikoci has no separate queue (builds wait in its database): `nats` is not available; use `mem` or drop the flag"), "{stderr}");
}

/// The README's and PikoCI's command line: `--run-worker` alone switches the worker on.
#[tokio::test]
async fn run_worker_is_a_switch_as_in_pikoci() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = pipeline(dir.path());
    let server = support::server::start(&["--run-worker", "--pipeline-config", &pipeline]);
    let api = support::server::Api::admin(&server).await;
    api.post("/api/v1/teams/main/pipelines/hello/jobs/hello/builds").await;
    let build = api.finished("hello", "hello", 1).await.remove(0);
    assert_eq!(build["status"], "succeeded", "{}", server.log());

    // `--run-worker=false` and `--run-worker false` both switch it off.
    for off in [&["--run-worker=false"][..], &["--run-worker", "false"]] {
        let server = support::server::start(&[off, &["--pipeline-config", &pipeline]].concat());
        let api = support::server::Api::admin(&server).await;
        let workers = api.get("/api/v1/workers").await;
        assert_eq!(workers.as_array().map(Vec::len), Some(0), "{off:?}: {workers}");
    }
}
