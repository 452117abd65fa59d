//! The store's behaviour, one scenario at a time, on every backend (see common.rs).

mod common;

mod bad_urls;
mod build_log;
mod builds;
mod copy;
mod mariadb;
mod migrations;
mod pipelines;
mod restart;
mod texts;
mod users;
mod versions;
