//! `pikoci plugin embed-manifest`: give a component its `pikoci:manifest` section.
//!
//! The Rust SDK's export macros write the section; componentize-py, componentize-js and
//! `wasm-tools component new` cannot, so plugins built with them get it here, after the build.

use crate::runtime::manifest::{append_manifest_section, PluginManifest, MANIFEST_SECTION};
use anyhow::{bail, Context};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct EmbedArgs {
    /// The component, as the language's toolchain built it.
    pub input: PathBuf,
    /// The plugin's name, as `pikoci plugin inspect` and pipelines' errors show it.
    #[arg(long)]
    pub name: String,
    /// The plugin's own version (not the WIT package's).
    #[arg(long)]
    pub version: String,
    /// One line saying what the plugin does.
    #[arg(long)]
    pub description: Option<String>,
    /// A capability the plugin asks for (`read:{source.path}`, `run:git`...). Repeatable.
    #[arg(long = "capability", value_name = "CAPABILITY")]
    pub capabilities: Vec<String>,
    /// Where to write the component with its manifest (may be the input itself).
    #[arg(short, long)]
    pub output: PathBuf,
}

/// The capability kinds a manifest may request; the rest of each text may hold `{source.FIELD}`
/// placeholders, so it is checked when a pipeline grants it, not here.
const CAPABILITY_KINDS: &[&str] = &["read:", "write:", "net:", "run:", "env:"];

pub async fn run(args: &EmbedArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.input).with_context(|| format!("cannot read {}", args.input.display()))?;
    let out = embed(&bytes, args).with_context(|| format!("{} cannot carry a pikoci manifest", args.input.display()))?;
    std::fs::write(&args.output, out).with_context(|| format!("cannot write {}", args.output.display()))?;
    Ok(ExitCode::SUCCESS)
}

/// The component with a manifest section appended, after checking that it is a pikoci plugin
/// that has none yet (the host reads the first section, so a second would silently be ignored).
pub fn embed(component: &[u8], args: &EmbedArgs) -> anyhow::Result<Vec<u8>> {
    let before = PluginManifest::from_component(component, "")?;
    if before.version.is_some() || !before.name.is_empty() {
        bail!("it already has a `{MANIFEST_SECTION}` section (name={}); build it again from source", before.name);
    }
    for cap in &args.capabilities {
        if !CAPABILITY_KINDS.iter().any(|kind| cap.starts_with(kind)) {
            bail!("capability `{cap}` must start with one of {}", CAPABILITY_KINDS.join(", "));
        }
    }
    for (key, value) in [("name", &args.name), ("version", &args.version)] {
        if value.trim().is_empty() || value.contains('\n') {
            bail!("--{key} must be one non-empty line");
        }
    }
    let mut text = format!("name={}\nversion={}\nkind={}\nwit=pikoci:plugin@{}\n", args.name, args.version, before.kind.interface(), before.wit_version);
    if let Some(d) = &args.description {
        text.push_str(&format!("description={}\n", d.replace('\n', " ")));
    }
    for cap in &args.capabilities {
        text.push_str(&format!("capability={cap}\n"));
    }
    let out = append_manifest_section(component, &text);
    // Read it back the way the host will, so a mistake shows here rather than at load time.
    let after = PluginManifest::from_component(&out, "")?;
    anyhow::ensure!(after.name == args.name, "the appended manifest does not read back");
    Ok(out)
}
