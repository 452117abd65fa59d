//! The `pikoci` command line.

mod bench;
mod bench_server;
pub mod client;
mod db;
mod embed;
mod pipeline;
mod plan_view;
mod plugin;
mod run;
mod scaffold;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "pikoci", version = crate::build_info::LONG_VERSION, about = "A CI/CD server whose integrations are sandboxed WebAssembly components")]
pub struct Cli {
    /// Where compiled plugins (and pulled components) are cached.
    /// Default: $XDG_CACHE_HOME/pikoci or ~/.cache/pikoci.
    #[arg(long, global = true, env = "PIKOCI_CACHE_DIR")]
    cache_dir: Option<PathBuf>,

    /// A registry (`host:port`) to reach over plain HTTP instead of HTTPS; for loopback registries.
    #[arg(long = "insecure-registry", global = true, value_name = "HOST:PORT", env = "PIKOCI_INSECURE_REGISTRIES", value_delimiter = ',')]
    insecure_registries: Vec<String>,

    /// Registry user name (otherwise the Docker config.json credentials, otherwise anonymous).
    #[arg(long, global = true, env = "PIKOCI_REGISTRY_USERNAME")]
    registry_username: Option<String>,

    /// Registry password; prefer the environment variable to keep it out of shell history.
    #[arg(long, global = true, env = "PIKOCI_REGISTRY_PASSWORD", hide_env_values = true)]
    registry_password: Option<String>,

    /// Log filter for pikoci's own diagnostics (error, warn, info, debug, trace).
    #[arg(long, global = true, env = "LOG_LEVEL", default_value = "warn")]
    log_level: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect, call and manage plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Check pipeline files without a server (for editors and pre-commit hooks).
    #[command(subcommand)]
    Pipeline(pipeline::PipelineCommand),
    /// Run one job of a pipeline on this machine, with no server.
    Run(run::RunArgs),
    /// Talk to a pikoci server: pipelines, jobs, builds and their logs, resources, teams, users.
    Client(client::ClientArgs),
    /// The server's database without a server: copy a whole state between databases.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Run the CI server: scheduler, API and (with --run-worker) an embedded worker.
    Server(crate::server::ServerArgs),
    /// Print `USERNAME:HASH` for the server's --users flag.
    UserPassword {
        #[arg(short, long)]
        username: String,
        /// The password; prefer PIKOCI_PASSWORD to keep it out of shell history.
        #[arg(short, long, env = "PIKOCI_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Measure plugin load and call times against a process-per-call baseline.
    Bench(bench::BenchArgs),
    /// Measure the server: new version to first log line, builds per minute.
    BenchServer(bench_server::ServerBenchArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completion { shell: clap_complete::Shell },
    /// Write a man page for pikoci and each of its subcommands into DIR (for packages).
    #[command(hide = true)]
    ManPages { dir: PathBuf },
    /// Internal: the process-per-check baseline of `pikoci bench` (JSON on stdin, JSON on stdout).
    #[command(hide = true)]
    BenchProcessCheck,
}

impl Cli {
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(default_cache_dir)
    }

    /// How to reach registries, from the global flags.
    pub fn registry_access(&self) -> crate::plugin_source::RegistryAccess {
        crate::plugin_source::RegistryAccess {
            insecure: self.insecure_registries.clone(),
            credentials: self.registry_username.clone().zip(self.registry_password.clone()),
        }
    }

    pub fn locator(&self) -> crate::plugin_source::PluginLocator {
        crate::plugin_source::PluginLocator::new(&self.cache_dir(), self.registry_access())
    }
}

/// glibc serves a freed large block's size from its heap from then on (its mmap threshold grows
/// to it), and a heap rarely shrinks: each login's 19 MiB of argon2 memory stayed resident. A
/// fixed threshold keeps every block of 1 MiB or more mapped on its own, returned when freed.
fn return_large_allocations_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning; called before other threads allocate.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn default_cache_dir() -> PathBuf {
    directories::BaseDirs::new().map(|d| d.cache_dir().join("pikoci")).unwrap_or_else(|| std::env::temp_dir().join("pikoci-cache"))
}

/// The command line, plus for `server --config FILE` (or CONFIG) the file's settings for the flags
/// neither the command line nor the environment set.
fn with_config_file(argv: Vec<std::ffi::OsString>) -> Result<Cli, String> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches_from(&argv);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let Command::Server(crate::server::ServerArgs { config: Some(path), .. }) = &cli.command else {
        return Ok(cli);
    };
    let extra = crate::server::config_file::extra_args(path, &Cli::command(), &matches)?;
    if extra.is_empty() {
        return Ok(cli);
    }
    let matches = Cli::command().try_get_matches_from(argv.into_iter().chain(extra)).map_err(|e| format!("config file {}: {}", path.display(), e.kind()))?;
    Cli::from_arg_matches(&matches).map_err(|e| format!("config file {}: {}", path.display(), e.kind()))
}

pub fn main() -> ExitCode {
    let argv = client::expand_short_flags(std::env::args_os());
    let cli = match with_config_file(argv) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    pikoci_registry::install_tls_provider();
    // oci_client logs token responses at debug level: never below info for it.
    let filter = match tracing_subscriber::EnvFilter::try_new(format!("{},oci_client=info", cli.log_level)) {
        Ok(filter) => filter,
        Err(_) => {
            eprintln!("error: --log-level (LOG_LEVEL) `{}`: expected error, warn, info, debug or trace, or a filter such as `pikoci=debug`", cli.log_level);
            return ExitCode::from(2);
        }
    };
    // Colour codes only for a terminal: a log file or journal gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).init();
    return_large_allocations_to_the_system();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Plugin(cmd) => plugin::run(&cli, cmd).await,
            Command::Bench(args) => bench::run(&cli, args).await,
            Command::BenchServer(args) => bench_server::run(args).await,
            Command::Run(args) => run::run(&cli, args).await,
            Command::Pipeline(cmd) => Ok(pipeline::run(&cli, cmd).await),
            Command::Client(args) => client::run(args).await,
            Command::Db(command) => db::run(command).await,
            Command::Server(args) => crate::server::run(args.clone(), cli.cache_dir(), cli.registry_access()).await.map(|()| ExitCode::SUCCESS),
            Command::UserPassword { username, password } => {
                println!("{}", crate::server::users::hash_for_flag(username, password)?);
                Ok(ExitCode::SUCCESS)
            }
            Command::Completion { shell } => {
                // Into a buffer first: clap_complete panics on a write error (a closed pipe).
                let mut script = Vec::new();
                clap_complete::generate(*shell, &mut <Cli as clap::CommandFactory>::command(), "pikoci", &mut script);
                use std::io::Write;
                match std::io::stdout().write_all(&script) {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(anyhow::anyhow!("writing the completion script: {e}")),
                    _ => Ok(ExitCode::SUCCESS),
                }
            }
            Command::ManPages { dir } => {
                std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
                clap_mangen::generate_to(<Cli as clap::CommandFactory>::command(), dir)
                    .map_err(|e| anyhow::anyhow!("writing man pages into {}: {e}", dir.display()))?;
                Ok(ExitCode::SUCCESS)
            }
            Command::BenchProcessCheck => bench::process_check(),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
