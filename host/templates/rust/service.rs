//! {{name}}: a pikoci service type. `start` hands the job's later steps `{NAME}_URL` from
//! `params.url`; a real one would start a process (`process::Command::spawn` then `detach`).
use pikoci_sdk::{Error, Result, ServiceType, Started};

#[derive(serde::Deserialize)]
struct Params {
    url: Option<String>,
}

/// The variable a service named `name` exports; pure logic, so it is tested without a sandbox.
fn variable_for(name: &str) -> String {
    format!("{}_URL", name.to_uppercase().replace(|c: char| !c.is_ascii_alphanumeric(), "_"))
}

struct Plugin;

impl ServiceType for Plugin {
    type Params = Params;

    fn start(name: &str, params: Params) -> Result<Started> {
        let url = params.url.ok_or_else(|| Error::invalid_config("params.url: expected the service's URL"))?;
        Ok(Started { state: name.to_string(), exports: vec![(variable_for(name), url)] })
    }

    fn ready(_state: &str, _params: Params) -> Result<bool> {
        Ok(true)
    }

    fn stop(_state: &str, _params: Params) -> Result<()> {
        Ok(())
    }
}

pikoci_sdk::export_service_type!(Plugin, name = "{{name}}");

#[cfg(test)]
mod tests {
    #[test]
    fn the_variable_is_the_upper_case_name() {
        assert_eq!(super::variable_for("my-db"), "MY_DB_URL");
    }
}
