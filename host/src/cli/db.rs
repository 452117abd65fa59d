//! `pikoci db`: the server's database without a server. `copy` moves a whole state between any two
//! backends (an exported SQLite file into PostgreSQL or MariaDB, or back), ids and all.

use anyhow::Context;
use clap::Subcommand;
use pikoci_store::{redact_url, Store};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum DbCommand {
    /// Copy every team, user, pipeline, resource version, build and log from one database into a
    /// new, empty one (both migrated to this pikoci's schema first). Stop the servers using them.
    Copy {
        /// The database to read: `sqlite://FILE`, `postgres://...`, `mysql://...`.
        #[arg(long, env = "PIKOCI_DB_COPY_FROM", hide_env_values = true)]
        from: String,
        /// The database to write; it must hold no pikoci data yet.
        #[arg(long, env = "PIKOCI_DB_COPY_TO", hide_env_values = true)]
        to: String,
    },
}

pub async fn run(command: &DbCommand) -> anyhow::Result<ExitCode> {
    match command {
        DbCommand::Copy { from, to } => {
            let source = Store::connect(from, true).await.with_context(|| format!("the source database {}", redact_url(from)))?;
            let target = Store::connect(to, true).await.with_context(|| format!("the target database {}", redact_url(to)))?;
            let copied = source.copy_into(&target).await;
            // An SQLite target is one file, whole, that can be moved or mailed at once.
            let written = target.write_into_file().await;
            target.close().await;
            source.close().await;
            let summary = copied.with_context(|| format!("copying {} into {}", redact_url(from), redact_url(to)))?;
            written.with_context(|| format!("finishing {}", redact_url(to)))?;
            for (table, rows) in &summary.tables {
                println!("{table}\t{rows}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
