//! Real parts for tests (feature `testing`): Debian's `docker-registry` (CNCF distribution) on a
//! loopback port, started and killed by the test. Used by this crate's tests and the host's.

use crate::{ClientSettings, ComponentStore, Digest, Reference, RegistryClient};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// The absolute path of `program`, or a panic telling the developer how to get it. Tests that
/// need a real server must fail loudly when it is missing, not pass by skipping.
pub fn require(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{program}` is not installed; run `bash scripts/install-deps.sh`"))
}

/// A `docker-registry` serving a private temporary directory on 127.0.0.1, killed on drop.
pub struct TestRegistry {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl TestRegistry {
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// A registry that demands HTTP basic auth, checked against a bcrypt htpasswd file.
    pub fn start_with_basic_auth(user: &str, password: &str) -> Self {
        Self::launch(Some((user, password)))
    }

    fn launch(basic_auth: Option<(&str, &str)>) -> Self {
        let registry = require("docker-registry");
        let mut dir = tempfile::tempdir().expect("temporary directory for the registry");
        let mut auth_section = String::new();
        if let Some((user, password)) = basic_auth {
            let output = Command::new(require("htpasswd")).args(["-Bbn", user, password]).output().expect("run htpasswd");
            assert!(output.status.success(), "htpasswd failed: {}", String::from_utf8_lossy(&output.stderr));
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, &output.stdout).unwrap();
            auth_section = format!("auth:\n  htpasswd:\n    realm: pikoci-test\n    path: {}\n", htpasswd.display());
        }

        // Another test may take the port between our probe and the registry's bind; try again.
        let mut last_log = String::new();
        for _ in 0..5 {
            let addr = free_loopback_addr();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n  secret: pikoci-test-not-secret\n{auth_section}",
                    dir.path().join("data").display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new(&registry)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start docker-registry");
            let mut registry_process = TestRegistry { child, addr, dir };
            match registry_process.wait_until_listening() {
                Ok(()) => return registry_process,
                Err(log) => {
                    last_log = log;
                    dir = registry_process.into_dir();
                }
            }
        }
        panic!("docker-registry did not start; its log:\n{last_log}");
    }

    fn wait_until_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(self.log());
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("not listening on {} after {STARTUP_TIMEOUT:?}\n{}", self.addr, self.log()))
    }

    fn into_dir(mut self) -> tempfile::TempDir {
        self.kill();
        let placeholder = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, placeholder)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `127.0.0.1:PORT`, as written in references.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn reference(&self, repository_and_tag: &str) -> Reference {
        format!("oci://{}/{repository_and_tag}", self.host()).parse().unwrap()
    }

    /// Where the registry keeps the bytes of the blob with `digest`.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.dir.path().join("data/docker/registry/v2/blobs/sha256").join(&hex[..2]).join(&hex).join("data")
    }

    /// Settings that reach this registry over plain HTTP, with short timeouts.
    pub fn settings(&self) -> ClientSettings {
        let mut settings = ClientSettings::default().allow_plain_http(self.host());
        settings.connect_timeout = Duration::from_secs(5);
        settings.read_timeout = Duration::from_secs(20);
        settings
    }

    /// A client with its own empty store, as a CI server that has never seen the plugin.
    pub fn client(&self, settings: ClientSettings) -> (RegistryClient, tempfile::TempDir) {
        let root = tempfile::tempdir().unwrap();
        let store = ComponentStore::open(root.path()).unwrap();
        (RegistryClient::new(store, settings).unwrap(), root)
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_loopback_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().unwrap()
}
