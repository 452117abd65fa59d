//! Embeds the built-in plugins (plugins/dist/*.wasm, committed so that building the host needs
//! no wasm toolchain) and warns when they are older than the sources they are built from.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn main() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    for dir in ["wit", "sdk/src", "sdk/Cargo.toml", "plugins"] {
        println!("cargo:rerun-if-changed={}", repo.join(dir).display());
    }
    embed_builtins(&repo.join("plugins/dist"));
    record_commit(&repo);
    let recorded = std::fs::read_to_string(repo.join("plugins/dist/SOURCES.sha256")).unwrap_or_default();
    let current = sources_digest(&repo);
    if recorded.trim() != current {
        println!(
            "cargo:warning=the built-in plugins in plugins/dist/ were built from other sources than wit/, sdk/ and plugins/ hold now; run scripts/build-plugins.sh"
        );
    }
}

/// `PIKOCI_COMMIT`: the commit the binary is built from, for `--version` and `GET /version`. A
/// package built from a source tarball (no .git) passes it in the environment; otherwise git is
/// asked, and the build reruns when HEAD moves so the answer never goes stale.
fn record_commit(repo: &Path) {
    println!("cargo:rerun-if-env-changed=PIKOCI_COMMIT");
    let from_env = std::env::var("PIKOCI_COMMIT").ok().filter(|c| !c.trim().is_empty());
    let commit = from_env.or_else(|| {
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git").arg("-C").arg(repo).args(args).output().ok()?;
            out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        };
        let git_dir = PathBuf::from(git(&["rev-parse", "--absolute-git-dir"])?);
        println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
        println!("cargo:rerun-if-changed={}", git_dir.join("packed-refs").display());
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", git_dir.join(branch).display());
        }
        git(&["rev-parse", "--short=12", "HEAD"])
    });
    println!("cargo:rustc-env=PIKOCI_COMMIT={}", commit.unwrap_or_else(|| "unknown".into()));
}

/// `BUILTINS`: every component of plugins/dist/, named after its file (the language crate's
/// catalog is read from the same files).
fn embed_builtins(dist: &Path) {
    let mut names: Vec<String> = std::fs::read_dir(dist)
        .unwrap_or_else(|e| panic!("{}: {e}", dist.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut out = String::from("pub static BUILTINS: &[BuiltinPlugin] = &[\n");
    for name in names {
        let path = dist.join(format!("{name}.wasm"));
        out.push_str(&format!("    BuiltinPlugin {{ name: {name:?}, bytes: include_bytes!({:?}) }},\n", path.display().to_string()));
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("builtins.rs");
    std::fs::write(target, out).unwrap();
}

/// The same digest as scripts/plugin-sources-digest.sh: sha256 of `sha256sum`'s listing of every
/// source file, in byte order of their paths.
fn sources_digest(repo: &Path) -> String {
    let mut files = Vec::new();
    for top in ["wit", "sdk", "plugins"] {
        collect(repo, &repo.join(top), &mut files);
    }
    files.sort();
    let mut listing = String::new();
    for relative in files {
        let bytes = std::fs::read(repo.join(&relative)).unwrap_or_default();
        listing.push_str(&format!("{}  {}\n", hex::encode(Sha256::digest(&bytes)), relative));
    }
    hex::encode(Sha256::digest(listing.as_bytes()))
}

fn collect(repo: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path: PathBuf = entry.path();
        let relative = path.strip_prefix(repo).unwrap().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            if entry.file_name() != "target" && relative != "plugins/dist" {
                collect(repo, &path, out);
            }
        } else if kind.is_file() && entry.file_name() != "Cargo.lock" {
            out.push(relative);
        }
    }
}
