//! Podman as the test machines run it (rootful, runc, cgroupfs; see ../shared/TOOLCHAIN.md), with
//! a one-binary busybox image imported from Debian's busybox-static: no registry, no network.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Flags before `run` that this machine's podman needs.
pub const ENGINE_ARGS: [&str; 4] = ["--runtime", "runc", "--cgroup-manager", "cgroupfs"];

/// An imported image, removed when dropped; each test has its own tag, so tests running at the
/// same time never remove each other's image.
pub struct BusyboxImage {
    pub name: String,
}

impl Drop for BusyboxImage {
    fn drop(&mut self) {
        let _ = Command::new("podman").args(["rmi", "--force", &self.name]).output();
    }
}

/// Import a busybox image tagged for the calling test.
pub fn import_busybox(dir: &Path) -> BusyboxImage {
    let busybox = Path::new("/bin/busybox");
    assert!(busybox.exists(), "needs Debian's busybox-static (scripts/install-deps.sh)");
    let root = dir.join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
    for applet in ["sh", "echo", "cat", "pwd", "ls", "env"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    let tag = dir.file_name().unwrap().to_string_lossy().to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "");
    let name = format!("localhost/pikoci-test-busybox:{}-{tag}", std::process::id());
    // A file naming the image makes each test's image its own: identical content would be one
    // image id, which two tests importing at once race to commit, and one test's removal
    // would take from the other.
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/pikoci-test-image"), &name).unwrap();
    let tarball = dir.join("busybox.tar");
    let tar = Command::new("tar").arg("-C").arg(&root).arg("-cf").arg(&tarball).arg(".").status().unwrap();
    assert!(tar.success());
    let out = Command::new("podman").arg("import").arg(&tarball).arg(&name).output().expect("podman is installed (scripts/install-deps.sh)");
    assert!(out.status.success(), "podman import: {}", String::from_utf8_lossy(&out.stderr));
    BusyboxImage { name }
}

/// A containers.conf without default ulimits, which a container here may not raise.
pub fn containers_conf(dir: &Path) -> PathBuf {
    let conf = dir.join("containers.conf");
    std::fs::write(&conf, "[containers]\ndefault_ulimits = []\n").unwrap();
    conf
}
