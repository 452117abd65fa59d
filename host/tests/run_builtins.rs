//! `pikoci run` with the built-in plugins, end to end: real pipeline files run by the real
//! binary against real git repositories (file:// and git's smart HTTP), a real PostgreSQL server
//! the job starts for itself, and real containers through podman.

mod support;

use base64::Engine as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use support::cli::{pikoci, process_gone, text, wait_for_file};
use support::git_http::GitHttpServer;
use support::git_repo::{git, Upstream};

const TOKEN: &str = "ghp_e2eTokenThatMustNeverShow";

/// A pipeline that checks, fetches, reads and tags `url` with the built-in `git`; the tag is a
/// `--var`, the token, if any, comes from the worker's environment through the built-in `env`
/// secret type.
fn git_pipeline(dir: &Path, url: &str, with_token: bool) -> PathBuf {
    let (variable, token) =
        if with_token { ("variable \"git_token\" {\n  secret \"env\" { key = \"E2E_GIT_TOKEN\" }\n}\n", "    token  = var.git_token\n") } else { ("", "") };
    let file = dir.join("pipeline.hcl");
    std::fs::write(
        &file,
        format!(
            r#"{variable}
variable "tag" {{}}

resource "git" "app" {{
  params {{
    url    = "{url}"
    branch = "main"
{token}  }}
}}

job "build" {{
  get "git" "app" {{ trigger = true }}
  task "read" {{
    inputs = ["app/README"]
    run "exec" {{
      path = "/bin/sh"
      args = ["-ec", "git -C app log -1 --format=%s; echo ${{var.tag}} > tag"]
    }}
  }}
  put "git" "app" {{
    params {{ tag_file = "tag" }}
  }}
}}
"#
        ),
    )
    .unwrap();
    file
}

/// Two builds: the first fetches and tags the head; after a new commit the second fetches and
/// tags that one. Returns both logs.
fn build_twice(root: &Path, upstream: &Upstream, pipeline: &Path) -> String {
    let cache = root.join("pikoci-cache");
    std::fs::create_dir_all(&cache).unwrap();
    let first = git(&upstream.work, &["rev-parse", "HEAD"]);
    let mut logs = String::new();
    for n in 1..=2 {
        let expected = if n == 1 { first.clone() } else { upstream.commit("README", "second\n", "Second commit") };
        let out = pikoci(&cache)
            .env("E2E_GIT_TOKEN", TOKEN)
            .args(["run", "-c"])
            .arg(pipeline)
            .args(["-j", "build", "--var"])
            .arg(format!("tag=build-{n}"))
            .output()
            .unwrap();
        let log = text(&out);
        assert!(out.status.success(), "build {n}: {log}");
        assert!(log.contains(&format!("fetched app (ref: {expected}")), "build {n} fetched the head {expected}: {log}");
        let message = if n == 1 { "Initial commit" } else { "Second commit" };
        assert!(log.contains(&format!("task read | {message}")), "{log}");
        assert_eq!(git(&upstream.bare, &["rev-parse", &format!("build-{n}^{{commit}}")]), expected, "build {n} pushed its tag: {log}");
        logs.push_str(&log);
    }
    logs
}

#[test]
fn builtin_git_over_file_urls_builds_each_new_commit_and_pushes_tags() {
    let root = tempfile::tempdir().unwrap();
    let upstream = Upstream::new(root.path());
    let pipeline = git_pipeline(root.path(), &upstream.url(), false);
    build_twice(root.path(), &upstream, &pipeline);
}

#[test]
fn builtin_git_over_http_with_a_token_that_never_shows() {
    let root = tempfile::tempdir().unwrap();
    let upstream = Upstream::new(root.path());
    let authorization = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("oauth2:{TOKEN}")));
    let server = GitHttpServer::start(root.path(), Some(authorization.clone()));
    let pipeline = git_pipeline(root.path(), &format!("{}/app.git", server.base), true);
    let logs = build_twice(root.path(), &upstream, &pipeline);

    let seen = server.authorizations.lock().unwrap().clone();
    assert!(!seen.is_empty() && seen.iter().all(|a| a.as_deref() == Some(authorization.as_str())), "every request carried the token: {seen:?}");
    for secret in [TOKEN, authorization.trim_start_matches("Basic ")] {
        assert!(!logs.contains(secret), "the log shows {secret}:\n{logs}");
    }
    // The per-resource cache the planner gave git holds a mirror, without the token.
    let mirrors: Vec<PathBuf> = walk(&root.path().join("pikoci-cache")).into_iter().filter(|p| p.ends_with("git/config")).collect();
    assert!(!mirrors.is_empty(), "git kept a mirror in its cache directory");
    for config in mirrors {
        assert!(!std::fs::read_to_string(&config).unwrap().contains(TOKEN), "{}", config.display());
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A job with the built-in `postgresql` service whose task connects, records the server's pid
/// (from its data directory's postmaster.pid) and then ends with `ending`.
fn postgres_pipeline(dir: &Path, ending: &str) -> PathBuf {
    let file = dir.join("db.hcl");
    let script = format!(
        "psql \\\"$DATABASE_URL\\\" -tAc 'create table t (x int); insert into t values (40), (2); select sum(x) from t'; \
         d=$(psql \\\"$DATABASE_URL\\\" -tAc 'show data_directory'); head -1 $d/postmaster.pid > {pid}; {ending}",
        pid = dir.join("postgres.pid").display()
    );
    service_pipeline(&file, "db", "service \"postgresql\" {\n    version = \"15\"\n    user    = \"postgres\"\n  }", "query", "/bin/sh", &script);
    file
}

/// `file`: job `job` with the `service` block and a task `task` running `script` with `shell`.
fn service_pipeline(file: &Path, job: &str, service: &str, task: &str, shell: &str, script: &str) {
    let text = format!(
        r#"
job "{job}" {{
  {service}
  task "{task}" {{
    run "exec" {{
      path = "{shell}"
      args = ["-ec", "{script}"]
    }}
  }}
}}
"#
    );
    std::fs::write(file, text).unwrap();
}

#[test]
fn a_postgresql_service_serves_the_task_and_is_stopped_after_success_and_failure() {
    for (ending, succeeds) in [("true", true), ("exit 3", false)] {
        let dir = tempfile::tempdir().unwrap();
        let pipeline = postgres_pipeline(dir.path(), ending);
        let out = pikoci(dir.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "db"]).output().unwrap();
        let log = text(&out);
        assert_eq!(out.status.success(), succeeds, "{log}");
        assert!(log.contains("task query | 42"), "the task queried the job's own server: {log}");
        let pid = std::fs::read_to_string(dir.path().join("postgres.pid")).unwrap();
        assert!(process_gone(pid.trim()), "postgres {} outlived its job ({ending}): {log}", pid.trim());
    }
}

