use crate::common::{Backend, TestDb};
use crate::on_every_backend;
use pikoci_store::{Store, StoreError};

on_every_backend!(migrations_are_idempotent);

async fn migrations_are_idempotent(db: TestDb) {
    let team = db.store.create_team("main").await.unwrap();
    // Again on the open store, and through a second store on the same database.
    db.store.migrate().await.unwrap();
    db.store.migrate().await.unwrap();
    if db.backend != Backend::Mem {
        let again = Store::connect(&db.url, true).await.unwrap();
        let without = Store::connect(&db.url, false).await.unwrap();
        assert_eq!(without.team_by_name("main").await.unwrap().unwrap().id, team.id, "data survives re-migration");
        again.close().await;
        without.close().await;
    }
    assert_eq!(db.store.teams().await.unwrap().len(), 1);
}

/// Without --run-migrations, an empty database is refused with a message saying what to do.
#[tokio::test]
async fn an_unmigrated_database_is_refused_without_run_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("empty.db").display());
    let err = Store::connect(&url, false).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaOutdated { .. }), "{err}");
    assert!(err.to_string().contains("--run-migrations"), "{err}");

    let pg = crate::common::ServerDatabase::create(crate::common::Server::Postgres).await;
    let err = Store::connect(&pg.url, false).await.unwrap_err();
    assert!(err.to_string().contains("--run-migrations"), "{err}");

    let mariadb = crate::common::ServerDatabase::create(crate::common::Server::Mariadb).await;
    let err = Store::connect(&mariadb.url, false).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaOutdated { .. }), "{err}");
    assert!(err.to_string().contains("--run-migrations"), "{err}");
}

/// Memory starts empty every time, so it is migrated whatever the flag says.
#[tokio::test]
async fn memory_is_always_migrated() {
    let store = Store::connect("sqlite::memory:", false).await.unwrap();
    store.create_team("main").await.unwrap();
}

/// The three dialects' migrations must make the same tables with the same columns: the queries are
/// shared, so a column missing on one side would only show as a runtime error there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dialect_makes_the_same_tables_and_columns() {
    let sqlite = TestDb::new(Backend::SqliteFile).await;
    let pg = TestDb::new(Backend::Postgres).await;
    let mariadb = TestDb::new(Backend::Mariadb).await;
    let sqlite_raw = sqlite.raw_or_none().await.unwrap();
    let pg_raw = pg.raw_or_none().await.unwrap();
    let mariadb_raw = mariadb.raw_or_none().await.unwrap();
    let sqlite_columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' ORDER BY 1, 2",
    )
    .fetch_all(&sqlite_raw)
    .await
    .unwrap();
    let pg_columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT) FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%' ORDER BY 1, 2",
    )
    .fetch_all(&pg_raw)
    .await
    .unwrap();
    // information_schema's names are case-insensitive text on MariaDB, which sorts `_` after the
    // letters: compare sorted here rather than as each database orders them.
    let mut mariadb_columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(table_name AS CHAR), CAST(column_name AS CHAR) FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name NOT LIKE '\\_sqlx%'",
    )
    .fetch_all(&mariadb_raw)
    .await
    .unwrap();
    mariadb_columns.sort();
    let mut pg_columns = pg_columns;
    pg_columns.sort();
    let mut sqlite_columns = sqlite_columns;
    sqlite_columns.sort();
    assert!(sqlite_columns.len() > 50, "{sqlite_columns:?}");
    assert_eq!(sqlite_columns, pg_columns);
    assert_eq!(sqlite_columns, mariadb_columns);
    sqlite_raw.close().await;
    pg_raw.close().await;
    mariadb_raw.close().await;
}

/// A password in the URL shows nowhere: not in the store's Debug, not in errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_password_in_a_url_is_never_shown() {
    let pg = crate::common::ServerDatabase::create(crate::common::Server::Postgres).await;
    // The test server trusts loopback, so any password gets in.
    let url = pg.url.replacen("postgres@", "postgres:hunter2@", 1);
    assert!(url.contains("hunter2"), "{url}");
    let store = Store::connect(&url, true).await.unwrap();
    store.ping().await.unwrap();
    assert!(!format!("{store:?}").contains("hunter2"), "{store:?}");
    store.close().await;

    let mariadb = crate::common::ServerDatabase::create(crate::common::Server::Mariadb).await;
    let url = mariadb.url_with_password("hunter2").await;
    assert!(url.contains(":hunter2@"), "{url}");
    let store = Store::connect(&url, true).await.unwrap();
    store.create_team("main").await.unwrap();
    assert!(!format!("{store:?}").contains("hunter2"), "{store:?}");
    store.close().await;
}
