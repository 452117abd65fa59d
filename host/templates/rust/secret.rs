//! {{name}}: a pikoci secret type. The secret `path`/`key` is the file `config.dir/PATH/KEY`.
use pikoci_sdk::{fs, Error, Result, SecretType};
use std::path::PathBuf;

#[derive(serde::Deserialize)]
struct Config {
    dir: PathBuf,
}

/// Where a secret lives; refuses names that would leave `dir`. Pure logic, tested without a sandbox.
fn secret_file(dir: &std::path::Path, path: &str, key: &str) -> Result<PathBuf> {
    let parts = path.split('/').chain([key]);
    let mut file = dir.to_path_buf();
    for part in parts.filter(|p| !p.is_empty()) {
        if part == ".." || part == "." {
            return Err(Error::invalid_config(format!("secret name `{path}/{key}` may not contain `{part}`")));
        }
        file.push(part);
    }
    Ok(file)
}

struct Plugin;

impl SecretType for Plugin {
    type Config = Config;

    fn get(config: Config, path: &str, key: &str) -> Result<Option<String>> {
        let file = secret_file(&config.dir, path, key)?;
        if fs::metadata(&file).is_err() {
            return Ok(None);
        }
        Ok(Some(fs::read_to_string(&file)?.trim_end().to_string()))
    }
}

// A pipeline grants the directory: `allow { read = ["/srv/secrets"] }`-style, `read:DIR`.
pikoci_sdk::export_secret_type!(Plugin, name = "{{name}}");

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn a_secret_is_a_file_under_dir_and_cannot_escape_it() {
        assert_eq!(super::secret_file(Path::new("/s"), "ci/db", "password").unwrap(), Path::new("/s/ci/db/password"));
        assert!(super::secret_file(Path::new("/s"), "../etc", "passwd").is_err());
    }
}
