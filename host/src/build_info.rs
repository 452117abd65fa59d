//! What this binary is: its release and the commit it was built from, for `pikoci --version`,
//! `GET /version` and the `User-Agent` a server may show.

/// The release, from Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit (12 hex digits) the binary was built from, or `unknown` when built outside a git
/// checkout without `PIKOCI_COMMIT` set (see build.rs).
pub const COMMIT: &str = env!("PIKOCI_COMMIT");

/// `0.1.0 (commit 0123456789ab)`, as `--version` prints it after the program's name.
pub const LONG_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("PIKOCI_COMMIT"), ")");
