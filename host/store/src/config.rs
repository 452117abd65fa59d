//! From PikoCI's server flags (`--db-system`, `--db-host`, ... or one `--db-url`) to a database URL,
//! with the password kept out of every Debug and Display.

use crate::error::{Result, StoreError};
use std::fmt;
use std::str::FromStr;

/// Which database the server keeps its state in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DbSystem {
    /// SQLite in memory: nothing on disk, gone when the server stops.
    #[default]
    Mem,
    Sqlite,
    Postgresql,
    /// MariaDB 10.5 or newer, through sqlx's MySQL driver (`mysql://` or `mariadb://` URLs).
    /// Oracle's MySQL is refused at connect: the store needs `INSERT ... RETURNING`, which it
    /// lacks, and the schema uses MariaDB's `utf8mb4_nopad_bin` collation.
    Mysql,
}

impl FromStr for DbSystem {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "mem" | "memory" => Ok(DbSystem::Mem),
            "sqlite" | "sqlite3" => Ok(DbSystem::Sqlite),
            "postgresql" | "postgres" | "pg" => Ok(DbSystem::Postgresql),
            "mysql" | "mariadb" => Ok(DbSystem::Mysql),
            other => Err(StoreError::Invalid(format!("unknown --db-system `{other}`; expected mem, sqlite, postgresql or mysql (MariaDB)"))),
        }
    }
}

impl fmt::Display for DbSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DbSystem::Mem => "mem",
            DbSystem::Sqlite => "sqlite",
            DbSystem::Postgresql => "postgresql",
            DbSystem::Mysql => "mysql",
        })
    }
}

/// A value that must not be printed: Debug and Display show `***`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The server's database flags. `url` (`--db-url`) wins over the separate parts.
#[derive(Debug, Clone, Default)]
pub struct DbConfig {
    pub system: DbSystem,
    /// A complete URL; may hold a password, so it is a [`Secret`] too.
    pub url: Option<Secret>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// The database name for PostgreSQL and MariaDB; the file path for SQLite.
    pub name: Option<String>,
}

/// Where SQLite keeps its file when `--db-name` is not given.
pub const DEFAULT_SQLITE_FILE: &str = "pikoci.db";
pub const DEFAULT_PG_HOST: &str = "localhost";
pub const DEFAULT_PG_PORT: u16 = 5432;
pub const DEFAULT_PG_USER: &str = "postgres";
pub const DEFAULT_PG_NAME: &str = "pikoci";
pub const DEFAULT_MYSQL_HOST: &str = "localhost";
pub const DEFAULT_MYSQL_PORT: u16 = 3306;
pub const DEFAULT_MYSQL_USER: &str = "root";
pub const DEFAULT_MYSQL_NAME: &str = "pikoci";

impl DbConfig {
    /// The URL [`crate::Store::connect`] takes. It may contain the password: never log it,
    /// log [`redact_url`] of it.
    pub fn to_url(&self) -> Result<String> {
        if let Some(url) = &self.url {
            let url = url.expose();
            let implied = system_of_url(url)?;
            // A URL for another system than --db-system is a contradiction worth stopping on, except
            // that mem and sqlite are both SQLite URLs.
            let agrees = matches!(
                (self.system, implied),
                (DbSystem::Postgresql, DbSystem::Postgresql)
                    | (DbSystem::Mysql, DbSystem::Mysql)
                    | (DbSystem::Mem | DbSystem::Sqlite, DbSystem::Mem | DbSystem::Sqlite)
            );
            if !agrees {
                return Err(StoreError::BadUrl { url: redact_url(url), reason: format!("it is a {implied} URL but --db-system is {}", self.system) });
            }
            return Ok(url.to_string());
        }
        Ok(match self.system {
            DbSystem::Mem => "sqlite::memory:".to_string(),
            DbSystem::Sqlite => {
                let path = self.name.as_deref().unwrap_or(DEFAULT_SQLITE_FILE);
                if path.is_empty() {
                    return Err(StoreError::Invalid("--db-name (the SQLite file) is empty".into()));
                }
                format!("sqlite://{path}")
            }
            DbSystem::Postgresql => self.server_url("postgres", DEFAULT_PG_USER, DEFAULT_PG_HOST, DEFAULT_PG_PORT, DEFAULT_PG_NAME),
            DbSystem::Mysql => self.server_url("mysql", DEFAULT_MYSQL_USER, DEFAULT_MYSQL_HOST, DEFAULT_MYSQL_PORT, DEFAULT_MYSQL_NAME),
        })
    }

    /// `scheme://user[:password]@host:port/name` from the parts, each defaulted.
    fn server_url(&self, scheme: &str, user: &str, host: &str, port: u16, name: &str) -> String {
        let user = self.user.as_deref().unwrap_or(user);
        let host = self.host.as_deref().unwrap_or(host);
        let port = self.port.unwrap_or(port);
        let name = self.name.as_deref().unwrap_or(name);
        let password = match &self.password {
            Some(p) => format!(":{}", percent_encode(p.expose())),
            None => String::new(),
        };
        // An IPv6 literal needs brackets in a URL.
        let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() };
        format!("{scheme}://{}{password}@{host}:{port}/{}", percent_encode(user), percent_encode(name))
    }
}

