//! A complete resource type on the SDK: a counter kept in a file.
use pikoci_sdk::{fs, Error, Fetched, NoParams, ResourceType, Result, Version};
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
struct Source {
    file: PathBuf,
}

struct Counter;

impl ResourceType for Counter {
    type Source = Source;
    type Params = NoParams;

    fn check(source: Source, _last: Option<Version>) -> Result<Vec<Version>> {
        let count = fs::read_to_string(&source.file)?;
        Ok(vec![Version::new().with("count", count.trim())])
    }

    fn get(_source: Source, version: Version, _params: NoParams, dir: &Path) -> Result<Fetched> {
        fs::write(dir.join("count"), version.field("count").unwrap_or("0"))?;
        Ok(Fetched::new(version).with_metadata("note", "fetched by the counter"))
    }

    fn put(source: Source, _params: NoParams, _dir: &Path) -> Result<Fetched> {
        let count: u64 = fs::read_to_string(&source.file)?.trim().parse().map_err(Error::failed)?;
        fs::write(&source.file, (count + 1).to_string())?;
        Ok(Fetched::new(Version::new().with("count", (count + 1).to_string())))
    }
}

pikoci_sdk::export_resource_type!(Counter, capabilities = ["write:{source.file}"]);
