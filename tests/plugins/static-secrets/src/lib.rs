//! A secret type whose configuration is `{"secrets": {PATH: {KEY: VALUE}}}`, so tests can resolve
//! secrets through a real secret plugin with nothing outside the test.
use pikoci_sdk::{Result, SecretType};
use std::collections::BTreeMap;

#[derive(serde::Deserialize)]
struct Config {
    secrets: BTreeMap<String, BTreeMap<String, String>>,
}

struct StaticSecrets;

impl SecretType for StaticSecrets {
    type Config = Config;

    fn get(config: Config, path: &str, key: &str) -> Result<Option<String>> {
        Ok(config.secrets.get(path).and_then(|keys| keys.get(key)).cloned())
    }
}

pikoci_sdk::export_secret_type!(StaticSecrets, name = "static-secrets");
