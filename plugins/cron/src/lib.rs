//! `pikoci://cron`: time as a resource.
//!
//! Every check yields a new version, the current time, so a job that gets this resource with
//! `trigger = true` runs on the resource's `check_interval` (`@every 1h`, or a cron expression):
//! the schedule lives in the pipeline, not here.

use pikoci_sdk::{Error, Fetched, NoParams, ResourceType, Result, Version};
use std::path::Path;
use std::time::SystemTime;

struct Cron;

impl ResourceType for Cron {
    type Source = NoParams;
    type Params = NoParams;

    fn check(_source: NoParams, _last: Option<Version>) -> Result<Vec<Version>> {
        let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        Ok(vec![Version::new().with("time", now)])
    }

    /// Nothing to fetch: the time is in the version, which steps see as `$version_time`.
    fn get(_source: NoParams, version: Version, _params: NoParams, _dir: &Path) -> Result<Fetched> {
        Ok(Fetched::new(version))
    }

    fn put(_source: NoParams, _params: NoParams, _dir: &Path) -> Result<Fetched> {
        Err(Error::failed("cron resources cannot be put: time moves on by itself"))
    }
}

pikoci_sdk::export_resource_type!(Cron, name = "cron");
