use crate::common::TestDb;
use crate::on_every_backend;
use pikoci_store::{BuildInput, BuildStatus, MetadataField, NewVersion, Page, ResourceId, Store, StoreError, VersionMap};

on_every_backend!(versions_keep_order_and_dedupe, pins_and_baselines, passed_constraints);

pub fn v(reference: &str) -> NewVersion {
    NewVersion { version: VersionMap::from([("ref".to_string(), reference.to_string())]), metadata: vec![] }
}

pub fn refs(versions: &[pikoci_store::ResourceVersion]) -> Vec<String> {
    versions.iter().map(|v| v.version["ref"].clone()).collect()
}

/// A team, a pipeline and a resource to hang versions on.
pub async fn resource(store: &Store) -> (pikoci_store::PipelineId, ResourceId) {
    let team = store.ensure_team("main").await.unwrap();
    let p = store.set_pipeline(team.id, "ci", "", None).await.unwrap();
    let r = store.ensure_resource(p.id, "repo", "git").await.unwrap();
    (p.id, r.id)
}

async fn versions_keep_order_and_dedupe(db: TestDb) {
    let store = &db.store;
    let (_, r) = resource(store).await;
    let new = store.save_versions(r, &[v("a"), v("b"), v("c")]).await.unwrap();
    assert_eq!(refs(&new), ["a", "b", "c"]);
    // A check reporting known versions again (and one twice in a batch) adds only the new ones, after the others.
    let mut b_with_metadata = v("b");
    b_with_metadata.metadata = vec![MetadataField { name: "author".into(), value: "ada".into() }];
    let new = store.save_versions(r, &[b_with_metadata, v("d"), v("d")]).await.unwrap();
    assert_eq!(refs(&new), ["d"]);
    assert!(store.save_versions(r, &[]).await.unwrap().is_empty());

    let all = store.versions(r, Page::first(10)).await.unwrap();
    assert_eq!(refs(&all), ["d", "c", "b", "a"], "newest first, b kept its place");
    assert_eq!(all[2].metadata, [MetadataField { name: "author".into(), value: "ada".into() }], "metadata refreshed");
    assert!(all.windows(2).all(|w| w[0].check_order > w[1].check_order));

    // A get's metadata replaces what the check said; a later check without any keeps it.
    let by_get = [MetadataField { name: "message".into(), value: "fix".into() }];
    assert!(store.set_version_metadata(r, &v("b").version, &by_get).await.unwrap());
    assert!(!store.set_version_metadata(r, &v("never-checked").version, &by_get).await.unwrap());
    assert!(store.save_versions(r, &[v("b")]).await.unwrap().is_empty());
    assert_eq!(store.find_version(r, &v("b").version).await.unwrap().unwrap().metadata, by_get);

    // Paging.
    let first = store.versions(r, Page::first(2)).await.unwrap();
    assert_eq!(refs(&first), ["d", "c"]);
    let next = store.versions(r, Page { before: Some(first[1].id), limit: 2 }).await.unwrap();
    assert_eq!(refs(&next), ["b", "a"]);
    assert!(store.versions(r, Page { before: Some(next[1].id), limit: 2 }).await.unwrap().is_empty());

    assert_eq!(store.latest_version(r).await.unwrap().unwrap().version["ref"], "d");
    let c = store.find_version(r, &v("c").version).await.unwrap().unwrap();
    assert_eq!(store.version(c.id).await.unwrap().unwrap(), c);
    assert_eq!(refs(&store.versions_after(r, c.check_order, 10).await.unwrap()), ["d"]);

    // Multi-key versions are the same version whatever order the keys came in.
    let two = |a: &str, b: &str| NewVersion {
        version: VersionMap::from([("ref".to_string(), a.to_string()), ("branch".to_string(), b.to_string())]),
        metadata: vec![],
    };
    assert_eq!(store.save_versions(r, &[two("e", "main")]).await.unwrap().len(), 1);
    assert!(store.save_versions(r, &[two("e", "main")]).await.unwrap().is_empty());

    assert!(matches!(store.save_versions(ResourceId(999_999), &[v("x")]).await, Err(StoreError::NotFound(_))));

    // Concurrent checks of one resource: every version stored once, orders distinct.
    let mut tasks = Vec::new();
    for t in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let batch: Vec<NewVersion> = (0..5).map(|i| v(&format!("c{}", (t + i) % 8))).collect();
            store.save_versions(r, &batch).await.unwrap()
        }));
    }
    let mut added = 0;
    for t in tasks {
        added += t.await.unwrap().len();
    }
    assert_eq!(added, 8, "c0..c7 each stored once");
    let all = store.versions(r, Page::first(100)).await.unwrap();
    let mut orders: Vec<i64> = all.iter().map(|v| v.check_order).collect();
    orders.dedup();
    assert_eq!(orders.len(), all.len());
}

