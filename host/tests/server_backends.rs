//! The same scheduler scenario and restart test on every database backend: in memory, SQLite,
//! and the machine's real PostgreSQL (a fresh database per test, dropped afterwards).

mod support;

use support::server::{Api, Server};

use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

/// A database for one test; a PostgreSQL one is created fresh and dropped on drop.
enum Db {
    Mem,
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Db {
    fn postgres() -> Db {
        let name = format!("pikoci_test_{}_{}", std::process::id(), rand_suffix());
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", &format!("CREATE DATABASE {name}")])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "cannot create a PostgreSQL database ({}); start the server with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            String::from_utf8_lossy(&out.stderr)
        );
        Db::Postgres(name)
    }

    fn args(&self) -> Vec<String> {
        match self {
            Db::Mem => vec!["--db-system".into(), "mem".into()],
            Db::Sqlite(dir) => vec!["--db-system".into(), "sqlite".into(), "--db-name".into(), dir.path().join("pikoci.db").display().to_string()],
            Db::Postgres(name) => vec!["--db-url".into(), format!("postgres://postgres@127.0.0.1:5432/{name}")],
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Postgres(name) = self {
            let _ = Command::new("psql")
                .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")])
                .output();
        }
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64
}

fn start(db: &Db, pipeline: &std::path::Path) -> Server {
    start_with_env(db, pipeline, &[])
}

fn start_with_env(db: &Db, pipeline: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut args = db.args();
    args.extend(["--pipeline-config".to_string(), pipeline.display().to_string(), "--concurrency".to_string(), "2".to_string()]);
    support::server::start_with_env(&args.iter().map(String::as_str).collect::<Vec<_>>(), env)
}

/// The text the `get app` step of `build` logged about the version it fetched.
async fn fetched(api: &Api, build: &Value) -> String {
    api.log_lines(&build["id"]).await.into_iter().find(|t| t.starts_with("fetched app")).unwrap_or_default()
}

fn pipeline(dir: &std::path::Path) -> std::path::PathBuf {
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("v"), "one").unwrap();
    let file = dir.join("flow.hcl");
    std::fs::write(
        &file,
        format!(
            r#"
resource "fs" "app" {{
  check_interval = "@every 1h"
  params {{ path = "{app}" }}
}}
job "test" {{
  get "fs" "app" {{ trigger = true }}
  task "t" {{
    run "exec" {{
      path = "/bin/cat"
      args = ["app/v"]
    }}
  }}
}}
job "deploy" {{
  get "fs" "app" {{
    trigger = true
    passed  = ["test"]
  }}
  task "d" {{
    run "exec" {{
      path = "/bin/cat"
      args = ["app/v"]
    }}
  }}
}}
"#,
            app = app.display()
        ),
    )
    .unwrap();
    file
}

/// check -> new version -> triggered build -> downstream build via `passed`, twice; the version's
/// metadata from the builds' gets.
async fn scenario(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline(dir.path());
    let server = start(&db, &file);
    let api = Api::admin(&server).await;

    let test = api.finished("flow", "test", 1).await;
    let deploy = api.finished("flow", "deploy", 1).await;
    let v1 = fetched(&api, &test[0]).await;
    assert!(v1.contains("sha256"), "{v1}");
    assert_eq!(fetched(&api, &deploy[0]).await, v1, "deploy used the version that passed test");
    // The check found the version; the builds' gets described it.
    let versions = api.get("/api/v1/teams/main/pipelines/flow/resources/app/versions").await;
    let app = dir.path().join("app").display().to_string();
    assert_eq!(versions[0]["metadata"], serde_json::json!([{"name": "path", "value": app}]), "{versions}");

    std::fs::write(dir.path().join("app/v"), "two").unwrap();
    let hook = api.post("/api/v1/teams/main/pipelines/flow/resources/app/webhook_token").await;
    api.c.post(format!("{}{}", api.base, hook["url"].as_str().unwrap())).send().await.unwrap();
    let test = api.finished("flow", "test", 2).await;
    let deploy = api.finished("flow", "deploy", 2).await;
    let v2 = fetched(&api, &test[1]).await;
    assert_ne!(v2, v1);
    assert_eq!(fetched(&api, &deploy[1]).await, v2);
    assert!(test.iter().chain(deploy.iter()).all(|b| b["status"] == "succeeded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_scenario_in_memory() {
    scenario(Db::Mem).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_scenario_on_sqlite() {
    scenario(Db::Sqlite(tempfile::tempdir().unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_scenario_on_postgresql() {
    scenario(Db::postgres()).await;
}

/// The build work directories a worker process made (named after its pid) in `tmp`.
fn work_dirs_of(tmp: &std::path::Path, pid: u32) -> Vec<std::path::PathBuf> {
    let prefix = format!("pikoci-build-{pid}-");
    std::fs::read_dir(tmp).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().starts_with(&prefix)).map(|e| e.path()).collect()
}

/// Kill the server (SIGKILL: nothing gets to tidy up) while `slow` runs, start it again on the same
/// database: every finished build, version and log line is there, and the interrupted build is
/// errored with the reason; the dead server's work directories are removed and the task it left
/// running is killed.
async fn restart_scenario(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline(dir.path());
    let task_pid = dir.path().join("task.pid");
    // The task also leaves a process in a session of its own, working in `/`.
    let escaped_pid = dir.path().join("escaped.pid");
    let slow = format!(
        "job \"slow\" {{\n  get \"fs\" \"app\" {{ trigger = true }}\n  task \"wait\" {{\n    run \"exec\" {{\n      path = \"/bin/sh\"\n      args = [\"-ec\", \"echo $$ > {}; setsid sh -c 'cd / && echo $$ > {} && exec sleep 301' & echo started; exec sleep 300\"]\n    }}\n  }}\n}}\n",
        task_pid.display(),
        escaped_pid.display()
    );
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap() + &slow).unwrap();

    // Work directories in a temporary directory of this test's own: servers of other tests clean
    // up dead workers' directories in theirs, and must not race this one.
    let tmp = tempfile::tempdir().unwrap();
    let env = [("TMPDIR", tmp.path().to_str().unwrap())];
    let mut server = start_with_env(&db, &file, &env);
    let api = Api::admin(&server).await;
    let test = api.finished("flow", "test", 1).await;
    let deploy = api.finished("flow", "deploy", 1).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let interrupted = loop {
        let builds = api.get("/api/v1/teams/main/pipelines/flow/jobs/slow/builds").await;
        if let Some(b) = builds.as_array().unwrap().first() {
            let log = api.get(&format!("/api/v1/builds/{}/log", b["id"])).await;
            if log.as_array().unwrap().iter().any(|l| l["text"] == "started") {
                break b.clone();
            }
        }
        assert!(Instant::now() < deadline, "slow never started: {}", server.log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let versions = api.get("/api/v1/teams/main/pipelines/flow/resources/app/versions").await;
    assert_eq!(versions.as_array().unwrap().len(), 1, "{versions}");
    let mut logs = Vec::new();
    for b in test.iter().chain(&deploy) {
        logs.push(api.get(&format!("/api/v1/builds/{}/log", b["id"])).await);
    }
    let _ = server.child.kill();
    let _ = server.child.wait();
    // A killed server's task outlives it, until the next server starts.
    let task = support::cli::wait_for_file(&task_pid);
    assert!(std::path::Path::new(&format!("/proc/{task}")).exists(), "the task still runs: nothing tidied up after a SIGKILL");
    let left = work_dirs_of(tmp.path(), server.child.id());
    assert!(!left.is_empty(), "the killed server's running build had a work directory");
    drop(server);

    let server = start_with_env(&db, &file, &env);
    let api = Api::admin(&server).await;
    assert_eq!(api.get("/api/v1/teams/main/pipelines/flow/resources/app/versions").await, versions, "every version survives");
    for (before, old_log) in test.iter().chain(&deploy).zip(&logs) {
        let after = api.get(&format!("/api/v1/builds/{}", before["id"])).await;
        assert_eq!(after["status"], "succeeded", "{after}");
        assert_eq!(&api.get(&format!("/api/v1/builds/{}/log", before["id"])).await, old_log, "every log line survives");
    }
    let ended = api.get(&format!("/api/v1/builds/{}", interrupted["id"])).await;
    assert_eq!(ended["status"], "errored", "{ended}");
    assert!(ended["reason"].as_str().unwrap_or_default().contains("stopped while this build ran"), "{ended}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while left.iter().any(|d| d.exists()) {
        assert!(Instant::now() < deadline, "the restarted server did not remove the dead one's work directories: {left:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(support::cli::process_gone(&task), "the restarted server killed the task its predecessor left running");
    let escaped = support::cli::wait_for_file(&escaped_pid);
    assert!(support::cli::process_gone(&escaped), "and what the task started outside its group and directory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sqlite_server_loses_nothing_on_restart() {
    restart_scenario(Db::Sqlite(tempfile::tempdir().unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_postgresql_server_loses_nothing_on_restart() {
    restart_scenario(Db::postgres()).await;
}

impl Db {
    fn url(&self) -> String {
        match self {
            Db::Mem => "sqlite::memory:".into(),
            Db::Sqlite(dir) => format!("sqlite://{}", dir.path().join("pikoci.db").display()),
            Db::Postgres(name) => format!("postgres://postgres@127.0.0.1:5432/{name}"),
        }
    }
}

/// What a user sees of the scenario's state: builds with their status and log, and versions.
async fn state_seen(api: &Api) -> Vec<Value> {
    let mut seen = vec![api.get("/api/v1/teams/main/pipelines/flow/resources/app/versions").await];
    for job in ["test", "deploy"] {
        for build in api.finished("flow", job, 1).await {
            let log = api.log_lines(&build["id"]).await;
            seen.push(serde_json::json!({"build": build, "log": log}));
        }
    }
    seen
}

/// A PostgreSQL server's state exported with `pikoci client export` is what an SQLite server
/// started from the file shows, builds, versions and logs unchanged; `pikoci db copy` takes the
/// file into a new PostgreSQL database, and a server there carries on (new versions, new builds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_to_sqlite_and_copy_back_into_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let file = pipeline(dir.path());
    let origin = Db::postgres();
    let server = start(&origin, &file);
    let api = Api::admin(&server).await;
    api.finished("flow", "deploy", 1).await;
    let before = state_seen(&api).await;

    let exported = Db::Sqlite(tempfile::tempdir().unwrap());
    let Db::Sqlite(export_dir) = &exported else { unreachable!() };
    let out = support::cli::pikoci(dir.path())
        .args(["client", "--url", &server.base, "--token", &api.token, "export", "-o"])
        .arg(export_dir.path().join("pikoci.db"))
        .output()
        .unwrap();
    assert!(out.status.success(), "export: {}", support::cli::text(&out));
    // Each export is the whole state in one file (one in three held only the schema's first
    // page while SQLite's write-ahead log was left beside it in the server's scratch directory).
    for n in 0..8 {
        let file = dir.path().join(format!("export-{n}.db"));
        let out = support::cli::pikoci(dir.path()).args(["client", "--url", &server.base, "--token", &api.token, "export", "-o"]).arg(&file).output().unwrap();
        assert!(out.status.success(), "export: {}", support::cli::text(&out));
        let copy = pikoci_store::Store::connect(&format!("sqlite://{}", file.display()), false).await.unwrap();
        assert_eq!(copy.pipelines(None).await.unwrap().len(), 1, "export {n} holds the pipeline");
        copy.close().await;
    }
    let anonymous = support::server::client().get(format!("{}/api/v1/export", server.base)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401, "export is for admins");
    drop(server);

    // The file alone: no --pipeline-config, the pipeline comes back from its stored plan.
    let from_file = support::server::start(&exported.args().iter().map(String::as_str).collect::<Vec<_>>());
    let api = Api::admin(&from_file).await;
    assert_eq!(state_seen(&api).await, before, "the SQLite server shows the PostgreSQL server's state");
    drop(from_file);

    let copy = Db::postgres();
    let out = support::cli::pikoci(dir.path()).args(["db", "copy", "--from", &exported.url(), "--to", &copy.url()]).output().unwrap();
    assert!(out.status.success(), "db copy: {}", support::cli::text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("builds\t2"), "{}", support::cli::text(&out));
    let again = support::cli::pikoci(dir.path()).args(["db", "copy", "--from", &exported.url(), "--to", &copy.url()]).output().unwrap();
    assert!(!again.status.success() && support::cli::text(&again).contains("not empty"), "a second copy is refused: {}", support::cli::text(&again));

    let server = start(&copy, &file);
    let api = Api::admin(&server).await;
    assert_eq!(state_seen(&api).await, before, "the PostgreSQL copy shows the same state");
    std::fs::write(dir.path().join("app/v"), "two").unwrap();
    api.post("/api/v1/teams/main/pipelines/flow/resources/app/check").await;
    let test = api.finished("flow", "test", 2).await;
    assert_eq!(test[1]["number"], 2, "numbering carries on");
    assert!(test[1]["id"].as_i64() > before.iter().filter_map(|s| s["build"]["id"].as_i64()).max(), "new ids come after the copied ones");
}
