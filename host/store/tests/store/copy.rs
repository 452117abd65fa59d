use crate::build_log::line;
use crate::common::{Backend, TestDb};
use crate::on_every_backend;
use crate::versions::{refs, v};
use pikoci_store::{BuildInput, BuildStatus, Page, Role, Store};
use std::collections::BTreeMap;

on_every_backend!(a_copy_holds_everything_and_carries_on);

/// Everything a store can hold, a little of each, linked the way a server links it.
async fn fill(store: &Store) -> String {
    let team = store.ensure_team("main").await.unwrap();
    let ada = store.create_user("ada", Some("a long password"), true).await.unwrap();
    let bob = store.create_user("bob", None, false).await.unwrap();
    store.set_member(team.id, bob.id, Role::Operator).await.unwrap();
    let (_, token) = store.create_token(ada.id, "ci", None).await.unwrap();
    store.set_pipeline(team.id, "ci", "job \"unit\" {}", Some("{\"plan\":1}")).await.unwrap();
    let p = store.set_pipeline(team.id, "ci", "job \"unit\" {} # v2", Some("{\"plan\":2}")).await.unwrap();
    let job = store.ensure_job(p.id, "unit").await.unwrap();
    let r = store.ensure_resource(p.id, "repo", "git").await.unwrap();
    let vs = store.save_versions(r.id, &[v("a"), v("b")]).await.unwrap();
    store.pin_version(r.id, vs[0].id, "hold").await.unwrap();
    store.job_baseline(job.id, r.id).await.unwrap();
    let input = [BuildInput { name: "repo".into(), resource: r.id, version: vs[1].id, passed: false }];
    let first = store.create_build(job.id, &input).await.unwrap();
    store.start_build(first.id, "w").await.unwrap();
    store.append_log(first.id, &[line("unit", "ok"), line("unit", "ünïcode ✓")]).await.unwrap();
    store.record_build_output(first.id, "repo", r.id, vs[1].id).await.unwrap();
    store.finish_build(first.id, BuildStatus::Failed, Some("exit 1")).await.unwrap();
    store.rerun_build(first.id).await.unwrap();
    store.append_trigger_event(team.id, "deploys", &BTreeMap::from([("sha".to_string(), "abc".to_string())])).await.unwrap();
    token
}

/// What a server reads back of it.
async fn seen(store: &Store) -> String {
    let team = store.ensure_team("main").await.unwrap();
    let p = store.pipeline_by_name(team.id, "ci").await.unwrap().unwrap();
    let job = store.job_by_name(p.id, "unit").await.unwrap().unwrap();
    let r = store.resource_by_name(p.id, "repo").await.unwrap().unwrap();
    let builds = store.builds_of_job(job.id, Page::first(10)).await.unwrap();
    let mut out = format!("{:?}\n{:?}\n{:?}\n", store.users().await.unwrap(), store.members(team.id).await.unwrap(), p);
    out += &format!("{:?}\n", store.pipeline_plan(p.current_version.unwrap()).await.unwrap());
    out +=
        &format!("{:?}\n{:?}\n", refs(&store.versions(r.id, Page::first(10)).await.unwrap()), store.pinned_version(r.id).await.unwrap().map(|p| p.version.id));
    for b in &builds {
        out += &format!("{b:?}\n{:?}\n{:?}\n", store.read_log(b.id, 0, 10).await.unwrap(), store.build_versions(b.id).await.unwrap());
    }
    out += &format!("{:?}\n", store.latest_trigger_event(team.id, "deploys").await.unwrap());
    out
}

/// A store copied into an SQLite file, and that file copied into a new database of the first
/// store's kind, reads back the same everywhere; the copies carry on numbering and ids where the
/// original left off, and a second copy into a filled database is refused.
async fn a_copy_holds_everything_and_carries_on(db: TestDb) {
    let token = fill(&db.store).await;
    let original = seen(&db.store).await;

    let file = TestDb::new(Backend::SqliteFile).await;
    let summary = db.store.copy_into(&file.store).await.unwrap();
    assert_eq!((summary.rows("builds"), summary.rows("build_log"), summary.rows("pipeline_versions")), (2, 2, 2), "{summary:?}");
    assert_eq!(seen(&file.store).await, original, "the SQLite copy");

    let back = TestDb::new(db.backend).await;
    file.store.copy_into(&back.store).await.unwrap();
    assert_eq!(seen(&back.store).await, original, "the copy of the copy, on {:?}", db.backend);
    assert!(back.store.verify_token(&token).await.unwrap().is_some(), "tokens still work");
    assert!(back.store.verify_password("ada", "a long password").await.unwrap().is_some(), "passwords still work");

    let team = back.store.ensure_team("main").await.unwrap();
    let p = back.store.pipeline_by_name(team.id, "ci").await.unwrap().unwrap();
    let job = back.store.job_by_name(p.id, "unit").await.unwrap().unwrap();
    let next = back.store.create_build(job.id, &[]).await.unwrap();
    assert_eq!(next.number, 3, "numbering carries on");
    let old = db.store.builds_of_job(job.id, Page::first(10)).await.unwrap();
    assert!(old.iter().all(|b| b.id < next.id), "new ids come after the copied ones");
    back.store.create_user("carol", None, false).await.unwrap();
    back.store.set_pipeline(team.id, "other", "", None).await.unwrap();

    let err = file.store.copy_into(&back.store).await.unwrap_err().to_string();
    assert!(err.contains("not empty"), "{err}");
}
