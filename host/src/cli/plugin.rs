//! `pikoci plugin ...`: look into a component and call it by hand.

use super::Cli;
use crate::builtin;
use crate::runtime::{Capabilities, Capability, PluginEngine, TaskSpec, TerminalLog, Version};
use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Print a plugin's kind, WIT world, manifest and requested capabilities, without running it.
    Inspect {
        /// A component file or a built-in (`pikoci://fs`).
        plugin: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Call one operation of a plugin, for debugging; prints the result as JSON.
    ///
    /// Nothing is granted unless asked: add `--allow read:/dir`, `--allow run:git`, ...
    Call(CallArgs),
    /// List the plugins built into this binary.
    Builtins,
    /// Push a component to an OCI registry as a wasm artifact; prints the pushed digest.
    Publish {
        /// The component file.
        file: PathBuf,
        /// Where to push: `[oci://]HOST[:PORT]/REPO:TAG`.
        reference: String,
    },
    /// Download a plugin from a registry into the local cache.
    Pull {
        /// `oci://HOST[:PORT]/REPO:TAG` or `...@sha256:...`.
        reference: String,
    },
    /// List the plugins in the local cache.
    List,
    /// Add the `pikoci:manifest` section to a component built by a non-Rust toolchain.
    EmbedManifest(super::embed::EmbedArgs),
    /// Create a plugin project (Rust, Python or JavaScript) that builds and tests out of the box.
    New(super::scaffold::NewArgs),
}

