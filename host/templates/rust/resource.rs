//! {{name}}: a pikoci resource type. A version is the text of `source.file`; `get` writes it to
//! `DIR/value`, `put` writes `params.value` into the file.
use pikoci_sdk::{fs, Error, Fetched, ResourceType, Result, Version};
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
struct Source {
    file: PathBuf,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct Params {
    value: Option<String>,
}

/// The version a file's text stands for; pure logic, so it is tested without a sandbox.
fn version_of(text: &str) -> Version {
    Version::new().with("value", text.trim())
}

struct Plugin;

impl ResourceType for Plugin {
    type Source = Source;
    type Params = Params;

    fn check(source: Source, _last: Option<Version>) -> Result<Vec<Version>> {
        Ok(vec![version_of(&fs::read_to_string(&source.file)?)])
    }

    fn get(_source: Source, version: Version, _params: Params, dir: &Path) -> Result<Fetched> {
        fs::write(dir.join("value"), version.field("value").unwrap_or_default())?;
        Ok(Fetched::new(version))
    }

    fn put(source: Source, params: Params, _dir: &Path) -> Result<Fetched> {
        let value = params.value.ok_or_else(|| Error::invalid_config("params.value: expected the text to write"))?;
        fs::write(&source.file, &value)?;
        Ok(Fetched::new(version_of(&value)))
    }
}

pikoci_sdk::export_resource_type!(Plugin, name = "{{name}}", capabilities = ["write:{source.file}"]);

#[cfg(test)]
mod tests {
    #[test]
    fn a_version_is_the_trimmed_text() {
        assert_eq!(super::version_of(" 42\n").field("value"), Some("42"));
    }
}
