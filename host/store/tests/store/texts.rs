use crate::build_log::line;
use crate::common::TestDb;
use crate::on_every_backend;
use crate::versions::resource;

on_every_backend!(text_is_kept_exactly_and_at_any_length);

/// Every backend compares names exactly (case, accents, trailing spaces count) and keeps long text
/// whole: MariaDB's tables use a binary, no-pad collation and LONGTEXT for that.
async fn text_is_kept_exactly_and_at_any_length(db: TestDb) {
    let store = &db.store;
    let names = ["main", "Main", "main ", "maïn", "équipe 🚀"];
    for name in names {
        store.create_team(name).await.unwrap_or_else(|e| panic!("{name:?}: {e}"));
    }
    for name in names {
        assert_eq!(store.team_by_name(name).await.unwrap().unwrap().name, name);
    }
    assert_eq!(store.teams().await.unwrap().len(), names.len());
    assert!(store.team_by_name("MAIN").await.unwrap().is_none());
    assert_eq!(store.ensure_team("Main").await.unwrap().name, "Main");
    assert_eq!(store.teams().await.unwrap().len(), names.len());

    // Past MySQL's TEXT (64 KiB): a pipeline's config, its plan, a log line.
    let big = "x🚀".repeat(40_000);
    let team = store.team_by_name("main").await.unwrap().unwrap();
    let p = store.set_pipeline(team.id, "big", &big, Some(&big)).await.unwrap();
    assert_eq!(store.pipeline(p.id).await.unwrap().unwrap().config, big);
    assert_eq!(store.pipeline_plan(p.current_version.unwrap()).await.unwrap().as_deref(), Some(big.as_str()));
    let (p, _) = resource(store).await;
    let job = store.ensure_job(p, "unit").await.unwrap().id;
    let build = store.create_build(job, &[]).await.unwrap().id;
    store.append_log(build, &[line("test", &big)]).await.unwrap();
    assert_eq!(store.read_log(build, 0, 1).await.unwrap()[0].text, big);
}
