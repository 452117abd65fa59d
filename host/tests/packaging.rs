//! pikoci's packages as an operator meets them. `scripts/package.sh` builds the .deb, the .rpm and
//! SHA256SUMS; the .deb installs with apt-get into a clean Debian root made by debootstrap, its
//! server starts from the installed unit's command as the package's own user, reads the installed
//! settings and answers `/health` and `/version`, and `dpkg -r` removes it. The container image
//! builds with podman from the same .deb on a locally imported base and answers `/health`.
//!
//! These need root (chroot, podman) and build the packages from the test build's binary
//! (`--profile dev --no-build`), not a release build.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use support::server::{free_port, launch_command, Server};

fn run(command: &mut Command) -> Output {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(out.status.success(), "{command:?} failed ({}):\n{}{}", out.status, String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(command: &mut Command) -> String {
    String::from_utf8_lossy(&run(command).stdout).into_owned()
}

/// The packages of this test build, under target/test-packages/. Each test runs in a process of
/// its own: a file lock lets the first make them, and the others reuse them while the binary they
/// were made from is unchanged.
fn packages() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = support::repo_root().join("target/test-packages");
        std::fs::create_dir_all(&dir).unwrap();
        let lock = std::fs::File::create(support::repo_root().join("target/.test-packages.lock")).unwrap();
        lock.lock().expect("locking target/test-packages");
        let binary = std::fs::metadata(env!("CARGO_BIN_EXE_pikoci")).unwrap();
        let made_from = format!("{:?} {}", binary.modified().unwrap(), binary.len());
        let stamp = dir.join(".made-from");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(made_from.as_str()) {
            run(Command::new(support::repo_root().join("scripts/package.sh")).args(["--profile", "dev", "--no-build", "--out"]).arg(&dir));
            std::fs::write(&stamp, made_from).unwrap();
        }
        dir
    })
}

fn package(extension: &str) -> PathBuf {
    let mut found: Vec<PathBuf> =
        std::fs::read_dir(packages()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == extension)).collect();
    assert_eq!(found.len(), 1, "one .{extension} in {found:?}");
    found.pop().unwrap()
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What every package must hold, wherever the distribution's conventions put it.
const PACKAGED: &[&str] = &[
    "/usr/bin/pikoci",
    "/etc/pikoci/server.yaml",
    "pikoci-server.service",
    "/usr/share/bash-completion/completions/pikoci",
    "_pikoci",
    "/usr/share/fish/vendor_completions.d/pikoci.fish",
    "/usr/share/man/man1/pikoci.1",
    "/usr/share/man/man1/pikoci-server.1",
    "/usr/share/man/man1/pikoci-client.1",
];

#[test]
fn packages_are_named_by_version_and_checksummed() {
    let deb = package("deb");
    assert_eq!(deb.file_name().unwrap().to_string_lossy(), format!("pikoci_{VERSION}_amd64.deb"));
    let rpm = package("rpm");
    assert!(rpm.file_name().unwrap().to_string_lossy().starts_with(&format!("pikoci-{VERSION}-")), "{rpm:?}");
    let sums = std::fs::read_to_string(packages().join("SHA256SUMS")).unwrap();
    assert_eq!(sums.lines().count(), 2, "{sums}");
    run(Command::new("sha256sum").arg("--check").arg("--strict").arg("SHA256SUMS").current_dir(packages()));

    let deb_files = stdout(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    let rpm_files = stdout(Command::new("rpm").args(["-qlp"]).arg(&rpm));
    for wanted in PACKAGED {
        assert!(deb_files.contains(wanted), "the .deb lacks {wanted}:\n{deb_files}");
        assert!(rpm_files.contains(wanted), "the .rpm lacks {wanted}:\n{rpm_files}");
    }
    let rpm_scripts = stdout(Command::new("rpm").args(["-qp", "--scripts"]).arg(&rpm));
    assert!(rpm_scripts.contains("useradd --system"), "the .rpm makes its user:\n{rpm_scripts}");
    let config = stdout(Command::new("rpm").args(["-qp", "--configfiles"]).arg(&rpm));
    assert!(config.contains("/etc/pikoci/server.yaml"), "the settings are a config file of the .rpm: {config}");
}

/// Runs `args` in `root` as root, with a /proc mounted there for it alone. No pid namespace:
/// the command is the test's own child, so a SIGTERM from the test reaches it.
fn in_root(root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("unshare");
    command.arg("--mount").arg(format!("--mount-proc={}", root.join("proc").display())).arg("chroot").arg(root).args(args);
    command.env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").env("DEBIAN_FRONTEND", "noninteractive").env_remove("LD_LIBRARY_PATH");
    command
}

/// `KEY=` lines of the unit's [Service] section, in order.
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    unit.lines().filter_map(|l| l.strip_prefix(&format!("{key}="))).map(str::to_string).collect()
}

/// Starts the installed server as systemd would from the unit: its user, environment, working
/// directory and command, and `PORT` set as an operator's drop-in would.
fn start_from_unit(root: &Path, unit: &str, port: u16) -> Server {
    let user = unit_values(unit, "User").pop().expect("the unit names its user");
    let exec = unit_values(unit, "ExecStart").pop().expect("the unit has an ExecStart");
    let workdir = unit_values(unit, "WorkingDirectory").pop().expect("the unit has a WorkingDirectory");
    let mut env: Vec<(String, String)> =
        unit_values(unit, "Environment").iter().map(|e| e.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).expect("KEY=VALUE")).collect();
    env.push(("PORT".into(), port.to_string()));
    let mut script = format!("cd {workdir} && exec env");
    for (key, value) in &env {
        script.push_str(&format!(" {key}={value}"));
    }
    script.push(' ');
    script.push_str(&exec);
    let command = in_root(root, &["setpriv", &format!("--reuid={user}"), &format!("--regid={user}"), "--init-groups", "/bin/sh", "-c", &script]);
    launch_command(command, &[], port)
}

