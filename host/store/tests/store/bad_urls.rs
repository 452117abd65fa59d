use pikoci_store::{Store, StoreError};

async fn refused(url: &str) -> StoreError {
    match Store::connect(url, true).await {
        Ok(_) => panic!("{url} was accepted"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn unknown_schemes_say_what_is_accepted() {
    for url in ["mysql://root@localhost/ci", "", "pikoci.db", "http://example.com"] {
        let err = refused(url).await;
        assert!(matches!(err, StoreError::BadUrl { .. }), "{url}: {err}");
        assert!(err.to_string().contains("postgres://"), "{url}: {err}");
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
