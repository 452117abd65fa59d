use crate::common::TestDb;
use crate::on_every_backend;
use crate::versions::{resource, v};
use pikoci_store::{BuildId, BuildInput, BuildStatus, Direction, Page, StoreError};

on_every_backend!(build_numbering_and_states, build_versions_and_reruns);

async fn build_numbering_and_states(db: TestDb) {
    let store = &db.store;
    let (p, _) = resource(store).await;
    let a = store.ensure_job(p, "a").await.unwrap().id;
    let b = store.ensure_job(p, "b").await.unwrap().id;

    let a1 = store.create_build(a, &[]).await.unwrap();
    let a2 = store.create_build(a, &[]).await.unwrap();
    let b1 = store.create_build(b, &[]).await.unwrap();
    assert_eq!((a1.number, a2.number, b1.number), (1, 2, 1), "numbered per job");
    assert_eq!(a1.status, BuildStatus::Pending);
    assert!(a1.started_at.is_none() && a1.worker.is_none());
    assert_eq!(store.pending_builds(10).await.unwrap().iter().map(|b| b.id).collect::<Vec<_>>(), [a1.id, a2.id, b1.id]);

    assert!(store.start_build(a1.id, "worker-1").await.unwrap());
    assert!(!store.start_build(a1.id, "worker-2").await.unwrap(), "one worker per build");
    let started = store.build(a1.id).await.unwrap().unwrap();
    assert_eq!((started.status, started.worker.as_deref()), (BuildStatus::Started, Some("worker-1")));
    assert!(started.started_at.is_some());
    assert_eq!(store.started_builds(10).await.unwrap().len(), 1);

    assert!(matches!(store.finish_build(a1.id, BuildStatus::Started, None).await, Err(StoreError::Invalid(_))));
    assert!(store.finish_build(a1.id, BuildStatus::Failed, Some("exit status 1")).await.unwrap());
    assert!(!store.finish_build(a1.id, BuildStatus::Succeeded, None).await.unwrap(), "the first ending wins");
    let failed = store.build(a1.id).await.unwrap().unwrap();
    assert_eq!((failed.status, failed.reason.as_deref()), (BuildStatus::Failed, Some("exit status 1")));
    assert!(failed.finished_at.is_some());
    assert!(!store.start_build(a1.id, "w").await.unwrap(), "a finished build does not start again");

    // A pending build can be aborted without ever starting.
    assert!(store.finish_build(a2.id, BuildStatus::Aborted, Some("aborted by ada")).await.unwrap());
    assert!(matches!(store.start_build(BuildId(987_654), "w").await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.finish_build(BuildId(987_654), BuildStatus::Errored, None).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.create_build(pikoci_store::JobId(987_654), &[]).await, Err(StoreError::NotFound(_))));

    assert_eq!(store.latest_build(a).await.unwrap().unwrap().id, a2.id);
    assert_eq!(store.build_by_number(a, 1).await.unwrap().unwrap().id, a1.id);
    let a3 = store.create_build(a, &[]).await.unwrap();
    assert_eq!(a3.number, 3);
    let page = store.builds_of_job(a, Page::first(2)).await.unwrap();
    assert_eq!(page.iter().map(|b| b.number).collect::<Vec<_>>(), [3, 2]);
    let rest = store.builds_of_job(a, Page { before: Some(page[1].id), limit: 2 }).await.unwrap();
    assert_eq!(rest.iter().map(|b| b.number).collect::<Vec<_>>(), [1]);

    // Many builds created at once still get distinct, gapless numbers.
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.create_build(b, &[]).await.unwrap().number })
        })
        .collect();
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort();
    assert_eq!(numbers, (2..=13).collect::<Vec<_>>());
}

async fn build_versions_and_reruns(db: TestDb) {
    let store = &db.store;
    let (p, repo) = resource(store).await;
    let image = store.ensure_resource(p, "image", "registry-image").await.unwrap().id;
    let job = store.ensure_job(p, "build").await.unwrap().id;
    assert!(store.latest_build_inputs(job).await.unwrap().is_empty(), "no build yet");
    let rv = store.save_versions(repo, &[v("r1"), v("r2")]).await.unwrap();
    let iv = store.save_versions(image, &[v("i1")]).await.unwrap();

    let inputs = [
        BuildInput { name: "repo".into(), resource: repo, version: rv[1].id, passed: true },
        BuildInput { name: "base".into(), resource: image, version: iv[0].id, passed: false },
    ];
    let build = store.create_build(job, &inputs).await.unwrap();
    store.record_build_output(build.id, "image", image, iv[0].id).await.unwrap();
    store.record_build_output(build.id, "image", image, iv[0].id).await.unwrap(); // recorded once
    assert_eq!(store.latest_build_inputs(job).await.unwrap(), [("base".to_string(), iv[0].id), ("repo".to_string(), rv[1].id)], "inputs, not outputs");
    let used = store.build_versions(build.id).await.unwrap();
    let summary: Vec<_> = used.iter().map(|u| (u.direction, u.name.as_str(), u.passed, u.version.version["ref"].as_str())).collect();
    assert_eq!(summary, [(Direction::Input, "base", false, "i1"), (Direction::Input, "repo", true, "r2"), (Direction::Output, "image", false, "i1")]);

    // A version of another resource is refused, and the build gets nothing half-recorded.
    let wrong = [BuildInput { name: "repo".into(), resource: image, version: rv[0].id, passed: false }];
    assert!(matches!(store.create_build(job, &wrong).await, Err(StoreError::NotFound(_))));
    assert_eq!(store.builds_of_job(job, Page::first(10)).await.unwrap().len(), 1, "the failed creation left no build");

    let rerun = store.rerun_build(build.id).await.unwrap();
    assert_eq!((rerun.number, rerun.rerun_of), (2, Some(build.id)));
    let again: Vec<_> = store.build_versions(rerun.id).await.unwrap().into_iter().map(|u| (u.name, u.version.id)).collect();
    assert_eq!(again, [("base".to_string(), iv[0].id), ("repo".to_string(), rv[1].id)], "inputs only, same versions");

    let later = store.create_build(job, &[]).await.unwrap();
    assert!(store.latest_build_inputs(job).await.unwrap().is_empty(), "the latest build's, none yet");
    store.record_build_inputs(later.id, &inputs[..1]).await.unwrap();
    assert_eq!(store.build_versions(later.id).await.unwrap().len(), 1);
    assert_eq!(store.latest_build_inputs(job).await.unwrap(), [("repo".to_string(), rv[1].id)]);
}
