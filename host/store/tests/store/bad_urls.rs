use pikoci_store::{Store, StoreError};

async fn refused(url: &str) -> StoreError {
    match Store::connect(url, true).await {
        Ok(_) => panic!("{url} was accepted"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn unknown_schemes_say_what_is_accepted() {
    for url in ["mssql://sa@localhost/ci", "", "pikoci.db", "http://example.com"] {
        let err = refused(url).await;
        assert!(matches!(err, StoreError::BadUrl { .. }), "{url}: {err}");
        assert!(err.to_string().contains("postgres://") && err.to_string().contains("mysql://"), "{url}: {err}");
    }
}

#[tokio::test]
async fn an_unreachable_postgres_names_the_problem_and_hides_the_password() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let err = refused("postgres://ci:hunter2@127.0.0.1:1/pikoci").await;
    let text = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }), "{text}");
    assert!(text.contains("127.0.0.1:1"), "{text}");
    assert!(text.contains("PostgreSQL running"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
}

#[tokio::test]
async fn a_malformed_postgres_url_is_a_bad_url() {
    let err = refused("postgres://ci:hunter2@127.0.0.1:notaport/pikoci").await;
    assert!(matches!(err, StoreError::BadUrl { .. }), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[tokio::test]
async fn a_missing_postgres_database_is_named() {
    let err = refused("postgres://postgres@127.0.0.1:5432/pikoci_no_such_database").await;
    assert!(err.to_string().contains("pikoci_no_such_database"), "{err}");
}

#[tokio::test]
async fn an_sqlite_file_in_a_missing_directory_says_so() {
    let err = refused("sqlite:///nonexistent-dir-for-pikoci/ci.db").await;
    let text = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }), "{text}");
    assert!(text.contains("directory exist"), "{text}");
}

#[tokio::test]
async fn an_unreachable_mariadb_names_the_problem_and_hides_the_password() {
    for url in ["mysql://ci:hunter2@127.0.0.1:1/pikoci", "mariadb://ci:hunter2@127.0.0.1:1/pikoci"] {
        let err = refused(url).await;
        let text = err.to_string();
        assert!(matches!(err, StoreError::Connect { .. }), "{text}");
        assert!(text.contains("mysql at ") && text.contains("127.0.0.1:1"), "{text}");
        assert!(text.contains("MariaDB running"), "{text}");
        assert!(!text.contains("hunter2") && !format!("{err:?}").contains("hunter2"), "{err:?}");
    }
}

#[tokio::test]
async fn a_wrong_mariadb_password_is_refused_without_showing_it() {
    // The test server's root has no password, so any password is a wrong one.
    let admin = std::env::var("PIKOCI_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let url = admin.replacen("root@", "root:hunter2@", 1);
    assert!(url.contains("hunter2"), "{url}");
    let err = refused(&url).await;
    let text = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }), "{text}");
    assert!(text.contains("Access denied"), "{text}");
    assert!(!text.contains("hunter2") && !format!("{err:?}").contains("hunter2"), "{err:?}");
}

#[tokio::test]
async fn a_missing_mariadb_database_is_named() {
    let admin = std::env::var("PIKOCI_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base);
    let err = refused(&format!("{base}/pikoci_no_such_database")).await;
    assert!(matches!(err, StoreError::Connect { .. }), "{err}");
    assert!(err.to_string().contains("pikoci_no_such_database"), "{err}");
}

#[tokio::test]
async fn a_file_that_is_no_sqlite_database_is_refused_at_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.db");
    std::fs::write(&file, "these are my notes, not a database; they must survive a wrong --db-name\n".repeat(20)).unwrap();
    let started = std::time::Instant::now();
    let err = refused(&format!("sqlite://{}", file.display())).await;
    let text = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }) && text.contains("not an SQLite database"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "refused after {:?}, not at once", started.elapsed());
    assert!(std::fs::read_to_string(&file).unwrap().starts_with("these are my notes"), "the file was changed");
}

/// A read-only view (a bind mount) of a directory, unmounted when dropped.
struct ReadOnlyView {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl ReadOnlyView {
    fn of(source: &std::path::Path) -> ReadOnlyView {
        let dir = tempfile::tempdir().unwrap();
        let mount = |args: &[&str]| {
            let status = std::process::Command::new("mount").args(args).arg(dir.path()).status().unwrap();
            assert!(status.success(), "mount {args:?} (the tests run as root)");
        };
        let source = source.to_str().unwrap();
        mount(&["--bind", source]);
        mount(&["-o", "remount,bind,ro"]);
        ReadOnlyView { path: dir.path().to_path_buf(), _dir: dir }
    }
}

impl Drop for ReadOnlyView {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[tokio::test]
async fn a_database_on_a_read_only_file_system_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("ci.db").display()), true).await.unwrap();
    store.create_team("main").await.unwrap();
    store.close().await;
    let view = ReadOnlyView::of(dir.path());
    let started = std::time::Instant::now();
    let text = refused(&format!("sqlite://{}", view.path.join("ci.db").display())).await.to_string();
    assert!(text.contains("Read-only file system"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "refused after {:?}", started.elapsed());
}
