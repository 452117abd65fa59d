//! `pikoci://env`: a secret is a worker's environment variable, named by the variable's `key`
//! (`secret "env" { key = "VAULT_ADDR" }`). The plugin sees that one variable and no other.

use pikoci_sdk::{NoParams, Result, SecretType};

struct Env;

impl SecretType for Env {
    type Config = NoParams;

    fn get(_config: NoParams, _path: &str, key: &str) -> Result<Option<String>> {
        Ok(std::env::var(key).ok())
    }
}

pikoci_sdk::export_secret_type!(Env, name = "env", capabilities = ["env:{secret.key}"]);
