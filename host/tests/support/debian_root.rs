//! A minimal Debian root of the machine's own release (minbase plus systemd, so that units can be
//! verified against it), made with debootstrap once per machine and kept as a tarball under target/, for the tests that install pikoci's packages into a clean
//! system or build its container image on it (no container registry needed).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The machine's Debian codename (`bookworm`): the binary under test links against its libc.
fn codename() -> String {
    let release = std::fs::read_to_string("/etc/os-release").expect("/etc/os-release");
    release.lines().find_map(|l| l.strip_prefix("VERSION_CODENAME=")).map(|c| c.trim_matches('"').to_string()).expect("a Debian machine (VERSION_CODENAME)")
}

/// The root's tarball, made on first use. Several test processes may ask at once: a file lock
/// lets one of them build it.
pub fn tarball() -> PathBuf {
    let codename = codename();
    let dir = super::repo_root().join("target/test-debian");
    std::fs::create_dir_all(&dir).unwrap();
    let tarball = dir.join(format!("{codename}-minbase-systemd.tar"));
    let lock = File::create(dir.join(".lock")).unwrap();
    lock.lock().expect("locking target/test-debian");
    if !tarball.exists() {
        assert!(Path::new("/usr/sbin/debootstrap").exists(), "needs debootstrap (scripts/install-deps.sh)");
        let mirror = std::env::var("PIKOCI_TEST_DEBIAN_MIRROR").unwrap_or_else(|_| "http://deb.debian.org/debian".into());
        let root = tempfile::tempdir_in(&dir).unwrap();
        let out = Command::new("debootstrap").args(["--variant=minbase", "--include=systemd", &codename]).arg(root.path()).arg(&mirror).output().unwrap();
        assert!(out.status.success(), "debootstrap {codename} from {mirror} failed:\n{}", String::from_utf8_lossy(&out.stdout));
        let partial = dir.join(format!("{codename}-minbase-systemd.tar.partial"));
        let tar = Command::new("tar").args(["--numeric-owner", "-C"]).arg(root.path()).arg("-cf").arg(&partial).arg(".").status().unwrap();
        assert!(tar.success(), "archiving the Debian root");
        std::fs::rename(&partial, &tarball).unwrap();
    }
    tarball
}

/// A fresh copy of the root in `dir`.
pub fn unpack(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let tar = Command::new("tar").args(["--numeric-owner", "-C"]).arg(&root).arg("-xf").arg(tarball()).status().unwrap();
    assert!(tar.success(), "unpacking the Debian root");
    root
}
