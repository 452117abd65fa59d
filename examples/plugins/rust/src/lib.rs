//! A pikoci resource type in Rust: a counter kept in a file.
//!
//! check reads the number in `source.file`, get writes a version's number to `DIR/count`, put
//! adds one to the file. The SDK's `fs` turns a sandbox refusal into `capability-denied`.
use pikoci_sdk::{fs, Error, Fetched, NoParams, ResourceType, Result, Version};
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
struct Source {
    file: PathBuf,
}

struct Counter;

fn read_count(file: &Path) -> Result<u64> {
    let text = fs::read_to_string(file)?;
    text.trim().parse().map_err(|_| Error::failed(format!("{} does not hold a count: {:?}", file.display(), text.trim())))
}

impl ResourceType for Counter {
    type Source = Source;
    type Params = NoParams;

    fn check(source: Source, _last: Option<Version>) -> Result<Vec<Version>> {
        Ok(vec![Version::new().with("count", read_count(&source.file)?.to_string())])
    }

    fn get(_source: Source, version: Version, _params: NoParams, dir: &Path) -> Result<Fetched> {
        fs::write(dir.join("count"), version.field("count").unwrap_or("0"))?;
        Ok(Fetched::new(version).with_metadata("language", "rust"))
    }

    fn put(source: Source, _params: NoParams, _dir: &Path) -> Result<Fetched> {
        let count = read_count(&source.file)? + 1;
        fs::write(&source.file, count.to_string())?;
        Ok(Fetched::new(Version::new().with("count", count.to_string())))
    }
}

pikoci_sdk::export_resource_type!(Counter, name = "counter-rust", capabilities = ["write:{source.file}"]);
