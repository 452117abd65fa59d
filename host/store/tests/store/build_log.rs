use crate::common::TestDb;
use crate::on_every_backend;
use crate::versions::resource;
use pikoci_store::{BuildId, LogKind, NewLogLine, StoreError};

on_every_backend!(log_append_and_read_from_seq, a_log_goes_with_its_build_pipeline_and_team);

pub fn line(step: &str, text: &str) -> NewLogLine {
    NewLogLine { kind: LogKind::Line, step: step.into(), origin: "stdout".into(), text: text.into(), at: 1_700_000_000_000 }
}

async fn log_append_and_read_from_seq(db: TestDb) {
    let store = &db.store;
    let (p, _) = resource(store).await;
    let job = store.ensure_job(p, "unit").await.unwrap().id;
    let build = store.create_build(job, &[]).await.unwrap().id;
    assert_eq!(store.log_len(build).await.unwrap(), 0);
    assert!(store.read_log(build, 0, 10).await.unwrap().is_empty());

    let started = NewLogLine { kind: LogKind::StepStarted, step: "test".into(), origin: String::new(), text: String::new(), at: 1 };
    assert_eq!(store.append_log(build, &[started, line("test", "one"), line("test", "two")]).await.unwrap(), 3);
    assert_eq!(store.append_log(build, &[]).await.unwrap(), 3);
    // A batch bigger than one INSERT.
    let many: Vec<_> = (0..250).map(|i| line("test", &format!("line {i}"))).collect();
    assert_eq!(store.append_log(build, &many).await.unwrap(), 253);
    let finished = NewLogLine { kind: LogKind::StepFinished, step: "test".into(), origin: "succeeded".into(), text: "1.2s".into(), at: 2 };
    assert_eq!(store.append_log(build, std::slice::from_ref(&finished)).await.unwrap(), 254);
    assert_eq!(store.log_len(build).await.unwrap(), 254);

    let head = store.read_log(build, 0, 3).await.unwrap();
    assert_eq!(head.iter().map(|l| (l.seq, l.kind)).collect::<Vec<_>>(), [(1, LogKind::StepStarted), (2, LogKind::Line), (3, LogKind::Line)]);
    assert_eq!(head[2].text, "two");
    // Following: ask again after the last seq seen.
    let next = store.read_log(build, 3, 2).await.unwrap();
    assert_eq!(next.iter().map(|l| (l.seq, l.text.as_str())).collect::<Vec<_>>(), [(4, "line 0"), (5, "line 1")]);
    let tail = store.read_log(build, 252, 100).await.unwrap();
    assert_eq!(tail.iter().map(|l| l.seq).collect::<Vec<_>>(), [253, 254]);
    assert_eq!((tail[1].kind, tail[1].origin.as_str(), tail[1].text.as_str()), (LogKind::StepFinished, "succeeded", "1.2s"));
    let all = store.read_log(build, 0, 1000).await.unwrap();
    assert!(all.iter().enumerate().all(|(i, l)| l.seq == i as i64 + 1), "gapless, in order");

    // Logs are per build.
    let other = store.create_build(job, &[]).await.unwrap().id;
    assert_eq!(store.append_log(other, &[line("x", "y")]).await.unwrap(), 1);
    assert!(matches!(store.append_log(BuildId(987_654), &[line("x", "y")]).await, Err(StoreError::NotFound(_))));

    // Concurrent writers to one build (steps in parallel): every line once, seqs gapless.
    let tasks: Vec<_> = (0..6)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..5 {
                    store.append_log(other, &[line(&format!("s{t}"), &format!("{i}")), line(&format!("s{t}"), "more")]).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let lines = store.read_log(other, 0, 1000).await.unwrap();
    assert_eq!(lines.len(), 61);
    assert!(lines.iter().enumerate().all(|(i, l)| l.seq == i as i64 + 1));
}

/// PostgreSQL keeps this with a trigger per statement rather than a foreign key checked per line.
async fn a_log_goes_with_its_build_pipeline_and_team(db: TestDb) {
    let store = &db.store;
    let team = store.create_team("tenant").await.unwrap();
    let mut builds = Vec::new();
    for name in ["kept", "dropped"] {
        let p = store.set_pipeline(team.id, name, "", None).await.unwrap();
        let job = store.ensure_job(p.id, "unit").await.unwrap().id;
        let build = store.create_build(job, &[]).await.unwrap().id;
        store.append_log(build, &[line("t", "one"), line("t", "two")]).await.unwrap();
        builds.push((p.id, build));
    }
    let [(_, kept), (dropped_pipeline, dropped)] = builds[..] else { unreachable!() };

    assert!(store.delete_pipeline(dropped_pipeline).await.unwrap());
    assert_eq!(store.log_len(dropped).await.unwrap(), 0, "a deleted pipeline's build logs are deleted");
    assert_eq!(store.log_len(kept).await.unwrap(), 2, "another pipeline's are not");

    assert!(store.delete_team(team.id).await.unwrap());
    assert_eq!(store.log_len(kept).await.unwrap(), 0, "a deleted team's build logs are deleted");
}
