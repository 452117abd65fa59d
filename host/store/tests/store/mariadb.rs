//! What the MariaDB backend relies on from the server, measured on the machine's MariaDB, and what
//! differs there by necessity.

use crate::common::{Backend, Server, ServerDatabase, TestDb};
use pikoci_store::{DbSystem, Store, StoreError};
use sqlx::Row;

/// The store's upserts (`set_pipeline`, `ensure_job`, `ensure_resource`, `save_versions`) read the
/// stored row back from `INSERT ... ON DUPLICATE KEY UPDATE ... RETURNING`. MariaDB returns the
/// row as the statement left it: the inserted row, the updated row, or for an update that changes
/// nothing the existing row, not the values offered. Measured here through sqlx's prepared
/// statements, as the store runs them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_duplicate_key_update_returning_gives_the_stored_row() {
    let db = ServerDatabase::create(Server::Mariadb).await;
    sqlx::any::install_default_drivers();
    let raw = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&db.url).await.unwrap();
    sqlx::query("CREATE TABLE probe (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, k VARCHAR(8) NOT NULL UNIQUE, v BIGINT NOT NULL)")
        .execute(&raw)
        .await
        .unwrap();
    let upsert = |k: &'static str, v: i64, update: &'static str| {
        let raw = raw.clone();
        async move {
            let sql = format!("INSERT INTO probe (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE {update} RETURNING id, v");
            let row = sqlx::query(&sql).bind(k).bind(v).fetch_one(&raw).await.unwrap();
            // By position: sqlx 0.8 has no names for these rows (see the store's `get`).
            (row.get::<i64, _>(0), row.get::<i64, _>(1))
        }
    };
    assert_eq!(upsert("a", 1, "v = VALUES(v)").await, (1, 1), "inserted: the new row");
    assert_eq!(upsert("b", 2, "v = VALUES(v)").await, (2, 2));
    assert_eq!(upsert("a", 3, "v = VALUES(v)").await, (1, 3), "updated: the existing id, the new value");
    assert_eq!(upsert("a", 4, "k = k").await, (1, 3), "a no-op update: the existing row as stored, not the values offered");
    assert_eq!(upsert("b", 5, "v = v + VALUES(v)").await, (2, 7), "the value the update computed");
    raw.close().await;
}

/// Oracle's MySQL and MariaDB before 10.5 are refused at connect; the store's own version check is
/// unit-tested, this checks the server here passes it and a `mariadb://` URL works too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mariadb_url_opens_the_same_database() {
    let db = TestDb::new(Backend::Mariadb).await;
    assert_eq!(db.store.system(), DbSystem::Mysql);
    assert_eq!(db.store.dialect().as_str(), "mysql");
    let team = db.store.create_team("main").await.unwrap();
    let url = db.url.replacen("mysql://", "mariadb://", 1);
    let again = Store::connect(&url, false).await.unwrap();
    assert_eq!(again.team_by_name("main").await.unwrap().unwrap().id, team.id);
    again.close().await;
}

/// Names are VARCHAR(255) on MariaDB (a key cannot hold a whole text): a longer one is refused,
/// whole, never cut to fit, whatever the server's sql_mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_too_long_for_mariadb_is_refused_not_cut() {
    let db = TestDb::new(Backend::Mariadb).await;
    let long = "n".repeat(256);
    // Refused before it reaches the database, with the limit every backend keeps.
    let err = db.store.create_team(&long).await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("at most 255 bytes"), "{err}");
    assert!(db.store.teams().await.unwrap().is_empty());
    db.store.create_team(&"n".repeat(255)).await.unwrap();
}
