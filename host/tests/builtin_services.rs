//! The built-in service types `postgresql`, `redis`, `mariadb`, `nats` and `rabbitmq`: real servers on their own free ports,
//! reached by real clients, stopped by `stop` or by the build's end (the background scope).
//! The machine's own PostgreSQL, Redis, MariaDB, NATS and RabbitMQ on the standard ports are never touched.

mod support;

use pikoci::executor::grants::CallValues;
use pikoci::runtime::host_process::{detaching_into, BackgroundProcesses};
use pikoci::runtime::{Capabilities, StartedService};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::builtins::BoundPlugin;
use support::builtins::{bound, call_grants};

/// A service as the executor runs it: the manifest's grants plus the build's background scope.
struct Service {
    plugin: BoundPlugin,
    params: Value,
    grants: Capabilities,
    background: BackgroundProcesses,
}

impl Service {
    fn new(name: &str, params: Value, background: &BackgroundProcesses) -> Self {
        let plugin = bound(name);
        let grants = call_grants(&plugin, &CallValues { params: Some(&params), ..Default::default() }, &[]);
        Service { plugin, params, grants, background: background.clone() }
    }

    async fn start(&self) -> StartedService {
        let (_, log) = support::log();
        detaching_into(&self.background, self.plugin.plugin.start(&self.grants, log, "svc", &self.params)).await.expect("start")
    }

    /// Poll `ready` as the executor does, for at most 30 s.
    async fn wait_ready(&self, started: &StartedService) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, log) = support::log();
            if detaching_into(&self.background, self.plugin.plugin.ready(&self.grants, log, &started.state, &self.params)).await.expect("ready") {
                return;
            }
            assert!(Instant::now() < deadline, "the service was not ready within 30 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn stop(&self, started: &StartedService) {
        let (log, sink) = support::log();
        detaching_into(&self.background, self.plugin.plugin.stop(&self.grants, sink, &started.state, &self.params))
            .await
            .unwrap_or_else(|e| panic!("stop: {e}\n{}", log.text()));
    }
}

fn export<'a>(started: &'a StartedService, name: &str) -> &'a str {
    started.exports.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name} in {:?}", started.exports))
}

fn state(started: &StartedService) -> Value {
    serde_json::from_str(&started.state).unwrap()
}