async fn pins_and_baselines(db: TestDb) {
    let store = &db.store;
    let (p, r) = resource(store).await;
    let other = store.ensure_resource(p, "other", "git").await.unwrap().id;
    let job = store.ensure_job(p, "unit").await.unwrap().id;

    // A job created before any version starts at 0: every version is new to it.
    assert_eq!(store.job_baseline(job, other).await.unwrap(), 0);

    let saved = store.save_versions(r, &[v("a"), v("b")]).await.unwrap();
    let baseline = store.job_baseline(job, r).await.unwrap();
    assert_eq!(baseline, saved[1].check_order, "a new job starts at the latest version");
    store.save_versions(r, &[v("c")]).await.unwrap();
    assert_eq!(store.job_baseline(job, r).await.unwrap(), baseline, "recorded once");
    assert_eq!(refs(&store.versions_after(r, baseline, 10).await.unwrap()), ["c"], "history is not replayed");

    assert!(store.pinned_version(r).await.unwrap().is_none());
    assert!(store.version_in_use(other).await.unwrap().is_none(), "no version yet");
    assert_eq!(refs(&store.version_in_use(r).await.unwrap().into_iter().collect::<Vec<_>>()), ["c"], "unpinned: the newest");
    store.pin_version(r, saved[0].id, "broken after a").await.unwrap();
    assert_eq!(store.version_in_use(r).await.unwrap().unwrap().id, saved[0].id, "pinned: the pin, however new the others");
    let pin = store.pinned_version(r).await.unwrap().unwrap();
    assert_eq!((pin.version.id, pin.comment.as_str()), (saved[0].id, "broken after a"));
    store.pin_version(r, saved[1].id, "").await.unwrap();
    assert_eq!(store.pinned_version(r).await.unwrap().unwrap().version.id, saved[1].id, "re-pinning replaces");
    assert!(matches!(store.pin_version(other, saved[0].id, "").await, Err(StoreError::NotFound(_))), "another resource's version");
    assert!(store.unpin(r).await.unwrap());
    assert_eq!(refs(&store.version_in_use(r).await.unwrap().into_iter().collect::<Vec<_>>()), ["c"], "unpinned again");
    assert!(!store.unpin(r).await.unwrap());
    assert!(store.pinned_version(r).await.unwrap().is_none());
}

async fn passed_constraints(db: TestDb) {
    let store = &db.store;
    let (p, r) = resource(store).await;
    let unit = store.ensure_job(p, "unit").await.unwrap().id;
    let integration = store.ensure_job(p, "integration").await.unwrap().id;
    let deploy = store.ensure_job(p, "deploy").await.unwrap().id;
    let vs = store.save_versions(r, &[v("v1"), v("v2"), v("v3"), v("v4")]).await.unwrap();
    let input = |i: usize| BuildInput { name: "repo".into(), resource: r, version: vs[i].id, passed: false };

    async fn run(store: &Store, job: pikoci_store::JobId, inputs: &[BuildInput], status: BuildStatus) {
        let b = store.create_build(job, inputs).await.unwrap();
        store.start_build(b.id, "w").await.unwrap();
        store.finish_build(b.id, status, None).await.unwrap();
    }
    run(store, unit, &[input(0)], BuildStatus::Succeeded).await;
    run(store, unit, &[input(1)], BuildStatus::Succeeded).await;
    run(store, unit, &[input(2)], BuildStatus::Succeeded).await;
    run(store, unit, &[input(3)], BuildStatus::Failed).await;
    run(store, integration, &[input(1)], BuildStatus::Succeeded).await;
    run(store, integration, &[input(2)], BuildStatus::Errored).await;
    // A started build has not passed yet.
    let running = store.create_build(integration, &[input(0)]).await.unwrap();
    store.start_build(running.id, "w").await.unwrap();

    assert_eq!(refs(&store.versions_passed(r, &[unit], 10).await.unwrap()), ["v3", "v2", "v1"]);
    assert_eq!(refs(&store.versions_passed(r, &[unit, integration], 10).await.unwrap()), ["v2"]);
    assert_eq!(refs(&store.versions_passed(r, &[integration, unit], 1).await.unwrap()), ["v2"]);
    assert!(store.versions_passed(r, &[deploy], 10).await.unwrap().is_empty());
    assert_eq!(refs(&store.versions_passed(r, &[], 2).await.unwrap()), ["v4", "v3"], "no constraint: all versions");

    // An output counts as having gone through the job: a put in deploy produced v4.
    let b = store.create_build(deploy, &[]).await.unwrap();
    store.start_build(b.id, "w").await.unwrap();
    store.record_build_output(b.id, "repo", r, vs[3].id).await.unwrap();
    assert!(store.versions_passed(r, &[deploy], 10).await.unwrap().is_empty(), "not until the build succeeds");
    store.finish_build(b.id, BuildStatus::Succeeded, None).await.unwrap();
    assert_eq!(refs(&store.versions_passed(r, &[deploy], 10).await.unwrap()), ["v4"]);
}
