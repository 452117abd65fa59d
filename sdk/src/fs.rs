//! Files in the directories the pipeline granted, with errors that name the path and tell a
//! refusal by the sandbox apart from an ordinary failure.

use crate::{Error, Result};
use std::path::{Path, PathBuf};

pub fn read(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    std::fs::read(path).map_err(|e| Error::io("read", path, e))
}

pub fn read_to_string(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))
}

pub fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, contents).map_err(|e| Error::io("write", path, e))
}

pub fn create_dir_all(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    std::fs::create_dir_all(path).map_err(|e| Error::io("create directory", path, e))
}

pub fn metadata(path: impl AsRef<Path>) -> Result<std::fs::Metadata> {
    let path = path.as_ref();
    std::fs::metadata(path).map_err(|e| Error::io("read", path, e))
}

/// The entries of a directory, sorted by name so that anything derived from them is stable.
pub fn read_dir_sorted(path: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let path = path.as_ref();
    let mut entries = std::fs::read_dir(path)
        .map_err(|e| Error::io("list", path, e))?
        .map(|entry| entry.map(|e| e.path()).map_err(|e| Error::io("list", path, e)))
        .collect::<Result<Vec<_>>>()?;
    entries.sort();
    Ok(entries)
}

/// Every regular file under `root` (or `root` itself if it is a file), sorted, recursively.
pub fn walk_files(root: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let root = root.as_ref();
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        if metadata(&path)?.is_dir() {
            let mut children = read_dir_sorted(&path)?;
            children.reverse();
            pending.extend(children);
        } else {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Copy a file or a directory tree from `from` to `to`.
pub fn copy_tree(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    if !metadata(from)?.is_dir() {
        if let Some(parent) = to.parent() {
            create_dir_all(parent)?;
        }
        return write(to, read(from)?);
    }
    for file in walk_files(from)? {
        let relative = file.strip_prefix(from).expect("walk_files stays under its root");
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            create_dir_all(parent)?;
        }
        write(&target, read(&file)?)?;
    }
    Ok(())
}