/// Whether something still accepts connections on the port after up to 10 s: PostgreSQL's
/// helper processes leave on their own once they notice the postmaster is gone.
fn listening(port: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect_timeout(&format!("127.0.0.1:{port}").parse().unwrap(), Duration::from_secs(1)).is_ok() {
        if Instant::now() > deadline {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn client(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The worker runs as root here, which PostgreSQL refuses: the server runs as `postgres`.
fn postgres_params(extra: Value) -> Value {
    let mut params = json!({"version": "15", "user": "postgres"});
    params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    params
}

#[tokio::test]
async fn postgresql_starts_on_its_own_port_takes_a_client_and_stops() {
    let background = BackgroundProcesses::default();
    let pg = Service::new("postgresql", postgres_params(json!({"password": "pa ss@word"})), &background);
    let started = pg.start().await;
    pg.wait_ready(&started).await;

    let port = export(&started, "PGPORT");
    assert_ne!(port, "5432", "never the machine's PostgreSQL");
    assert_eq!(export(&started, "PGHOST"), "127.0.0.1");
    let url = export(&started, "DATABASE_URL");
    assert!(url.starts_with("postgresql://postgres:pa%20ss%40word@127.0.0.1:"), "{url}");
    let answer = client("psql", &[url, "-tAc", "create table t (x int); insert into t values (41), (1); select sum(x) from t"]);
    assert_eq!(answer.lines().last(), Some("42"));

    let s = state(&started);
    let (pid, data_dir) = (s["handle"].as_u64().unwrap(), s["data_dir"].as_str().unwrap().to_string());
    assert!(std::path::Path::new(&data_dir).join("PG_VERSION").exists());
    pg.stop(&started).await;
    assert!(support::cli::process_gone(pid), "postgres {pid} still runs after stop");
    assert!(!listening(port));
    assert!(!std::path::Path::new(&data_dir).exists(), "stop removes {data_dir}");
    assert!(background.is_empty(), "stop reaped the server: {background:?}");
}

#[tokio::test]
async fn redis_starts_on_its_own_port_takes_a_client_and_stops() {
    let background = BackgroundProcesses::default();
    let redis = Service::new("redis", json!({"password": "r3dis-pw"}), &background);
    let started = redis.start().await;
    redis.wait_ready(&started).await;

    let port = export(&started, "REDIS_PORT");
    assert_ne!(port, "6379", "never the machine's Redis");
    let url = export(&started, "REDIS_URL");
    client("redis-cli", &["-u", url, "set", "pikoci-test", "hello"]);
    assert_eq!(client("redis-cli", &["-u", url, "get", "pikoci-test"]), "hello");
    let unauthenticated = client("redis-cli", &["-p", port, "get", "pikoci-test"]);
    assert!(unauthenticated.contains("NOAUTH"), "{unauthenticated}");

    let pid = state(&started)["handle"].as_u64().unwrap();
    redis.stop(&started).await;
    assert!(support::cli::process_gone(pid), "redis-server {pid} still runs after stop");
    assert!(!listening(port));
}

#[tokio::test]
async fn mariadb_starts_on_its_own_port_takes_a_client_and_stops() {
    let background = BackgroundProcesses::default();
    let db = Service::new("mariadb", json!({"version": "10.11", "root_password": "ma ria'db"}), &background);
    let started = db.start().await;
    db.wait_ready(&started).await;

    let port = export(&started, "MYSQL_PORT");
    assert_ne!(port, "3306", "never the machine's MariaDB");
    assert!(export(&started, "DATABASE_URL").starts_with("mysql://root:ma%20ria%27db@127.0.0.1:"), "{:?}", started.exports);
    let sql = |password: Option<&str>, query: &str| {
        let mut cmd = std::process::Command::new("mariadb");
        cmd.args(["--no-defaults", "--protocol=TCP", "-h", "127.0.0.1", "-P", port, "-u", "root", "-N", "-e", query]);
        if let Some(p) = password {
            cmd.env("MYSQL_PWD", p);
        }
        cmd.output().unwrap()
    };
    let out =
        sql(Some(export(&started, "MYSQL_PWD")), "create database ci; create table ci.t (x int); insert into ci.t values (41), (1); select sum(x) from ci.t");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
    assert!(!sql(None, "select 1").status.success(), "root needs its password");

    let s = state(&started);
    let (pid, data_dir) = (s["handle"].as_u64().unwrap(), s["data_dir"].as_str().unwrap().to_string());
    db.stop(&started).await;
    assert!(support::cli::process_gone(pid), "mariadbd {pid} still runs after stop");
    assert!(!listening(port));
    assert!(!std::path::Path::new(&data_dir).exists(), "stop removes {data_dir}");
}

#[tokio::test]
async fn nats_starts_on_its_own_port_takes_a_client_and_stops() {
    use std::io::{BufRead, BufReader, Write};
    let background = BackgroundProcesses::default();
    let nats = Service::new("nats", json!({"version": "2.9"}), &background);
    let started = nats.start().await;
    nats.wait_ready(&started).await;

    let port = export(&started, "NATS_PORT");
    assert_ne!(port, "4222", "never the machine's NATS");
    assert_eq!(export(&started, "NATS_URL"), format!("nats://127.0.0.1:{port}"));
    // NATS's own protocol: the server greets with INFO, answers PING with PONG, and delivers
    // what is published to a subscriber.
    let stream = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut lines = BufReader::new(stream.try_clone().unwrap()).lines();
    assert!(lines.next().unwrap().unwrap().starts_with("INFO "));
    (&stream).write_all(b"CONNECT {\"verbose\":false}\r\nSUB ci.builds 1\r\nPUB ci.builds 5\r\nhello\r\nPING\r\n").unwrap();
    let got: Vec<String> = lines.by_ref().take(3).map(Result::unwrap).collect();
    assert_eq!(got, ["MSG ci.builds 1 5", "hello", "PONG"]);

    let pid = state(&started)["handle"].as_u64().unwrap();
    nats.stop(&started).await;
    assert!(support::cli::process_gone(pid), "nats-server {pid} still runs after stop");
    assert!(!listening(port));
}

/// The broker's first AMQP 0-9-1 frame after the protocol header: `connection.start` (class 10,
/// method 10) on channel 0, as every AMQP client expects.
fn amqp_greets(port: &str) -> bool {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(b"AMQP\x00\x00\x09\x01").unwrap();
    let mut frame = [0u8; 11];
    stream.read_exact(&mut frame).unwrap();
    frame[0] == 1 && frame[1..3] == [0, 0] && frame[7..11] == [0, 10, 0, 10]
}

#[tokio::test]
async fn rabbitmq_starts_a_node_of_its_own_speaks_amqp_and_stops() {
    let background = BackgroundProcesses::default();
    let rabbit = Service::new("rabbitmq", json!({"version": "3.13"}), &background);
    let started = rabbit.start().await;
    rabbit.wait_ready(&started).await;

    let port = export(&started, "RABBITMQ_PORT");
    assert_ne!(port, "5672", "never the machine's RabbitMQ");
    assert_eq!(export(&started, "AMQP_URL"), format!("amqp://guest:guest@127.0.0.1:{port}/"));
    assert!(amqp_greets(port), "no AMQP connection.start on {port}");

    let s = state(&started);
    let (pid, dir) = (s["handle"].as_u64().unwrap(), s["data_dir"].as_str().unwrap().to_string());
    rabbit.stop(&started).await;
    assert!(support::cli::process_gone(pid), "rabbitmq-server {pid} still runs after stop");
    assert!(!listening(port));
    assert!(!std::path::Path::new(&dir).exists(), "stop removes {dir}");
}

#[tokio::test]
async fn an_aborted_build_kills_its_rabbitmq_node() {
    let background = BackgroundProcesses::default();
    let rabbit = Service::new("rabbitmq", json!({}), &background);
    let started = rabbit.start().await;
    rabbit.wait_ready(&started).await;
    let s = state(&started);
    let (pid, port, dir) = (s["handle"].as_u64().unwrap(), export(&started, "RABBITMQ_PORT").to_string(), s["data_dir"].as_str().unwrap().to_string());

    // Aborted before its stop ran: the build's scope goes, and the node with it.
    drop((rabbit, background));
    assert!(support::cli::process_gone(pid), "rabbitmq-server {pid} survived the end of the build");
    assert!(!listening(&port), "something still listens on {port}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_end_of_the_build_kills_services_that_were_never_stopped() {
    let background = BackgroundProcesses::default();
    let redis = Service::new("redis", json!({}), &background);
    let pg = Service::new("postgresql", postgres_params(json!({})), &background);
    let (r, p) = (redis.start().await, pg.start().await);
    redis.wait_ready(&r).await;
    pg.wait_ready(&p).await;
    let pids = [state(&r)["handle"].as_u64().unwrap(), state(&p)["handle"].as_u64().unwrap()];
    let ports = [export(&r, "REDIS_PORT").to_string(), export(&p, "PGPORT").to_string()];
    let data_dir = state(&p)["data_dir"].as_str().unwrap().to_string();

    // The build ends: the executor drops its scope, and the grants holding clones of it go too.
    drop((redis, pg, background));
    for (pid, port) in pids.iter().zip(&ports) {
        assert!(support::cli::process_gone(*pid), "{pid} survived the end of the build");
        assert!(!listening(port), "something still listens on {port}");
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn a_misspelt_param_is_named() {
    let background = BackgroundProcesses::default();
    let redis = Service::new("redis", json!({"prot": 1234}), &background);
    let (_, log) = support::log();
    let err = detaching_into(&redis.background, redis.plugin.plugin.start(&redis.grants, log, "svc", &redis.params)).await.unwrap_err().to_string();
    assert!(err.contains("prot"), "{err}");
}