#[test]
fn ctrl_c_stops_the_postgresql_service() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = postgres_pipeline(dir.path(), "sleep 300");
    let child = pikoci(dir.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "db"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = wait_for_file(&dir.path().join("postgres.pid"));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(process_gone(&pid), "postgres {pid} outlived Ctrl-C: {}", text(&out));
}

#[test]
fn a_task_runs_in_a_podman_container_through_the_docker_runner() {
    let dir = tempfile::tempdir().unwrap();
    let image = support::podman::import_busybox(dir.path());
    let pipeline = dir.path().join("box.hcl");
    std::fs::write(
        &pipeline,
        format!(
            r#"
job "box" {{
  task "build" {{
    env = {{ GREETING = "hello" }}
    run "docker" {{
      image       = "{image}"
      cmd         = "echo $GREETING from $(pwd); echo built in a container > out.txt"
      engine      = "podman"
      engine_args = {engine_args:?}
      engine_env  = {{ CONTAINERS_CONF = "{conf}" }}
      args        = ["--network", "host"]
    }}
  }}
  task "after" {{
    inputs = ["out.txt"]
    run "exec" {{
      path = "/bin/cat"
      args = ["out.txt"]
    }}
  }}
}}
"#,
            image = image.name,
            engine_args = support::podman::ENGINE_ARGS,
            conf = support::podman::containers_conf(dir.path()).display(),
        ),
    )
    .unwrap();
    // podman reads DOCKER_CONFIG for registry logins and fails on a directory that is not there.
    let out = pikoci(dir.path()).env_remove("DOCKER_CONFIG").args(["run", "-c"]).arg(&pipeline).args(["-j", "box"]).output().unwrap();
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("task build | hello from /workdir"), "{log}");
    assert!(log.contains("task after | built in a container"), "the container wrote into the build's work dir: {log}");
}

/// A job with the built-in `rabbitmq` service whose task speaks AMQP to it, records its port
/// and then ends with `ending`.
fn rabbitmq_pipeline(dir: &Path, ending: &str) -> PathBuf {
    let file = dir.join("mq.hcl");
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/$RABBITMQ_PORT; printf 'AMQP\\\\000\\\\000\\\\011\\\\001' >&3; \
         echo connection.start: $(head -c 11 <&3 | od -An -tx1 | tr -s ' ' | cut -d' ' -f9-12); echo $RABBITMQ_PORT > {port}; {ending}",
        port = dir.join("rabbitmq.port").display()
    );
    service_pipeline(&file, "mq", "service \"rabbitmq\" {\n    version = \"3.13\"\n  }", "greet", "/bin/bash", &script);
    file
}

/// Whether the RabbitMQ node the service started on `port` still takes connections.
fn rabbitmq_node_runs(port: &str) -> bool {
    std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_ok()
}

/// Whether that node is gone within 10 s, with the directory the service made for it.
fn rabbitmq_node_gone(port: &str) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while rabbitmq_node_runs(port) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let dirs = std::fs::read_dir("/tmp").unwrap().flatten().any(|e| e.file_name().to_string_lossy().starts_with(&format!("pikoci-rabbitmq-{port}-")));
    !dirs
}

#[test]
fn a_rabbitmq_service_speaks_amqp_to_the_task_and_is_gone_after_the_build_and_after_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let out = pikoci(dir.path()).args(["run", "-c"]).arg(rabbitmq_pipeline(dir.path(), "true")).args(["-j", "mq"]).output().unwrap();
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("connection.start: 00 0a 00 0a"), "the task reached the job's own broker: {log}");
    let port = std::fs::read_to_string(dir.path().join("rabbitmq.port")).unwrap();
    assert!(rabbitmq_node_gone(port.trim()), "the node on {} outlived its job: {log}", port.trim());

    let dir = tempfile::tempdir().unwrap();
    let pipeline = rabbitmq_pipeline(dir.path(), "sleep 300");
    let child = pikoci(dir.path()).args(["run", "-c"]).arg(&pipeline).args(["-j", "mq"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let port = wait_for_file(&dir.path().join("rabbitmq.port"));
    assert!(rabbitmq_node_runs(&port));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert!(rabbitmq_node_gone(&port), "the node on {port} outlived Ctrl-C: {}", text(&out));
}