#[derive(clap::Args)]
pub struct CallArgs {
    /// A component file or a built-in (`pikoci://fs`).
    plugin: String,
    operation: Operation,
    /// Resource `source` (check, get, put) or secret type config, as JSON.
    #[arg(long, default_value = "{}")]
    source: String,
    /// Step params (get, put, service calls), as JSON.
    #[arg(long, default_value = "{}")]
    params: String,
    /// The version to get, or the last known version for check, as JSON (`{"ref":"abc"}`).
    #[arg(long)]
    version: Option<String>,
    /// Directory for get/put (granted read-write automatically).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The task to run, for runners: JSON with path, args, env, dir, params.
    #[arg(long)]
    task: Option<String>,
    /// Service name (start) or state (ready, stop); secret path (secret).
    #[arg(long)]
    name: Option<String>,
    /// Secret key (secret).
    #[arg(long)]
    key: Option<String>,
    /// Grant a capability: read:DIR, write:DIR, net:HOST[:PORT], run:PROGRAM, env:NAME. Repeatable.
    #[arg(long = "allow", value_name = "CAPABILITY")]
    allow: Vec<String>,
    /// Shorthand for --allow read:DIR.
    #[arg(long, value_name = "DIR")]
    allow_read: Vec<PathBuf>,
    /// Shorthand for --allow write:DIR.
    #[arg(long, value_name = "DIR")]
    allow_write: Vec<PathBuf>,
    /// Wall-clock limit of the call, in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Memory limit, in MiB.
    #[arg(long, default_value_t = 256)]
    memory_limit: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Operation {
    Check,
    Get,
    Put,
    Run,
    Start,
    Ready,
    Stop,
    Secret,
}

pub async fn run(cli: &Cli, cmd: &PluginCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PluginCommand::Inspect { plugin, json } => inspect(cli, plugin, *json).await,
        PluginCommand::Publish { file, reference } => publish(cli, file, reference).await,
        PluginCommand::Pull { reference } => {
            let located = cli.locator().fetch(reference, None).await?;
            println!("{} {} ({}, {})", located.digest, located.origin, located.manifest.name, located.manifest.kind.interface());
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::List => list(cli),
        PluginCommand::EmbedManifest(args) => super::embed::run(args).await,
        PluginCommand::New(args) => super::scaffold::run(args).await,
        PluginCommand::Builtins => {
            for b in builtin::BUILTINS {
                let m = crate::runtime::PluginManifest::from_component(b.bytes, b.name)?;
                println!("pikoci://{:<8} {:<14} {}", b.name, m.kind.interface(), m.description.unwrap_or_default());
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Call(args) => call(cli, args).await,
    }
}

async fn inspect(cli: &Cli, address: &str, json: bool) -> anyhow::Result<ExitCode> {
    let located = cli.locator().fetch(address, None).await?;
    let (manifest, digest, bytes) = (located.manifest, located.digest, located.bytes);
    if json {
        let mut value = serde_json::to_value(&manifest)?;
        value["digest"] = digest.to_string().into();
        value["size"] = bytes.len().into();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("name:        {}", manifest.name);
    println!("version:     {}", manifest.version.as_deref().unwrap_or("(not declared)"));
    println!("kind:        {}", manifest.kind.interface());
    println!("world:       {}", manifest.world);
    println!("wit:         pikoci:plugin@{}", manifest.wit_version);
    if let Some(d) = &manifest.description {
        println!("description: {d}");
    }
    println!("digest:      {digest}");
    println!("size:        {} bytes", bytes.len());
    if manifest.requested_capabilities.is_empty() {
        println!("requests:    nothing");
    } else {
        println!("requests:");
        for cap in &manifest.requested_capabilities {
            println!("  - {cap}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_json(what: &str, text: &str) -> anyhow::Result<serde_json::Value> {
    serde_json::from_str(text).with_context(|| format!("--{what} is not valid JSON"))
}

fn absolute(path: &std::path::Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))
}

async fn call(cli: &Cli, args: &CallArgs) -> anyhow::Result<ExitCode> {
    let mut grants = Capabilities { timeout: Duration::from_secs(args.timeout), memory_limit: args.memory_limit * 1024 * 1024, ..Default::default() };
    for text in &args.allow {
        grants.grant(text.parse::<Capability>()?);
    }
    for dir in &args.allow_read {
        grants.grant(format!("read:{}", absolute(dir)?.display()).parse()?);
    }
    for dir in &args.allow_write {
        grants.grant(format!("write:{}", absolute(dir)?.display()).parse()?);
    }
    let dir = match &args.dir {
        Some(d) => {
            let d = absolute(d)?;
            std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
            grants.grant(format!("write:{}", d.display()).parse()?);
            Some(d.display().to_string())
        }
        None => None,
    };
    let need_dir = || dir.clone().context("this operation needs --dir");

    let located = cli.locator().fetch(&args.plugin, None).await?;
    let engine = PluginEngine::new(Some(&cli.cache_dir()))?;
    let plugin = engine.load(&located.origin, &located.bytes)?;
    let log: Arc<dyn crate::runtime::LogSink> = Arc::new(TerminalLog);
    let source = parse_json("source", &args.source)?;
    let params = parse_json("params", &args.params)?;
    let version: Option<Version> = args.version.as_deref().map(serde_json::from_str).transpose().context("--version is not a JSON object of strings")?;

    let output = match args.operation {
        Operation::Check => serde_json::to_value(plugin.check(&grants, log, &source, version.as_ref()).await?)?,
        Operation::Get => {
            let version = version.context("get needs --version")?;
            serde_json::to_value(plugin.get(&grants, log, &source, &version, &params, &need_dir()?).await?)?
        }
        Operation::Put => serde_json::to_value(plugin.put(&grants, log, &source, &params, &need_dir()?).await?)?,
        Operation::Run => {
            let task: TaskSpec = serde_json::from_str(args.task.as_deref().context("run needs --task")?).context("--task is not a task JSON object")?;
            let code = plugin.run(&grants, log, &task).await?;
            serde_json::json!({ "exit_code": code })
        }
        Operation::Start => serde_json::to_value(plugin.start(&grants, log, args.name.as_deref().unwrap_or("service"), &params).await?)?,
        Operation::Ready => serde_json::to_value(plugin.ready(&grants, log, args.name.as_deref().unwrap_or_default(), &params).await?)?,
        Operation::Stop => serde_json::to_value(plugin.stop(&grants, log, args.name.as_deref().unwrap_or_default(), &params).await?)?,
        Operation::Secret => {
            let path = args.name.as_deref().context("secret needs --name PATH")?;
            let key = args.key.as_deref().context("secret needs --key KEY")?;
            let found = plugin.get_secret(&grants, log, &source, path, key).await?;
            // Say whether it was found without printing the value itself.
            serde_json::json!({ "found": found.is_some(), "length": found.map(|v| v.len()) })
        }
    };
    println!("{}", serde_json::to_string_pretty(&output)?);
    Ok(ExitCode::SUCCESS)
}

/// The manifest as OCI annotations, so registries and `skopeo inspect` show what a plugin is.
fn annotations(manifest: &crate::runtime::PluginManifest) -> std::collections::BTreeMap<String, String> {
    let mut a = std::collections::BTreeMap::new();
    a.insert("org.opencontainers.image.title".to_string(), manifest.name.clone());
    if let Some(v) = &manifest.version {
        a.insert("org.opencontainers.image.version".to_string(), v.clone());
    }
    if let Some(d) = &manifest.description {
        a.insert("org.opencontainers.image.description".to_string(), d.clone());
    }
    a.insert("dev.pikoci.plugin.kind".to_string(), manifest.kind.interface().to_string());
    a.insert("dev.pikoci.plugin.wit".to_string(), format!("pikoci:plugin@{}", manifest.wit_version));
    a.insert("dev.pikoci.plugin.capabilities".to_string(), manifest.requested_capabilities.join(","));
    a
}

async fn publish(cli: &Cli, file: &std::path::Path, reference: &str) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let fallback = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let manifest = crate::runtime::PluginManifest::from_component(&bytes, &fallback).with_context(|| format!("{} is not a pikoci plugin", file.display()))?;
    let reference: pikoci_registry::Reference = reference.parse()?;
    let locator = cli.locator();
    let digest = locator.client().await?.publish(&bytes, &reference, annotations(&manifest)).await?;
    println!("oci://{}", reference.with_digest(digest));
    Ok(ExitCode::SUCCESS)
}

fn list(cli: &Cli) -> anyhow::Result<ExitCode> {
    let store = pikoci_registry::ComponentStore::open(cli.cache_dir())?;
    for stored in store.list()? {
        let bytes = store.get(&stored.digest)?.unwrap_or_default();
        match crate::runtime::PluginManifest::from_component(&bytes, "?") {
            Ok(m) => println!("{}  {:<20} {:<14} {} bytes", stored.digest, m.name, m.kind.interface(), stored.size),
            Err(e) => println!("{}  (unusable: {e})", stored.digest),
        }
    }
    Ok(ExitCode::SUCCESS)
}
