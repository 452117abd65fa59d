//! The four backends the scenarios run on, each a real database: SQLite in memory, an SQLite file
//! in a temporary directory, and a fresh database on the machine's PostgreSQL or on its MariaDB,
//! dropped afterwards.

use pikoci_store::Store;
use std::hash::{BuildHasher, Hasher};

/// The maintenance database tests create their databases from. Override with PIKOCI_TEST_PG_URL.
const DEFAULT_PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The MariaDB database tests create their databases from. Override with PIKOCI_TEST_MYSQL_URL.
const DEFAULT_MYSQL_ADMIN_URL: &str = "mysql://root@127.0.0.1:3306/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Mem,
    SqliteFile,
    Postgres,
    Mariadb,
}

/// A database for one test, and a store open on it.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub store: Store,
    // Dropped after `store` (fields drop in order): the store's pool is gone before the directory
    // is removed or the database dropped.
    _dir: Option<tempfile::TempDir>,
    _server: Option<ServerDatabase>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let (mut dir, mut server) = (None, None);
        let url = match backend {
            Backend::Mem => "sqlite::memory:".to_string(),
            Backend::SqliteFile => {
                let path = dir.insert(tempfile::tempdir().expect("a temporary directory")).path().join("pikoci.db");
                format!("sqlite://{}", path.display())
            }
            Backend::Postgres => server.insert(ServerDatabase::create(Server::Postgres).await).url.clone(),
            Backend::Mariadb => server.insert(ServerDatabase::create(Server::Mariadb).await).url.clone(),
        };
        let store = Store::connect(&url, true).await.unwrap_or_else(|e| panic!("opening {backend:?} at {url}: {e}"));
        TestDb { backend, url, store, _dir: dir, _server: server }
    }

    /// Closes the store and opens the same database again, as a restarted server would. For
    /// `Mem` this is a new, empty database: callers only reopen the persistent backends.
    pub async fn reopen(&mut self) {
        assert_ne!(self.backend, Backend::Mem, "an in-memory database does not survive a restart");
        self.store.close().await;
        self.store = Store::connect(&self.url, true).await.unwrap_or_else(|e| panic!("reopening {}: {e}", self.url));
    }

    /// A second, independent connection to the same database, to look at the raw tables the way
    /// anyone with the database file or credentials could.
    /// None for `Mem`, whose data only the store's own connection can see.
    pub async fn raw_or_none(&self) -> Option<sqlx::AnyPool> {
        if self.backend == Backend::Mem {
            return None;
        }
        sqlx::any::install_default_drivers();
        Some(sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&self.url).await.expect("a raw connection"))
    }
}

/// The first column of every row `sql` selects on `raw`, as text or NULL. MariaDB hands TEXT
/// columns over as bytes (see the store's `Text`), the others as text: this takes either.
pub async fn raw_texts(raw: &sqlx::AnyPool, sql: &str) -> Vec<Option<String>> {
    use sqlx::Row;
    let rows = sqlx::query(sql).fetch_all(raw).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|row| match row.try_get::<Option<String>, _>(0) {
            Ok(text) => text,
            Err(_) => row.try_get::<Option<Vec<u8>>, _>(0).expect("a text column").map(|b| String::from_utf8(b).expect("UTF-8")),
        })
        .collect()
}

/// Generates one test per backend for each scenario: `scenario::mem`, `scenario::sqlite`,
/// `scenario::postgres`, `scenario::mariadb`, all running the same `async fn scenario(db: TestDb)`.
#[macro_export]
macro_rules! on_every_backend {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            use $crate::common::{Backend, TestDb};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mem() {
                super::$scenario(TestDb::new(Backend::Mem).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario(TestDb::new(Backend::SqliteFile).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario(TestDb::new(Backend::Postgres).await).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mariadb() {
                super::$scenario(TestDb::new(Backend::Mariadb).await).await
            }
        }
    )*};
}

/// A database server of the machine's that tests make databases of their own on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Postgres,
    Mariadb,
}

impl Server {
    /// The maintenance database databases are created from (overridable, see the constants).
    fn admin_url(self) -> String {
        let (variable, default) = match self {
            Server::Postgres => ("PIKOCI_TEST_PG_URL", DEFAULT_PG_ADMIN_URL),
            Server::Mariadb => ("PIKOCI_TEST_MYSQL_URL", DEFAULT_MYSQL_ADMIN_URL),
        };
        std::env::var(variable).unwrap_or_else(|_| default.to_string())
    }

