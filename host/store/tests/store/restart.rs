use crate::build_log::line;
use crate::common::{Backend, TestDb};
use crate::versions::{refs, resource, v};
use pikoci_store::{BuildInput, BuildStatus, Page};

/// A server writes, is killed mid-build, and starts again on the same database: everything it
/// had written is there, and the build it was running ends errored with the reason.
async fn restart_keeps_everything_and_errors_interrupted_builds(mut db: TestDb) {
    let (p, r) = resource(&db.store).await;
    let job = db.store.ensure_job(p, "unit").await.unwrap().id;
    let vs = db.store.save_versions(r, &[v("a"), v("b")]).await.unwrap();
    let input = [BuildInput { name: "repo".into(), resource: r, version: vs[1].id, passed: false }];
    let done = db.store.create_build(job, &input).await.unwrap();
    db.store.start_build(done.id, "w").await.unwrap();
    db.store.append_log(done.id, &[line("test", "ok")]).await.unwrap();
    db.store.finish_build(done.id, BuildStatus::Succeeded, None).await.unwrap();
    let running = db.store.create_build(job, &input).await.unwrap();
    db.store.start_build(running.id, "w").await.unwrap();
    db.store.append_log(running.id, &[line("test", "half"), line("test", "way")]).await.unwrap();
    let queued = db.store.create_build(job, &[]).await.unwrap();
    let user = db.store.create_user("ada", Some("pw"), true).await.unwrap();
    let (_, token) = db.store.create_token(user.id, "t", None).await.unwrap();

    db.reopen().await;
    let store = &db.store;
    let marked = store.mark_unfinished_builds_errored("the server restarted while this build ran").await.unwrap();
    assert_eq!(marked, 1);
    assert_eq!(store.mark_unfinished_builds_errored("again").await.unwrap(), 0, "only once");

    assert_eq!(refs(&store.versions(r, Page::first(10)).await.unwrap()), ["b", "a"]);
    let done = store.build(done.id).await.unwrap().unwrap();
    assert_eq!(done.status, BuildStatus::Succeeded);
    assert_eq!(store.read_log(done.id, 0, 10).await.unwrap()[0].text, "ok");
    assert_eq!(store.build_versions(done.id).await.unwrap()[0].version.id, vs[1].id);

    let interrupted = store.build(running.id).await.unwrap().unwrap();
    assert_eq!(interrupted.status, BuildStatus::Errored);
    assert_eq!(interrupted.reason.as_deref(), Some("the server restarted while this build ran"));
    assert!(interrupted.finished_at.is_some());
    assert_eq!(store.log_len(running.id).await.unwrap(), 2, "its log up to the kill is kept");
    // A pending build never started: it waits for a worker as before.
    assert_eq!(store.pending_builds(10).await.unwrap().iter().map(|b| b.id).collect::<Vec<_>>(), [queued.id]);
    // Numbering and log sequences carry on from where they were.
    assert_eq!(store.create_build(job, &[]).await.unwrap().number, 4);
    assert_eq!(store.append_log(running.id, &[line("x", "after")]).await.unwrap(), 3);
    assert!(store.verify_password("ada", "pw").await.unwrap().is_some());
    assert!(store.verify_token(&token).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_sqlite() {
    restart_keeps_everything_and_errors_interrupted_builds(TestDb::new(Backend::SqliteFile).await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_postgres() {
    restart_keeps_everything_and_errors_interrupted_builds(TestDb::new(Backend::Postgres).await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_mariadb() {
    restart_keeps_everything_and_errors_interrupted_builds(TestDb::new(Backend::Mariadb).await).await
}
