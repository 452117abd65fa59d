//! The three backends the scenarios run on, each a real database: SQLite in memory, an SQLite file
//! in a temporary directory, and a fresh database on the machine's PostgreSQL, dropped afterwards.

use pikoci_store::Store;
use std::hash::{BuildHasher, Hasher};

/// The maintenance database tests create their databases from. Override with PIKOCI_TEST_PG_URL.
const DEFAULT_PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Mem,
    SqliteFile,
    Postgres,
}

/// A database for one test, and a store open on it.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    pub store: Store,
    // Dropped after `store` (fields drop in order): the store's pool is gone before the directory
    // is removed or the database dropped.
    _dir: Option<tempfile::TempDir>,
    _pg: Option<PgDatabase>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let (url, dir, pg) = match backend {
            Backend::Mem => ("sqlite::memory:".to_string(), None, None),
            Backend::SqliteFile => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("pikoci.db").display());
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let pg = PgDatabase::create().await;
                (pg.url.clone(), None, Some(pg))
            }
        };
        let store = Store::connect(&url, true).await.unwrap_or_else(|e| panic!("opening {backend:?} at {url}: {e}"));
        TestDb { backend, url, store, _dir: dir, _pg: pg }
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

/// Generates one test per backend for each scenario: `scenario::mem`, `scenario::sqlite`,
/// `scenario::postgres`, all running the same `async fn scenario(db: TestDb)`.
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
        }
    )*};
}

/// A database of its own on the local PostgreSQL, dropped when this is dropped, also when the test
/// fails (Drop runs while a panic unwinds).
pub struct PgDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

fn pg_admin_url() -> String {
    std::env::var("PIKOCI_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_ADMIN_URL.to_string())
}

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        let admin_url = pg_admin_url();
        let name = format!("pikoci_test_{:016x}", std::collections::hash_map::RandomState::new().build_hasher().finish());
        let admin = admin_connection(&admin_url).await;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
        admin.close().await;
        let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
        PgDatabase { url: format!("{base}/{name}"), admin_url, name }
    }
}

async fn admin_connection(admin_url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    match sqlx::any::AnyPoolOptions::new().max_connections(1).acquire_timeout(std::time::Duration::from_secs(5)).connect(admin_url).await {
        Ok(pool) => pool,
        Err(e) => panic!(
            "PostgreSQL is not reachable at {admin_url}: {e}\n\
             These tests need the machine's PostgreSQL (trust auth for user postgres on 127.0.0.1:5432). Start it with:\n    \
             pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
             or point PIKOCI_TEST_PG_URL at another maintenance database."
        ),
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and may run inside the test's runtime: drop the database from a
        // thread with a runtime of its own.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                let admin = admin_connection(&admin_url).await;
                // FORCE: a pool the test leaked (or a panic left open) must not keep it alive.
                let result = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin).await;
                admin.close().await;
                result
            })
        })
        .join();
        match dropped {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("warning: could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("warning: dropping test database {} panicked", self.name),
        }
    }
}
