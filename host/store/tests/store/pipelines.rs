use crate::common::TestDb;
use crate::on_every_backend;
use pikoci_store::{CheckRecord, PipelineParts, StoreError};
use std::collections::BTreeMap;

on_every_backend!(teams_pipelines_and_jobs, resources_checks_and_webhooks, trigger_events_stream_per_team, a_set_archives_what_it_drops_and_is_all_or_nothing);

async fn teams_pipelines_and_jobs(db: TestDb) {
    let store = &db.store;
    let main = store.create_team("main").await.unwrap();
    assert!(matches!(store.create_team("main").await, Err(StoreError::AlreadyExists(_))));
    assert!(matches!(store.create_team(" ").await, Err(StoreError::Invalid(_))));
    assert_eq!(store.ensure_team("main").await.unwrap().id, main.id);
    let other = store.ensure_team("other").await.unwrap();

    let p = store.set_pipeline(main.id, "ci", "job \"a\" {}", None).await.unwrap();
    assert!(!p.paused && !p.public);
    store.set_pipeline_paused(p.id, true).await.unwrap();
    store.set_pipeline_public(p.id, true).await.unwrap();
    // Setting it again replaces the config and keeps identity and flags.
    let again = store.set_pipeline(main.id, "ci", "job \"b\" {}", None).await.unwrap();
    assert_eq!(again.id, p.id);
    assert_eq!(again.config, "job \"b\" {}");
    assert!(again.paused && again.public);
    assert!(again.updated_at >= p.updated_at);
    store.set_pipeline(other.id, "ci", "x", None).await.unwrap();
    assert_eq!(store.pipelines(Some(main.id)).await.unwrap().len(), 1);
    assert_eq!(store.pipelines(None).await.unwrap().len(), 2);
    assert_eq!(store.pipeline_by_name(main.id, "ci").await.unwrap().unwrap().id, p.id);
    assert!(store.pipeline_by_name(main.id, "nope").await.unwrap().is_none());
    assert!(matches!(store.set_pipeline_paused(pikoci_store::PipelineId(987654), true).await, Err(StoreError::NotFound(_))));

    let a = store.ensure_job(p.id, "a").await.unwrap();
    assert_eq!(store.ensure_job(p.id, "a").await.unwrap().id, a.id);
    store.ensure_job(p.id, "b").await.unwrap();
    store.set_job_paused(a.id, true).await.unwrap();
    let jobs = store.jobs(p.id).await.unwrap();
    assert_eq!(jobs.iter().map(|j| (j.name.as_str(), j.paused)).collect::<Vec<_>>(), [("a", true), ("b", false)]);
    assert_eq!(store.job_by_name(p.id, "b").await.unwrap().unwrap().name, "b");

    // Deleting a pipeline takes its jobs (and builds) with it.
    let build = store.create_build(a.id, &[]).await.unwrap();
    assert!(store.delete_pipeline(p.id).await.unwrap());
    assert!(!store.delete_pipeline(p.id).await.unwrap());
    assert!(store.job(a.id).await.unwrap().is_none());
    assert!(store.build(build.id).await.unwrap().is_none());
}

async fn resources_checks_and_webhooks(db: TestDb) {
    let store = &db.store;
    let team = store.create_team("main").await.unwrap();
    let p = store.set_pipeline(team.id, "ci", "", None).await.unwrap();
    let r = store.ensure_resource(p.id, "repo", "git").await.unwrap();
    assert_eq!(store.ensure_resource(p.id, "repo", "git2").await.unwrap().type_name, "git2");
    let due = store.resources_due(0).await.unwrap();
    assert_eq!(due.len(), 1, "a never-checked resource is due");

    store.record_checks(&[(r.id, CheckRecord { at: 1000, error: None, next_check_at: Some(61_000) })]).await.unwrap();
    store.record_checks(&[(r.id, CheckRecord { at: 2000, error: Some("git: no route to host".into()), next_check_at: Some(62_000) })]).await.unwrap();
    let r2 = store.resource(r.id).await.unwrap().unwrap();
    assert_eq!(r2.last_check_at, Some(2000));
    assert_eq!(r2.last_check_succeeded_at, Some(1000), "a failure keeps the last success");
    assert_eq!(r2.last_check_error.as_deref(), Some("git: no route to host"));
    assert_eq!(r2.next_check_at, Some(62_000));
    assert!(store.resources_due(61_999).await.unwrap().is_empty());
    assert_eq!(store.resources_due(62_000).await.unwrap().len(), 1);
    store.record_checks(&[(r.id, CheckRecord { at: 3000, error: None, next_check_at: Some(63_000) })]).await.unwrap();
    assert_eq!(store.resource(r.id).await.unwrap().unwrap().last_check_error, None, "a success clears the error");

    assert!(!r2.has_webhook_token);
    let token = store.regenerate_webhook_token(r.id).await.unwrap();
    assert_eq!(store.resource_by_webhook_token(&token).await.unwrap().unwrap().id, r.id);
    let newer = store.regenerate_webhook_token(r.id).await.unwrap();
    assert_ne!(token, newer);
    assert!(store.resource_by_webhook_token(&token).await.unwrap().is_none(), "the old token stops working");
    assert!(store.resource_by_webhook_token(&newer).await.unwrap().is_some());
    assert!(store.resource(r.id).await.unwrap().unwrap().has_webhook_token);

    let raw = db.raw_or_none().await;
    if let Some(raw) = raw {
        let stored: Vec<String> = sqlx::query_scalar("SELECT webhook_token_hash FROM resources").fetch_all(&raw).await.unwrap();
        assert!(stored.iter().all(|s| !s.contains(&newer) && s.len() == 64), "{stored:?}");
    }
}

