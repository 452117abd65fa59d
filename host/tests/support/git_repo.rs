//! Real git repositories made by tests: a bare upstream with a `main` branch and an author's
//! clone to commit and push from, all with git isolated from the machine's configuration.

use std::path::{Path, PathBuf};

/// The test's own git, isolated from the machine's configuration.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada Tester")
        .env("GIT_AUTHOR_EMAIL", "ada@example.test")
        .env("GIT_COMMITTER_NAME", "Ada Tester")
        .env("GIT_COMMITTER_EMAIL", "ada@example.test")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare `app.git` under `root` with a `main` branch, and a clone to make commits in.
pub struct Upstream {
    pub bare: PathBuf,
    pub work: PathBuf,
}

impl Upstream {
    pub fn new(root: &Path) -> Self {
        let bare = root.join("app.git");
        git(root, &["init", "--quiet", "--bare", "--initial-branch=main", bare.to_str().unwrap()]);
        let work = root.join("author");
        git(root, &["clone", "--quiet", bare.to_str().unwrap(), work.to_str().unwrap()]);
        git(&work, &["checkout", "--quiet", "-b", "main"]);
        let upstream = Upstream { bare, work };
        upstream.commit("README", "first\n", "Initial commit");
        upstream
    }

    /// Commit a file and push it; returns the new commit's sha.
    pub fn commit(&self, file: &str, content: &str, message: &str) -> String {
        std::fs::write(self.work.join(file), content).unwrap();
        git(&self.work, &["add", file]);
        git(&self.work, &["commit", "--quiet", "-m", message]);
        git(&self.work, &["push", "--quiet", "origin", "main"]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    pub fn url(&self) -> String {
        format!("file://{}", self.bare.display())
    }
}
