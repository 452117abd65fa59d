//! `pikoci://fs`: a file or directory on the worker as a resource.
//!
//! A version is the sha256 of the contents (for a directory: of every file's relative path and
//! bytes, in path order), so touching a file without changing it makes no new version.

use pikoci_sdk::{fs, Error, Fetched, ResourceType, Result, Version};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    /// Absolute path of the watched file or directory.
    path: PathBuf,
}

/// A step's params; `get` takes none.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Params {
    /// What to copy back to `source.path`, relative to the build's work directory.
    from: Option<PathBuf>,
}

struct Fs;

fn digest(root: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    for file in fs::walk_files(root)? {
        let relative = file.strip_prefix(root).unwrap_or(&file);
        // Length-prefix the name so that ("ab", "c") and ("a", "bc") hash differently.
        let name = relative.to_string_lossy();
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        let contents = fs::read(&file)?;
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn current(source: &Source) -> Result<Fetched> {
    let sha256 = digest(&source.path)?;
    Ok(Fetched::new(Version::new().with("sha256", sha256)).with_metadata("path", source.path.display().to_string()))
}

impl ResourceType for Fs {
    type Source = Source;
    type Params = Params;

    fn check(source: Source, _last: Option<Version>) -> Result<Vec<Version>> {
        // The newest version is the only one a file has; the host drops it when equal to `last`.
        Ok(vec![current(&source)?.version])
    }

    fn get(source: Source, version: Version, _params: Self::Params, dir: &Path) -> Result<Fetched> {
        // The work directory is shared by the job's resources: the copy keeps the watched
        // path's own name, as PikoCI's resources keep theirs.
        let name = source.path.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("fs"));
        fs::copy_tree(&source.path, dir.join(name))?;
        let fetched = current(&source)?;
        if version.field("sha256").is_some_and(|wanted| Some(wanted) != fetched.version.field("sha256")) {
            return Err(Error::failed(format!(
                "{} changed since version {} was found; the next check will pick up the new content",
                source.path.display(),
                version.field("sha256").unwrap_or_default()
            )));
        }
        Ok(fetched)
    }

    fn put(source: Source, params: Self::Params, dir: &Path) -> Result<Fetched> {
        let from = dir.join(params.from.ok_or_else(|| Error::invalid_config("put needs `from`: the path to copy, relative to the work directory"))?);
        fs::copy_tree(&from, &source.path)?;
        current(&source)
    }
}

pikoci_sdk::export_resource_type!(Fs, name = "fs", capabilities = ["read:{source.path}"]);