fn get(url: &str) -> String {
    let out = run(Command::new("curl").args(["-sS", "--fail", "--max-time", "10", url]));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_deb_installs_into_a_clean_debian_starts_its_server_and_removes() {
    let work = tempfile::tempdir().unwrap();
    let root = support::debian_root::unpack(work.path());
    let deb = package("deb");
    std::fs::copy(&deb, root.join("tmp/pikoci.deb")).unwrap();
    run(&mut in_root(&root, &["apt-get", "install", "-y", "-q", "--no-install-recommends", "/tmp/pikoci.deb"]));

    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(passwd.lines().any(|l| l.starts_with("pikoci:") && l.contains(":/var/lib/pikoci:")), "the package made its user:\n{passwd}");
    let owner = stdout(&mut in_root(&root, &["stat", "-c", "%U:%G %a", "/var/lib/pikoci", "/etc/pikoci/server.yaml"]));
    assert_eq!(owner.lines().collect::<Vec<_>>(), ["pikoci:pikoci 750", "root:pikoci 640"], "state directory and settings");

    let unit_path = root.join("usr/lib/systemd/system/pikoci-server.service");
    let unit_path = if unit_path.exists() { unit_path } else { root.join("lib/systemd/system/pikoci-server.service") };
    let unit = std::fs::read_to_string(&unit_path).unwrap_or_else(|e| panic!("the unit is installed: {e}"));
    // systemd's own checker, against the installed root (it resolves ExecStart's binary there).
    let relative = format!("/{}", unit_path.strip_prefix(&root).unwrap().display());
    run(Command::new("systemd-analyze").arg(format!("--root={}", root.display())).args(["verify", "--man=no"]).arg(&relative));

    let port = free_port();
    let server = start_from_unit(&root, &unit, port);
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(get(&format!("{base}/health")), "ok", "{}", server.log());
    let version: serde_json::Value = serde_json::from_str(&get(&format!("{base}/version"))).unwrap();
    assert_eq!(version["version"], VERSION);
    assert_eq!(version["commit"], pikoci::build_info::COMMIT);
    // The installed settings were read: the SQLite file is where they put it, owned by the user.
    let db = stdout(&mut in_root(&root, &["stat", "-c", "%U", "/var/lib/pikoci/pikoci.db"]));
    assert_eq!(db.trim(), "pikoci", "{}", server.log());
    drop(server);

    run(&mut in_root(&root, &["dpkg", "-r", "pikoci"]));
    assert!(!root.join("usr/bin/pikoci").exists(), "dpkg -r removes the binary");
    assert!(root.join("etc/pikoci/server.yaml").exists(), "a removal keeps the settings (a purge removes them)");
    assert!(root.join("var/lib/pikoci/pikoci.db").exists(), "a removal keeps the database");
    run(&mut in_root(&root, &["dpkg", "--purge", "pikoci"]));
    assert!(!root.join("etc/pikoci/server.yaml").exists(), "a purge removes the settings");
}

/// An image removed when dropped.
struct Image(String);

impl Drop for Image {
    fn drop(&mut self) {
        let _ = Command::new("podman").args(["rmi", "--force", &self.0]).output();
    }
}

#[test]
fn the_container_image_builds_from_a_local_base_and_serves() {
    let work = tempfile::tempdir().unwrap();
    let tag = format!("{}-{}", std::process::id(), free_port());
    let conf = support::podman::containers_conf(work.path());
    let podman = || {
        let mut command = Command::new("podman");
        command.env("CONTAINERS_CONF", &conf).args(support::podman::ENGINE_ARGS);
        command
    };
    let base = Image(format!("localhost/pikoci-test-debian:{tag}"));
    run(podman().arg("import").arg(support::debian_root::tarball()).arg(&base.0));
    let context = work.path().join("context");
    std::fs::create_dir(&context).unwrap();
    std::fs::copy(package("deb"), context.join(format!("pikoci_{VERSION}_amd64.deb"))).unwrap();
    let image = Image(format!("localhost/pikoci-test:{tag}"));
    run(podman()
        .args(["build", "--pull=never", "--network=host", "--build-arg"])
        .arg(format!("BASE={}", base.0))
        .arg("-f")
        .arg(support::repo_root().join("Containerfile"))
        .args(["-t", &image.0])
        .arg(&context));

    let port = free_port();
    let name = format!("pikoci-test-{tag}");
    let mut command = podman();
    command.args(["run", "--rm", "--name", &name, "--network", "host", "-e", &format!("PORT={port}"), &image.0]);
    let server = launch_command(command, &[], port);
    let health = get(&format!("http://127.0.0.1:{port}/health"));
    let user = stdout(podman().args(["exec", &name, "id", "-un"]));
    let _ = podman().args(["rm", "--force", "--time", "5", &name]).output();
    drop(server);
    assert_eq!(health, "ok");
    assert_eq!(user.trim(), "pikoci", "the image runs as the package's user");
}