async fn trigger_events_stream_per_team(db: TestDb) {
    let store = &db.store;
    let a = store.create_team("a").await.unwrap();
    let b = store.create_team("b").await.unwrap();
    let payload = |n: &str| BTreeMap::from([("n".to_string(), n.to_string())]);
    let e1 = store.append_trigger_event(a.id, "deploy", &payload("1")).await.unwrap();
    store.append_trigger_event(b.id, "deploy", &payload("other team")).await.unwrap();
    store.append_trigger_event(a.id, "other-stream", &payload("x")).await.unwrap();
    let e2 = store.append_trigger_event(a.id, "deploy", &payload("2")).await.unwrap();
    let all = store.trigger_events_after(a.id, "deploy", None, 10).await.unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), [e1.id, e2.id]);
    assert_eq!(all[1].payload, payload("2"));
    let after = store.trigger_events_after(a.id, "deploy", Some(e1.id), 10).await.unwrap();
    assert_eq!(after, vec![e2.clone()]);
    assert!(store.trigger_events_after(a.id, "deploy", Some(e2.id), 10).await.unwrap().is_empty());
    assert_eq!(store.latest_trigger_event(a.id, "deploy").await.unwrap(), Some(e2.clone()));
    assert_eq!(store.latest_trigger_event(a.id, "nothing-yet").await.unwrap(), None);
    assert!(matches!(store.append_trigger_event(pikoci_store::TeamId(424242), "deploy", &payload("x")).await, Err(StoreError::NotFound(_))));
}

fn parts(jobs: &[&str], resources: &[(&str, &str)]) -> PipelineParts {
    PipelineParts { jobs: jobs.iter().map(|j| j.to_string()).collect(), resources: resources.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect() }
}

async fn a_set_archives_what_it_drops_and_is_all_or_nothing(db: TestDb) {
    let store = &db.store;
    let team = store.create_team("main").await.unwrap();
    let first =
        store.set_pipeline_with(team.id, "ci", "v1", Some("plan 1"), Some(&parts(&["build", "test"], &[("repo", "git"), ("nightly", "cron")]))).await.unwrap();
    let p = first.pipeline.id;
    let build = store.create_build(first.jobs["test"], &[]).await.unwrap();

    // `test` and `nightly` are dropped: archived, with their history, and no longer listed,
    // looked up by name, or due for a check.
    let second = store.set_pipeline_with(team.id, "ci", "v2", Some("plan 2"), Some(&parts(&["build"], &[("repo", "git")]))).await.unwrap();
    assert_eq!(second.jobs["build"], first.jobs["build"], "a kept job keeps its id");
    assert_eq!(store.jobs(p).await.unwrap().iter().map(|j| j.name.as_str()).collect::<Vec<_>>(), ["build"]);
    assert!(store.job_by_name(p, "test").await.unwrap().is_none());
    assert_eq!(store.resources(p).await.unwrap().iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["repo"]);
    assert!(store.resource_by_name(p, "nightly").await.unwrap().is_none());
    assert_eq!(store.resources_due(i64::MAX).await.unwrap().iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["repo"]);
    assert!(store.build(build.id).await.unwrap().is_some(), "an archived job's builds are kept");
    assert_eq!(store.job(first.jobs["test"]).await.unwrap().unwrap().name, "test", "and its build still names it");

    // A set that fails half-way (its third job has no name) changes nothing.
    let failed = store.set_pipeline_with(team.id, "ci", "v3", Some("plan 3"), Some(&parts(&["build", "new", " "], &[("other", "git")]))).await;
    assert!(matches!(failed, Err(StoreError::Invalid(_))), "{failed:?}");
    let now = store.pipeline(p).await.unwrap().unwrap();
    assert_eq!((now.config.as_str(), now.current_version), ("v2", second.pipeline.current_version));
    assert_eq!(store.jobs(p).await.unwrap().iter().map(|j| j.name.as_str()).collect::<Vec<_>>(), ["build"]);
    assert_eq!(store.resources(p).await.unwrap().iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["repo"]);

    // Set again, a dropped job comes back with its id and builds.
    let third = store.set_pipeline_with(team.id, "ci", "v4", None, Some(&parts(&["build", "test"], &[("repo", "git"), ("nightly", "cron")]))).await.unwrap();
    assert_eq!(third.jobs["test"], first.jobs["test"]);
    assert_eq!(third.resources["nightly"], first.resources["nightly"]);
    assert_eq!(store.jobs(p).await.unwrap().len(), 2);
}
