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
