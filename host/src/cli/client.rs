//! `pikoci client`: the server's API from the command line, with PikoCI's verbs and flags
//! (its docs/CLI.md), plus `builds logs -f` to follow a build live.
//!
//! PikoCI spells some flags with two-letter single dashes (`-tc`, `-pn`, `-jn`), which clap
//! cannot declare; [`expand_short_flags`] rewrites them to their long forms before parsing.

mod http;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use http::{seg, Api};
use reqwest::Method;
use serde_json::{json, Value};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Clone)]
pub struct ClientArgs {
    /// The pikoci server (`localhost:8080` or a full URL). Default: the one you logged in to.
    #[arg(short = 'u', long, env = "PIKOCI_URL")]
    url: Option<String>,
    /// API token to use instead of the one `login` saved.
    #[arg(long = "jwt", visible_alias = "token", env = "PIKOCI_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Where `login` saves the server and token. Default: $XDG_CONFIG_HOME/pikoci/client.json.
    #[arg(long, env = "PIKOCI_CLIENT_CONFIG")]
    client_config: Option<PathBuf>,
    #[command(subcommand)]
    command: ClientCommand,
}

#[derive(Subcommand, Clone)]
enum ClientCommand {
    /// Log in with a password; the token is saved (mode 0600) for the next commands.
    Login {
        #[arg(short, long)]
        username: String,
        /// Prefer PIKOCI_PASSWORD, which stays out of shell history.
        #[arg(short, long, env = "PIKOCI_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Set, read and delete pipelines.
    Pipelines {
        #[arg(long = "team-canonical", short = 't', default_value = "main", global = true)]
        team: String,
        #[command(subcommand)]
        command: PipelineCommand,
    },
    /// Read and trigger jobs.
    Jobs {
        #[command(flatten)]
        at: PipelineAt,
        #[command(subcommand)]
        command: JobCommand,
    },
    /// List, read, follow, cancel and retry builds.
    Builds {
        #[command(subcommand)]
        command: BuildCommand,
    },
    /// Resources: their checks, versions, pins and webhooks.
    Resources {
        #[command(flatten)]
        at: PipelineAt,
        #[command(subcommand)]
        command: ResourceCommand,
    },
    /// Teams and their members.
    Teams {
        #[command(subcommand)]
        command: TeamCommand,
    },
    /// Users (admins only).
    Users {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The workers running builds, and what each runs now.
    Workers {
        #[command(subcommand)]
        command: WorkerCommand,
    },
    /// The server's whole state (admins only) as an SQLite file that `pikoci server --db-system
    /// sqlite --db-name FILE` starts from.
    Export {
        /// The file to write; it is replaced if it exists.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Your API tokens, for scripts.
    #[command(name = "api-tokens")]
    ApiTokens {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Args, Clone)]
struct PipelineAt {
    #[arg(long = "team-canonical", short = 't', default_value = "main", global = true)]
    team: String,
    #[arg(long = "pipeline-name", short = 'p', global = true)]
    pipeline: Option<String>,
}

impl PipelineAt {
    fn path(&self) -> anyhow::Result<String> {
        let Some(p) = &self.pipeline else { bail!("which pipeline? pass --pipeline-name (-pn)") };
        Ok(format!("/api/v1/teams/{}/pipelines/{}", seg(&self.team), seg(p)))
    }
}

#[derive(Args, Clone)]
struct PipelineName {
    /// The pipeline's name.
    #[arg(short = 'n', long = "name", alias = "pipeline-name")]
    name: String,
}

#[derive(Subcommand, Clone)]
enum PipelineCommand {
    /// Set a new pipeline (refused if it exists: use update).
    Create(SetPipelineArgs),
    /// Set an existing pipeline's new configuration.
    Update(SetPipelineArgs),
    List,
    /// Its state and configuration, as JSON.
    Get(PipelineName),
    /// Its jobs and resources as a DOT graph (`| dot -Tsvg > pipeline.svg`).
    Graph {
        #[command(flatten)]
        name: PipelineName,
        #[arg(short, long, default_value = "dot", value_parser = ["dot"])]
        format: String,
    },
    Delete(PipelineName),
    Pause(PipelineName),
    Unpause(PipelineName),
    /// Make it readable without logging in.
    Expose(PipelineName),
    Hide(PipelineName),
}

#[derive(Args, Clone)]
struct SetPipelineArgs {
    #[command(flatten)]
    name: PipelineName,
    /// The pipeline's HCL file.
    #[arg(short, long)]
    config: PathBuf,
    /// A JSON file of variable values.
    #[arg(short, long)]
    vars: Option<PathBuf>,
    /// Also make it public (readable without logging in).
    #[arg(long)]
    public: bool,
}

#[derive(Args, Clone)]
struct JobName {
    #[arg(short = 'n', long = "job-name", alias = "name")]
    job: String,
}

#[derive(Subcommand, Clone)]
enum JobCommand {
    /// The job with its latest build, as JSON.
    Get(JobName),
    /// Start a build now; prints it (with -f, follows its log to the end).
    Trigger {
        #[command(flatten)]
        job: JobName,
        #[arg(short, long)]
        follow: bool,
        /// A value for one of the job's `input` blocks: NAME=VALUE. Repeatable.
        #[arg(long = "input", value_name = "NAME=VALUE")]
        inputs: Vec<String>,
    },
    List,
    Pause(JobName),
    Unpause(JobName),
}

/// A build: its id, or its job's coordinates and its number.
#[derive(Args, Clone)]
struct BuildRef {
    /// The build's id (as `builds list` shows it).
    id: Option<i64>,
    #[command(flatten)]
    at: PipelineAt,
    #[arg(long = "job-name", short = 'j')]
    job: Option<String>,
    #[arg(long = "build-number", short = 'b')]
    number: Option<i64>,
}

impl BuildRef {
    async fn id(&self, api: &Api) -> anyhow::Result<i64> {
        if let Some(id) = self.id {
            return Ok(id);
        }
        let (Some(job), Some(number)) = (&self.job, self.number) else { bail!("which build? give its id, or --pipeline-name, --job-name and --build-number") };
        let b = api.get(&format!("{}/jobs/{}/builds/{number}", self.at.path()?, seg(job))).await?;
        b["id"].as_i64().context("the server's build has no id")
    }
}

#[derive(Subcommand, Clone)]
enum BuildCommand {
    /// A job's builds (with --job-name) or the whole pipeline's, newest first.
    List {
        #[command(flatten)]
        at: PipelineAt,
        #[arg(long = "job-name", short = 'j')]
        job: Option<String>,
    },
    /// The build, with the versions it used, as JSON.
    Get(BuildRef),
    /// The build's log; with -f, live until the build ends (exit status 1 unless it succeeded).
    Logs {
        #[command(flatten)]
        build: BuildRef,
        #[arg(short, long)]
        follow: bool,
    },
    Cancel(BuildRef),
    /// Run it again with the same versions.
    Retry(BuildRef),
}

#[derive(Args, Clone)]
struct ResourceName {
    #[arg(long = "resource-canonical", short = 'r', alias = "name")]
    resource: String,
}

#[derive(Subcommand, Clone)]
enum ResourceCommand {
    /// The resource and how its checks go, as JSON.
    Get(ResourceName),
    List,
    /// Check it now.
    Trigger(ResourceName),
    /// Its versions, newest first.
    Versions {
        #[command(flatten)]
        resource: ResourceName,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// A new webhook token (the old one stops working); printed once.
    #[command(name = "webhook-regenerate")]
    WebhookRegenerate(ResourceName),
    /// Only this version (an id from `versions`) until unpinned.
    Pin {
        #[command(flatten)]
        resource: ResourceName,
        #[arg(long)]
        version_id: i64,
        #[arg(long, default_value = "")]
        comment: String,
    },
    Unpin(ResourceName),
}

#[derive(Subcommand, Clone)]
enum TeamCommand {
    List,
    /// Create a team (admins).
    Create {
        #[arg(long)]
        name: String,
    },
    /// The members of a team and their roles.
    Members {
        #[arg(long = "team-canonical", short = 't', default_value = "main", global = true)]
        team: String,
        #[command(subcommand)]
        command: MemberCommand,
    },
}

#[derive(Args, Clone)]
struct MemberArgs {
    #[arg(long)]
    username: String,
    /// viewer, operator or owner.
    #[arg(long, default_value = "viewer", value_parser = ["viewer", "operator", "owner"])]
    role: String,
    /// PikoCI's flag for a team admin: the owner role.
    #[arg(long)]
    admin: bool,
}

#[derive(Subcommand, Clone)]
enum MemberCommand {
    List,
    Create(MemberArgs),
    Update(MemberArgs),
    Delete {
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand, Clone)]
enum WorkerCommand {
    /// One line per worker: name, status, running builds / concurrency, platform.
    List,
}

#[derive(Subcommand, Clone)]
enum UserCommand {
    List,
    Create {
        #[arg(long)]
        username: String,
        /// Prefer PIKOCI_NEW_PASSWORD, which stays out of shell history.
        #[arg(long, env = "PIKOCI_NEW_PASSWORD", hide_env_values = true)]
        password: String,
        /// A server admin.
        #[arg(long)]
        admin: bool,
    },
}

#[derive(Subcommand, Clone)]
enum TokenCommand {
    /// A new token with your roles; printed once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    List,
    Delete {
        #[arg(long)]
        id: i64,
    },
    /// Save a token for the next commands, as `login` does.
    Use {
        #[arg(long, env = "PIKOCI_TOKEN", hide_env_values = true)]
        token: String,
    },
}

/// Rewrites PikoCI's two-letter short flags after `client` (`-tc`, `-pn`, `-jn`) to their long
/// forms, which clap understands. Everything else is left alone.
pub fn expand_short_flags(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut in_client = false;
    args.into_iter()
        .map(|arg| {
            if arg == "client" {
                in_client = true;
            }
            let long = match arg.to_str() {
                Some("-tc") if in_client => "--team-canonical",
                Some("-pn") if in_client => "--pipeline-name",
                Some("-jn") if in_client => "--job-name",
                _ => return arg,
            };
            OsString::from(long)
        })
        .collect()
}

pub async fn run(args: &ClientArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.client_config {
        Some(p) => p.clone(),
        None => http::default_config_path()?,
    };
    let saved = http::load(&config)?;
    let url = match (&args.url, &saved) {
        (Some(u), _) => http::normalize_url(u),
        (None, Some(s)) => s.url.clone(),
        (None, None) => http::normalize_url("localhost:8080"),
    };
    // The saved token belongs to the saved server only.
    let token = args.token.clone().or_else(|| saved.as_ref().filter(|s| s.url == url).map(|s| s.token.clone()));
    let api = Api::new(url.clone(), token)?;
    match &args.command {
        ClientCommand::Login { username, password } => {
            let answer = api.json(Method::POST, "/api/v1/login", Some(&json!({"username": username, "password": password}))).await?;
            let token = answer["token"].as_str().context("the login answer has no token")?.to_string();
            http::save(&config, &http::Saved { url: url.clone(), token })?;
            eprintln!("logged in to {url} as {username}; token saved in {}", config.display());
        }
        ClientCommand::ApiTokens { command: TokenCommand::Use { token } } => {
            http::save(&config, &http::Saved { url: url.clone(), token: token.clone() })?;
            eprintln!("token saved in {} for {url}", config.display());
        }
        ClientCommand::Pipelines { team, command } => return pipelines(&api, team, command).await,
        ClientCommand::Jobs { at, command } => return jobs(&api, at, command).await,
        ClientCommand::Builds { command } => return builds(&api, command).await,
        ClientCommand::Resources { at, command } => resources(&api, at, command).await?,
        ClientCommand::Teams { command } => teams(&api, command).await?,
        ClientCommand::Users { command } => users(&api, command).await?,
        ClientCommand::Workers { command: WorkerCommand::List } => {
            for w in array(&api.get("/api/v1/workers").await?) {
                let running = w["running_builds"].as_array().map_or(0, Vec::len);
                println!("{}\t{}\t{running}/{}\t{}", s(&w["name"]), s(&w["status"]), w["concurrency"], s(&w["platform"]));
            }
        }
        ClientCommand::ApiTokens { command } => tokens(&api, command).await?,
        ClientCommand::Export { output } => {
            let size = api.download("/api/v1/export", output).await?;
            eprintln!("wrote {} ({size} bytes)", output.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn pipelines(api: &Api, team: &str, command: &PipelineCommand) -> anyhow::Result<ExitCode> {
    let at = |name: &PipelineName| format!("/api/v1/teams/{}/pipelines/{}", seg(team), seg(&name.name));
    match command {
        PipelineCommand::Create(set) | PipelineCommand::Update(set) => {
            let path = at(&set.name);
            let creating = matches!(command, PipelineCommand::Create(_));
            let exists = api.get(&path).await.is_ok();
            if creating && exists {
                bail!("pipeline `{}` exists in team `{team}`; change it with `pipelines update`", set.name.name);
            }
            if !creating && !exists {
                bail!("there is no pipeline `{}` in team `{team}` to update; set it with `pipelines create`", set.name.name);
            }
            let config = std::fs::read_to_string(&set.config).with_context(|| format!("cannot read {}", set.config.display()))?;
            let vars: Value = match &set.vars {
                Some(p) => serde_json::from_str(&std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?)
                    .with_context(|| format!("{} is not a JSON object of variables", p.display()))?,
                None => json!({}),
            };
            let answer = api.json(Method::PUT, &path, Some(&json!({"config": config, "vars": vars}))).await?;
            if set.public {
                api.json(Method::POST, &format!("{path}/expose"), None).await?;
            }
            eprintln!("pipeline {team}/{} set; jobs: {}", set.name.name, array(&answer["jobs"]).iter().map(s).collect::<Vec<_>>().join(", "));
        }
        PipelineCommand::List => {
            for p in array(&api.get(&format!("/api/v1/teams/{}/pipelines", seg(team))).await?) {
                let flags = [(p["paused"] == true).then_some("paused"), (p["public"] == true).then_some("public")];
                println!("{}\t{}", s(&p["name"]), flags.iter().flatten().copied().collect::<Vec<_>>().join(","));
            }
        }
        PipelineCommand::Get(name) => print_json(&api.get(&at(name)).await?),
        PipelineCommand::Graph { name, .. } => print!("{}", api.text(&format!("{}/graph", at(name))).await?),
        PipelineCommand::Delete(name) => {
            api.json(Method::DELETE, &at(name), None).await?;
            eprintln!("pipeline {team}/{} deleted", name.name);
        }
        PipelineCommand::Pause(n) | PipelineCommand::Unpause(n) | PipelineCommand::Expose(n) | PipelineCommand::Hide(n) => {
            let verb = match command {
                PipelineCommand::Pause(_) => "pause",
                PipelineCommand::Unpause(_) => "unpause",
                PipelineCommand::Expose(_) => "expose",
                _ => "hide",
            };
            api.json(Method::POST, &format!("{}/{verb}", at(n)), None).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn build_line(b: &Value) -> String {
    format!("{}\t{}#{}\t{}\t{}", s(&b["id"]), s(&b["job"]), s(&b["number"]), s(&b["status"]), b["reason"].as_str().unwrap_or(""))
}

async fn jobs(api: &Api, at: &PipelineAt, command: &JobCommand) -> anyhow::Result<ExitCode> {
    let path = at.path()?;
    match command {
        JobCommand::Get(j) => print_json(&api.get(&format!("{path}/jobs/{}", seg(&j.job))).await?),
        JobCommand::List => {
            for j in array(&api.get(&format!("{path}/jobs")).await?) {
                let latest = &j["latest_build"];
                let status = if latest.is_null() { "-".into() } else { format!("#{} {}", s(&latest["number"]), s(&latest["status"])) };
                println!("{}\t{}{}", s(&j["name"]), status, if j["paused"] == true { "\tpaused" } else { "" });
            }
        }
        JobCommand::Pause(j) => {
            api.json(Method::POST, &format!("{path}/jobs/{}/pause", seg(&j.job)), None).await?;
        }
        JobCommand::Unpause(j) => {
            api.json(Method::POST, &format!("{path}/jobs/{}/unpause", seg(&j.job)), None).await?;
        }
        JobCommand::Trigger { job, follow, inputs } => {
            let mut values = serde_json::Map::new();
            for given in inputs {
                let (name, value) = given.split_once('=').with_context(|| format!("--input `{given}` is not NAME=VALUE"))?;
                values.insert(name.to_string(), Value::String(value.to_string()));
            }
            let body = (!values.is_empty()).then(|| serde_json::json!({ "input_values": values }));
            let b = api.json(Method::POST, &format!("{path}/jobs/{}/builds", seg(&job.job)), body.as_ref()).await?;
            println!("{}", build_line(&b));
            if *follow {
                return follow_to_end(api, b["id"].as_i64().context("the new build has no id")?).await;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Follows the log to the build's end; the exit status says whether it succeeded (or failed in a
/// job whose `allow_failure` lets it pass).
async fn follow_to_end(api: &Api, id: i64) -> anyhow::Result<ExitCode> {
    api.follow_log(id, &mut std::io::stdout().lock()).await?;
    let b = api.get(&format!("/api/v1/builds/{id}")).await?;
    eprintln!("build {} {}{}", id, s(&b["status"]), b["reason"].as_str().map(|r| format!(": {r}")).unwrap_or_default());
    Ok(if b["status"] == "succeeded" || b["status"] == "warning" { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn builds(api: &Api, command: &BuildCommand) -> anyhow::Result<ExitCode> {
    match command {
        BuildCommand::List { at, job } => {
            let path = match job {
                Some(j) => format!("{}/jobs/{}/builds", at.path()?, seg(j)),
                None => format!("{}/builds", at.path()?),
            };
            for b in array(&api.get(&path).await?) {
                println!("{}", build_line(b));
            }
        }
        BuildCommand::Get(b) => print_json(&api.get(&format!("/api/v1/builds/{}", b.id(api).await?)).await?),
        BuildCommand::Logs { build, follow } => {
            let id = build.id(api).await?;
            if *follow {
                return follow_to_end(api, id).await;
            }
            let mut out = std::io::stdout().lock();
            for line in array(&api.get(&format!("/api/v1/builds/{id}/log")).await?) {
                http::print_line(line, &mut out)?;
            }
        }
        BuildCommand::Cancel(b) => {
            let id = b.id(api).await?;
            api.json(Method::POST, &format!("/api/v1/builds/{id}/cancel"), None).await?;
            eprintln!("build {id} is being aborted");
        }
        BuildCommand::Retry(b) => {
            let new = api.json(Method::POST, &format!("/api/v1/builds/{}/retry", b.id(api).await?), None).await?;
            println!("{}", build_line(&new));
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn resources(api: &Api, at: &PipelineAt, command: &ResourceCommand) -> anyhow::Result<()> {
    let base = format!("{}/resources", at.path()?);
    let one = |r: &ResourceName| format!("{base}/{}", seg(&r.resource));
    match command {
        ResourceCommand::Get(r) => print_json(&api.get(&one(r)).await?),
        ResourceCommand::List => {
            for r in array(&api.get(&base).await?) {
                let health = r["last_check_error"].as_str().map(|e| format!("failing: {e}")).unwrap_or_else(|| "ok".into());
                println!("{}\t{}\t{}", s(&r["name"]), s(&r["type"]), health);
            }
        }
        ResourceCommand::Trigger(r) => {
            api.json(Method::POST, &format!("{}/check", one(r)), None).await?;
            eprintln!("a check of `{}` is on its way", r.resource);
        }
        ResourceCommand::Versions { resource, limit } => {
            for v in array(&api.get(&format!("{}/versions?limit={limit}", one(resource))).await?) {
                println!("{}\t{}", s(&v["id"]), v["version"]);
            }
        }
        ResourceCommand::WebhookRegenerate(r) => {
            let hook = api.json(Method::POST, &format!("{}/webhook_token", one(r)), None).await?;
            // The token is shown this once: the server keeps only its hash.
            println!("{}{}", api.base, s(&hook["url"]));
        }
        ResourceCommand::Pin { resource, version_id, comment } => {
            api.json(Method::PUT, &format!("{}/pin", one(resource)), Some(&json!({"version_id": version_id, "comment": comment}))).await?;
        }
        ResourceCommand::Unpin(r) => {
            api.json(Method::DELETE, &format!("{}/pin", one(r)), None).await?;
        }
    }
    Ok(())
}

async fn teams(api: &Api, command: &TeamCommand) -> anyhow::Result<()> {
    match command {
        TeamCommand::List => {
            for t in array(&api.get("/api/v1/teams").await?) {
                println!("{}\t{}", s(&t["name"]), s(&t["role"]));
            }
        }
        TeamCommand::Create { name } => {
            api.json(Method::POST, "/api/v1/teams", Some(&json!({"name": name}))).await?;
        }
        TeamCommand::Members { team, command } => {
            let base = format!("/api/v1/teams/{}/members", seg(team));
            match command {
                MemberCommand::List => {
                    for m in array(&api.get(&base).await?) {
                        println!("{}\t{}", s(&m["username"]), s(&m["role"]));
                    }
                }
                MemberCommand::Create(m) | MemberCommand::Update(m) => {
                    let role = if m.admin { "owner" } else { m.role.as_str() };
                    api.json(Method::PUT, &format!("{base}/{}", seg(&m.username)), Some(&json!({"role": role}))).await?;
                }
                MemberCommand::Delete { username } => {
                    api.json(Method::DELETE, &format!("{base}/{}", seg(username)), None).await?;
                }
            }
        }
    }
    Ok(())
}

async fn users(api: &Api, command: &UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::List => {
            for u in array(&api.get("/api/v1/users").await?) {
                println!("{}{}", s(&u["username"]), if u["is_admin"] == true { "\tadmin" } else { "" });
            }
        }
        UserCommand::Create { username, password, admin } => {
            api.json(Method::POST, "/api/v1/users", Some(&json!({"username": username, "password": password, "admin": admin}))).await?;
        }
    }
    Ok(())
}

async fn tokens(api: &Api, command: &TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { name, expires_in_days } => {
            let t = api.json(Method::POST, "/api/v1/user/tokens", Some(&json!({"name": name, "expires_in_days": expires_in_days}))).await?;
            eprintln!("token {} `{name}` created; it is shown this once:", s(&t["id"]));
            println!("{}", s(&t["token"]));
        }
        TokenCommand::List => {
            for t in array(&api.get("/api/v1/user/tokens").await?) {
                println!("{}\t{}\texpires {}\tlast used {}", s(&t["id"]), s(&t["name"]), s(&t["expires_at"]), s(&t["last_used_at"]));
            }
        }
        TokenCommand::Delete { id } => {
            api.json(Method::DELETE, &format!("/api/v1/user/tokens/{id}"), None).await?;
        }
        TokenCommand::Use { .. } => unreachable!("handled before a request is made"),
    }
    Ok(())
}
