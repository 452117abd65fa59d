//! Values a step hands to the steps after it, under PikoCI's names: a task writes `KEY=VALUE`
//! lines to the file `$PIKOCI_OUTPUT` names, later steps see `TASK_<STEP>_<KEY>`; a get's version
//! and metadata become `GET_<RESOURCE>_<KEY>` and `GET_<RESOURCE>_METADATA_<NAME>`.

use crate::runtime::Fetched;
use std::path::{Path, PathBuf};

/// A larger file is not read (PikoCI's limit): outputs are values, not artifacts.
pub const MAX_OUTPUT_FILE: u64 = 1024 * 1024;

/// The environment variable holding the output file's path.
pub const OUTPUT_VARIABLE: &str = "PIKOCI_OUTPUT";

/// `name` as part of an environment variable name: upper case, anything but A-Z and 0-9 made `_`.
pub fn env_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// The prefix of a task's outputs, `TASK_<STEP>`.
pub fn task_prefix(task: &str) -> String {
    format!("TASK_{}", env_name(task))
}

/// The variables a fetched version gives the steps after its get.
pub fn get_exports(resource: &str, fetched: &Fetched) -> Vec<(String, String)> {
    let prefix = format!("GET_{}", env_name(resource));
    let version = fetched.version.0.iter().map(|(k, v)| (format!("{prefix}_{}", env_name(k)), v.clone()));
    let metadata = fetched.metadata.iter().map(|(k, v)| (format!("{prefix}_METADATA_{}", env_name(k)), v.clone()));
    version.chain(metadata).collect()
}

/// The empty file a task may write its outputs to, in the build's work directory (which every
/// runner can write, and the docker runner mounts), removed when dropped.
pub struct OutputFile(PathBuf);

impl OutputFile {
    pub fn create(workdir: &Path) -> std::io::Result<OutputFile> {
        let file = tempfile::Builder::new().prefix(".pikoci-output-").tempfile_in(workdir)?;
        let (_, path) = file.keep().map_err(|e| e.error)?;
        Ok(OutputFile(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// The file's values under `prefix`, and what was wrong with the lines left out.
    pub fn read(&self, prefix: &str) -> (Vec<(String, String)>, Vec<String>) {
        match std::fs::metadata(&self.0) {
            Ok(m) if m.len() > MAX_OUTPUT_FILE => {
                return (Vec::new(), vec![format!("${OUTPUT_VARIABLE} is {} bytes, over the {MAX_OUTPUT_FILE} read; its values are ignored", m.len())])
            }
            Ok(_) => {}
            // The task removed it: it had nothing to say.
            Err(_) => return (Vec::new(), Vec::new()),
        }
        match std::fs::read(&self.0) {
            Ok(bytes) => {
                let (values, problems) = parse(&String::from_utf8_lossy(&bytes));
                (values.into_iter().map(|(k, v)| (format!("{prefix}_{}", env_name(&k)), v)).collect(), problems)
            }
            Err(e) => (Vec::new(), vec![format!("cannot read ${OUTPUT_VARIABLE}: {e}")]),
        }
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `KEY=VALUE` lines, each trimmed; blank lines and `#` comments skipped; the value is what
/// follows the first `=`, as written (no quoting).
pub fn parse(text: &str) -> (Vec<(String, String)>, Vec<String>) {
    let (mut values, mut problems) = (Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => values.push((key.trim().to_string(), value.trim().to_string())),
            _ => problems.push(format!("${OUTPUT_VARIABLE} line {} is not KEY=VALUE; ignored", n + 1)),
        }
    }
    (values, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Version;

    #[test]
    fn lines_become_values_and_bad_lines_are_named() {
        let (values, problems) = parse("version=1.2.3\n\n# a comment\n  image = app:1.2.3 \nurl=https://x/?a=b\nnot a pair\n=nokey\n");
        assert_eq!(values, [("version".into(), "1.2.3".into()), ("image".into(), "app:1.2.3".into()), ("url".into(), "https://x/?a=b".into())]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("line 6"), "{problems:?}");
    }

    #[test]
    fn names_are_made_fit_for_the_environment() {
        assert_eq!(task_prefix("my-build.step"), "TASK_MY_BUILD_STEP");
        let fetched = Fetched {
            version: Version([("ref".to_string(), "abc".to_string())].into_iter().collect()),
            metadata: vec![("commit-message".into(), "hi".into())],
        };
        assert_eq!(get_exports("my-repo", &fetched), [("GET_MY_REPO_REF".into(), "abc".into()), ("GET_MY_REPO_METADATA_COMMIT_MESSAGE".into(), "hi".into())]);
    }

    #[test]
    fn an_oversized_or_missing_file_gives_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = OutputFile::create(dir.path()).unwrap();
        std::fs::write(file.path(), "a=1\n".repeat(300_000)).unwrap();
        let (values, problems) = file.read("TASK_T");
        assert!(values.is_empty() && problems[0].contains("over the"), "{problems:?}");
        std::fs::remove_file(file.path()).unwrap();
        assert_eq!(file.read("TASK_T"), (Vec::new(), Vec::new()));
        let path = file.path().to_path_buf();
        std::fs::write(&path, "a=1").unwrap();
        drop(file);
        assert!(!path.exists(), "removed when done");
    }
}