    fn unreachable(self, admin_url: &str, e: sqlx::Error) -> String {
        match self {
            Server::Postgres => format!(
                "PostgreSQL is not reachable at {admin_url}: {e}\n\
                 These tests need the machine's PostgreSQL (trust auth for user postgres on 127.0.0.1:5432). Start it with:\n    \
                 pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
                 or point PIKOCI_TEST_PG_URL at another maintenance database."
            ),
            Server::Mariadb => format!(
                "MariaDB is not reachable at {admin_url}: {e}\n\
                 These tests need the machine's MariaDB (user root with an empty password on 127.0.0.1:3306). Start it with:\n    \
                 start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd\n\
                 (check with `mariadb -h127.0.0.1 -uroot -e 'select version()'`) or point PIKOCI_TEST_MYSQL_URL at another database."
            ),
        }
    }
}

/// A database of its own on the local PostgreSQL or MariaDB, dropped when this is dropped, also
/// when the test fails (Drop runs while a panic unwinds).
pub struct ServerDatabase {
    pub url: String,
    server: Server,
    admin_url: String,
    name: String,
}

async fn admin_connection(server: Server, admin_url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    match sqlx::any::AnyPoolOptions::new().max_connections(1).acquire_timeout(std::time::Duration::from_secs(5)).connect(admin_url).await {
        Ok(pool) => pool,
        Err(e) => panic!("{}", server.unreachable(admin_url, e)),
    }
}

impl ServerDatabase {
    pub async fn create(server: Server) -> ServerDatabase {
        let admin_url = server.admin_url();
        let name = format!("pikoci_test_{:016x}", std::collections::hash_map::RandomState::new().build_hasher().finish());
        let admin = admin_connection(server, &admin_url).await;
        let create = match server {
            Server::Postgres => format!("CREATE DATABASE {name}"),
            Server::Mariadb => format!("CREATE DATABASE {name} CHARACTER SET utf8mb4"),
        };
        sqlx::query(&create).execute(&admin).await.unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        admin.close().await;
        let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
        ServerDatabase { url: format!("{base}/{name}"), server, admin_url, name }
    }

    /// On MariaDB: the database's URL for a user of its own (named like the database, dropped
    /// with it) who logs in with `password`.
    pub async fn url_with_password(&self, password: &str) -> String {
        assert_eq!(self.server, Server::Mariadb, "a user of its own is made on MariaDB only");
        let admin = admin_connection(self.server, &self.admin_url).await;
        let name = &self.name;
        for sql in [format!("CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'"), format!("GRANT ALL ON {name}.* TO '{name}'@'%'")] {
            sqlx::query(&sql).execute(&admin).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        admin.close().await;
        let (scheme, rest) = self.url.split_once("://").expect("a URL");
        let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        format!("{scheme}://{name}:{password}@{host}")
    }

    async fn drop_database(server: Server, admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
        let admin = admin_connection(server, admin_url).await;
        let result = match server {
            // FORCE: a pool the test leaked (or a panic left open) must not keep it alive.
            Server::Postgres => sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await.map(drop),
            // MySQL's DROP DATABASE has no FORCE: end the connections a leaked pool (or a panic)
            // left on it first, so their locks cannot hold the drop up.
            Server::Mariadb => {
                let sessions: Vec<i64> = sqlx::query_scalar("SELECT CAST(id AS SIGNED) FROM information_schema.processlist WHERE db = ?")
                    .bind(name)
                    .fetch_all(&admin)
                    .await
                    .unwrap_or_default();
                for id in sessions {
                    let _ = sqlx::query(&format!("KILL {id}")).execute(&admin).await;
                }
                let result = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&admin).await.map(drop);
                let _ = sqlx::query(&format!("DROP USER IF EXISTS '{name}'@'%'")).execute(&admin).await;
                result
            }
        };
        admin.close().await;
        result
    }
}

impl Drop for ServerDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and may run inside the test's runtime: drop the database from a
        // thread with a runtime of its own.
        let (server, admin_url, name) = (self.server, self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(ServerDatabase::drop_database(server, &admin_url, &name))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("warning: dropping test database {} panicked", self.name),
        }
    }
}
