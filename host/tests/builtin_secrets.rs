//! The built-in secret types `env`, `file` and `vault`, called with the grants their manifests
//! request; Vault is a loopback HTTP server that answers as Vault's KV v2 API does.

mod support;

use pikoci::executor::grants::CallValues;
use pikoci::runtime::CallError;
use serde_json::{json, Value};
use support::builtins::{bound, call_grants};
use support::http_standin::HttpStandIn;

/// Look a secret up as the executor does: grants from the manifest, resolved for this lookup.
async fn lookup(name: &str, config: &Value, path: &str, key: &str) -> (Result<Option<String>, CallError>, String) {
    let plugin = bound(name);
    let values = CallValues { source: Some(config), secret_path: Some(path), secret_key: Some(key), ..Default::default() };
    let grants = call_grants(&plugin, &values, &[]);
    let (log, sink) = support::log();
    let result = plugin.plugin.get_secret(&grants, sink, config, path, key).await;
    (result, log.text())
}

#[tokio::test]
async fn env_reads_the_one_variable_it_names() {
    let (value, log) = lookup("env", &json!({}), "", "PATH").await;
    assert_eq!(value.unwrap(), Some(std::env::var("PATH").unwrap()));
    assert!(log.is_empty(), "nothing is logged: {log}");
    let (missing, _) = lookup("env", &json!({}), "", "PIKOCI_TEST_SURELY_UNSET").await;
    assert_eq!(missing.unwrap(), None);
}

#[tokio::test]
async fn file_reads_json_and_env_files() {
    let dir = tempfile::tempdir().unwrap();
    let json_file = dir.path().join("db.json");
    std::fs::write(&json_file, r#"{"password": "j-s3cret", "port": 5432}"#).unwrap();
    let env_file = dir.path().join("db.env");
    std::fs::write(&env_file, "# creds\nDB_PASSWORD=\"e-s3cret\"\n").unwrap();

    let (v, log) = lookup("file", &json!({}), json_file.to_str().unwrap(), "password").await;
    assert_eq!(v.unwrap().as_deref(), Some("j-s3cret"));
    assert!(!log.contains("s3cret"), "{log}");
    let (v, _) = lookup("file", &json!({"path": json_file}), "", "port").await;
    assert_eq!(v.unwrap().as_deref(), Some("5432"));
    let (v, _) = lookup("file", &json!({}), env_file.to_str().unwrap(), "DB_PASSWORD").await;
    assert_eq!(v.unwrap().as_deref(), Some("e-s3cret"));
}

/// A loopback stand-in for Vault's KV v2 read API: `GET /v1/<mount>/data/<path>` with
/// `X-Vault-Token`, answering 200 with `{"data": {"data": ..., "metadata": ...}}`, 403 for a
/// wrong token and 404 for an unknown secret, as Vault does.
struct FakeVault {
    address: String,
    server: HttpStandIn,
}

const VAULT_TOKEN: &str = "hvs.test-token-4f9c2a";

impl FakeVault {
    fn start(secrets: Value) -> Self {
        let server = HttpStandIn::start(move |request| {
            if request.header("x-vault-token") != Some(VAULT_TOKEN) {
                return (403, json!({"errors": ["permission denied"]}));
            }
            let found = request.path.strip_prefix("/v1/").and_then(|p| p.split_once("/data/")).and_then(|(mount, name)| secrets.get(mount)?.get(name).cloned());
            match found {
                Some(data) => (200, json!({"request_id": "x", "data": {"data": data, "metadata": {"version": 1}}})),
                None => (404, json!({"errors": []})),
            }
        });
        FakeVault { address: server.address.clone(), server }
    }

    fn requests(&self) -> Vec<String> {
        self.server.received().into_iter().map(|r| r.path).collect()
    }
}

fn vault_config(vault: &FakeVault, token: &str) -> Value {
    json!({"address": vault.address, "token": token})
}

#[tokio::test]
async fn vault_reads_kv2_secrets_with_the_token_and_never_logs_them() {
    let vault = FakeVault::start(json!({"secret": {"db": {"password": "v-s3cret-pw", "port": 5432}}, "kv": {"team/app": {"key": "k-9"}}}));
    let config = vault_config(&vault, VAULT_TOKEN);

    // PikoCI's API-path form, the CLI's form, and a path under an explicit mount.
    let (v, log) = lookup("vault", &config, "secret/data/db", "password").await;
    assert_eq!(v.unwrap().as_deref(), Some("v-s3cret-pw"));
    assert!(!log.contains("v-s3cret-pw") && !log.contains(VAULT_TOKEN), "{log}");
    let (v, _) = lookup("vault", &config, "secret/db", "port").await;
    assert_eq!(v.unwrap().as_deref(), Some("5432"));
    let mounted = json!({"address": vault.address, "token": VAULT_TOKEN, "mount": "kv"});
    let (v, _) = lookup("vault", &mounted, "team/app", "key").await;
    assert_eq!(v.unwrap().as_deref(), Some("k-9"));
    assert_eq!(vault.requests(), ["/v1/secret/data/db", "/v1/secret/data/db", "/v1/kv/data/team/app"]);

    // Absent key and absent secret are `none`, which the executor reports by name.
    let (v, _) = lookup("vault", &config, "secret/data/db", "nope").await;
    assert_eq!(v.unwrap(), None);
    let (v, _) = lookup("vault", &config, "secret/data/other", "password").await;
    assert_eq!(v.unwrap(), None);
}

#[tokio::test]
async fn vault_with_a_wrong_token_fails_without_showing_it() {
    let vault = FakeVault::start(json!({"secret": {"db": {"password": "x"}}}));
    let wrong = "hvs.wrong-token-77aa";
    let (result, log) = lookup("vault", &vault_config(&vault, wrong), "secret/data/db", "password").await;
    let err = result.unwrap_err().to_string();
    assert!(err.contains("403") && err.contains("permission denied"), "{err}");
    assert!(!err.contains(wrong) && !log.contains(wrong), "{err}\n{log}");
}

#[tokio::test]
async fn vault_reaches_only_the_granted_address() {
    let vault = FakeVault::start(json!({}));
    let config = vault_config(&vault, VAULT_TOKEN);
    let (_, sink) = support::log();
    // No manifest grants: the request is refused before it leaves the sandbox.
    let err = support::builtin("vault").get_secret(&support::grants(&[]), sink, &config, "secret/data/db", "k").await.unwrap_err();
    assert!(matches!(err, CallError::Denied { .. }), "{err}");
    assert!(vault.requests().is_empty());
}

#[tokio::test]
async fn vault_names_a_bad_field() {
    let (result, _) = lookup("vault", &json!({"address": "http://127.0.0.1:1", "tokn": "x"}), "secret/data/db", "k").await;
    let err = result.unwrap_err().to_string();
    assert!(err.contains("tokn") || err.contains("token"), "{err}");
    let (result, _) = lookup("vault", &json!({"address": "vault:8200", "token": "x"}), "secret/data/db", "k").await;
    assert!(result.unwrap_err().to_string().contains("address"));
}
