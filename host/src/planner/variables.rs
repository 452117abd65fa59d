//! Pipeline variables: values from `--var`/`--vars`, else a secret (as a placeholder the executor
//! resolves per step), else the default; anything else is an error that says how to give one.

use super::body::{self, LoadResult, Place};
use crate::executor::secret_placeholder;
use hcl::eval::Context;
use hcl::Body;
pub use pikoci_pipeline::VarValues;

/// A variable backed by a secret type.
pub struct SecretDecl {
    pub name: String,
    pub secret_type: String,
    pub path: String,
    pub key: String,
}

pub fn evaluate(body: &Body, given: &VarValues) -> LoadResult<(Context<'static>, Vec<SecretDecl>)> {
    let mut values = hcl::Map::new();
    let mut secrets = Vec::new();
    let plain_ctx = Context::new();
    for block in body.blocks().filter(|b| b.identifier.as_str() == "variable") {
        let place = Place::default().child(block);
        let name = block.labels.first().map(|l| l.as_str().to_string()).ok_or_else(|| format!("{place}: a variable needs a name label"))?;
        let value = if let Some(v) = given.get(&name) {
            hcl::to_value(v).map_err(|e| format!("{place}: {e}"))?
        } else if let Some(secret) = body::block(&block.body, "secret") {
            let secret_place = place.child(secret);
            let secret_type = secret.labels.first().map(|l| l.as_str().to_string()).ok_or_else(|| format!("{secret_place}: name the secret type: secret \"TYPE\" {{ ... }}"))?;
            let path = body::string_attr(&secret.body, &plain_ctx, &secret_place, "path")?.unwrap_or_default();
            let key = body::string_attr(&secret.body, &plain_ctx, &secret_place, "key")?.ok_or_else(|| format!("{secret_place}: `key` is required"))?;
            secrets.push(SecretDecl { name: name.clone(), secret_type, path, key });
            hcl::Value::String(secret_placeholder(&name))
        } else if let Some(default) = block.body.attributes().find(|a| a.key.as_str() == "default") {
            hcl::to_value(body::evaluate(&default.expr, &plain_ctx, &place, "default")?).map_err(|e| format!("{place}: {e}"))?
        } else {
            return Err(format!("{place}: variable `{name}` has no value: pass --var {name}=VALUE, put it in the --vars file, or give it a default"));
        };
        values.insert(name, value);
    }
    let mut ctx = Context::new();
    ctx.declare_var("var", hcl::Value::Object(values));
    Ok((ctx, secrets))
}
