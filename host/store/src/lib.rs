//! pikoci-store: everything the pikoci server keeps — teams, users and tokens, pipelines, jobs,
//! resources and their versions, builds with the versions they used and their logs, trigger events —
//! on SQLite in memory (`--db-system mem`), an SQLite file, PostgreSQL, or MariaDB 10.5 or newer
//! (`--db-system mysql`; Oracle's MySQL is refused), with one API and one behaviour for all four.
//!
//! Use: `Store::connect(&DbConfig { .. }.to_url()?, run_migrations)`; on start, after connecting,
//! `mark_unfinished_builds_errored("the server restarted while this build ran")`. The executor's
//! `BuildStatus` maps one to one onto [`BuildStatus`]; its `BuildEvent`s onto [`NewLogLine`]s (see
//! there), appended in batches with [`Store::append_log`] and followed with [`Store::read_log`].
//! Times are unix milliseconds ([`now_millis`]).
//!
//! Secrets are stored hashed only: passwords with argon2, API and webhook tokens with sha256 (they
//! are long random strings, so a fast hash is enough and lookups stay a single indexed query).

mod build_log;
mod builds;
mod config;
mod copy;
mod error;
mod ids;
mod migrations;
mod pipelines;
mod resources;
mod secrets;
mod store;
mod teams;
mod text_enum;
mod triggers;
mod users;
mod versions;

pub use build_log::{LogKind, LogLine, NewLogLine};
pub use builds::{Build, BuildInput, BuildStatus, BuildVersion, Direction};
pub use config::{redact_url, system_of_url, DbConfig, DbSystem, Secret};
pub use copy::CopySummary;
pub use error::{Result, StoreError};
pub use ids::*;
pub use pipelines::{Job, Pipeline, PipelineParts, SetPipeline};
pub use resources::{CheckRecord, Resource};
pub use store::{now_millis, Dialect, Store};
pub use teams::Team;
pub use triggers::TriggerEvent;
pub use users::{hash_password, password_matches, ApiToken, Role, User};
pub use versions::{MetadataField, NewVersion, Page, Pin, ResourceVersion, VersionMap};
