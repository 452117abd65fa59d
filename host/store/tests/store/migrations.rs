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

    let pg = crate::common::PgDatabase::create().await;
    let err = Store::connect(&pg.url, false).await.unwrap_err();
    assert!(err.to_string().contains("--run-migrations"), "{err}");
}

/// Memory starts empty every time, so it is migrated whatever the flag says.
#[tokio::test]
async fn memory_is_always_migrated() {
    let store = Store::connect("sqlite::memory:", false).await.unwrap();
    store.create_team("main").await.unwrap();
}