/// The system a URL is for, judged by its scheme.
pub fn system_of_url(url: &str) -> Result<DbSystem> {
    let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("sqlite") if is_memory_url(url) => Ok(DbSystem::Mem),
        Some("sqlite") => Ok(DbSystem::Sqlite),
        Some("postgres" | "postgresql") => Ok(DbSystem::Postgresql),
        Some("mysql" | "mariadb") => Ok(DbSystem::Mysql),
        _ => Err(StoreError::BadUrl {
            url: redact_url(url),
            reason: "expected sqlite::memory:, sqlite://<file>, postgres://user@host:port/name or mysql://user@host:port/name (MariaDB)".into(),
        }),
    }
}

/// The URL as sqlx's drivers take it: `mariadb://` is spelt `mysql://` (the same driver).
pub(crate) fn driver_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => format!("mysql://{rest}"),
        _ => url.to_string(),
    }
}

pub(crate) fn is_memory_url(url: &str) -> bool {
    url.starts_with("sqlite::memory:") || url.contains("mode=memory")
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else { return url.to_string() };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.to_string(),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for URL user, password, path.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_make_a_postgres_url_and_the_password_never_prints() {
        let config = DbConfig {
            system: DbSystem::Postgresql,
            host: Some("db.internal".into()),
            port: Some(6543),
            user: Some("ci".into()),
            password: Some(Secret::new("p@ss:w/rd")),
            name: Some("pikoci".into()),
            ..Default::default()
        };
        let url = config.to_url().unwrap();
        assert_eq!(url, "postgres://ci:p%40ss%3Aw%2Frd@db.internal:6543/pikoci");
        assert!(!format!("{config:?}").contains("p@ss"));
        assert_eq!(redact_url(&url), "postgres://ci:***@db.internal:6543/pikoci");
    }

    #[test]
    fn mem_and_sqlite_defaults() {
        assert_eq!(DbConfig::default().to_url().unwrap(), "sqlite::memory:");
        let sqlite = DbConfig { system: DbSystem::Sqlite, name: Some("/var/lib/pikoci/ci.db".into()), ..Default::default() };
        assert_eq!(sqlite.to_url().unwrap(), "sqlite:///var/lib/pikoci/ci.db");
    }

    #[test]
    fn a_url_for_another_system_is_refused() {
        let config = DbConfig { system: DbSystem::Sqlite, url: Some(Secret::new("postgres://u:hunter2@h/db")), ..Default::default() };
        let err = config.to_url().unwrap_err().to_string();
        assert!(err.contains("--db-system is sqlite"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn parts_make_a_mysql_url_with_defaults() {
        let config = DbConfig { system: DbSystem::Mysql, ..Default::default() };
        assert_eq!(config.to_url().unwrap(), "mysql://root@localhost:3306/pikoci");
        let config = DbConfig {
            system: DbSystem::Mysql,
            host: Some("::1".into()),
            port: Some(3307),
            user: Some("ci".into()),
            password: Some(Secret::new("p@ss:w/rd")),
            name: Some("ci db".into()),
            ..Default::default()
        };
        let url = config.to_url().unwrap();
        assert_eq!(url, "mysql://ci:p%40ss%3Aw%2Frd@[::1]:3307/ci%20db");
        assert_eq!(redact_url(&url), "mysql://ci:***@[::1]:3307/ci%20db");
    }

    #[test]
    fn mysql_and_mariadb_urls() {
        for url in ["mysql://root@localhost/ci", "MariaDB://root@localhost/ci"] {
            assert_eq!(system_of_url(url).unwrap(), DbSystem::Mysql, "{url}");
            let config = DbConfig { system: DbSystem::Mysql, url: Some(Secret::new(url)), ..Default::default() };
            assert_eq!(config.to_url().unwrap(), url, "a given URL is kept as it is");
        }
        assert_eq!(driver_url("mariadb://u:p@h:1/db?x=1"), "mysql://u:p@h:1/db?x=1");
        assert_eq!(driver_url("mysql://u@h/db"), "mysql://u@h/db");
        assert_eq!(driver_url("postgres://u@h/db"), "postgres://u@h/db");
        let config = DbConfig { system: DbSystem::Postgresql, url: Some(Secret::new("mariadb://u:hunter2@h/db")), ..Default::default() };
        let err = config.to_url().unwrap_err().to_string();
        assert!(err.contains("it is a mysql URL but --db-system is postgresql"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = system_of_url("mssql://h/db").unwrap_err().to_string();
        assert!(err.contains("mysql://"), "{err}");
    }

    #[test]
    fn system_names() {
        assert_eq!("postgres".parse::<DbSystem>().unwrap(), DbSystem::Postgresql);
        for name in ["mysql", "MySQL", "mariadb", "MariaDB"] {
            assert_eq!(name.parse::<DbSystem>().unwrap(), DbSystem::Mysql, "{name}");
        }
        assert_eq!(DbSystem::Mysql.to_string(), "mysql");
        for system in [DbSystem::Mem, DbSystem::Sqlite, DbSystem::Postgresql, DbSystem::Mysql] {
            assert_eq!(system.to_string().parse::<DbSystem>().unwrap(), system, "Display parses back");
        }
        let err = "oracle".parse::<DbSystem>().unwrap_err().to_string();
        assert!(err.contains("mysql"), "{err}");
    }
}
