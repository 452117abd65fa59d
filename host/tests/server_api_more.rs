//! The rest of the `/api/v1` API on the real binary with a real HTTP client: teams, members,
//! users, tokens, pipelines, jobs, builds, resources, and who may do what.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::server::{client, login, pipeline_text, start};

/// One request as `token` (anonymous if None); the status and the body (JSON, or text as a string).
async fn call(c: &reqwest::Client, base: &str, token: Option<&str>, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut r = c.request(method, format!("{base}{path}"));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let answer = r.send().await.unwrap();
    let status = answer.status();
    let text = answer.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Asserts the status, showing the body when it differs; returns the body.
macro_rules! expect {
    ($status:expr, $call:expr) => {{
        let (status, body) = $call;
        assert_eq!(status.as_u16(), $status, "{body}");
        body
    }};
}

/// Polls `path` as `token` until `done` holds for its JSON (60 s at most).
async fn wait_until(c: &reqwest::Client, base: &str, token: &str, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = call(c, base, Some(token), Method::GET, path, None).await;
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path}: gave up waiting; last answer {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_members_users_and_tokens_follow_their_roles() {
    let server = start(&[]);
    let c = client();
    let b = &server.base;
    let admin = login(&c, b, "admin", "adminpw").await;
    let viewer = login(&c, b, "viewer", "viewerpw").await;

    // Without a token, nothing here answers.
    for (method, path) in [(Method::GET, "/api/v1/teams"), (Method::GET, "/api/v1/users"), (Method::GET, "/api/v1/user/tokens"), (Method::GET, "/api/v1/user")]
    {
        let body = expect!(401, call(&c, b, None, method, path, None).await);
        assert!(body["error"].as_str().unwrap().contains("log in first"), "{body}");
    }

    // Teams: only an admin creates them; names are unique.
    expect!(401, call(&c, b, None, Method::POST, "/api/v1/teams", Some(json!({"name": "crew"}))).await);
    expect!(403, call(&c, b, Some(&viewer), Method::POST, "/api/v1/teams", Some(json!({"name": "crew"}))).await);
    expect!(201, call(&c, b, Some(&admin), Method::POST, "/api/v1/teams", Some(json!({"name": "crew"}))).await);
    expect!(409, call(&c, b, Some(&admin), Method::POST, "/api/v1/teams", Some(json!({"name": "crew"}))).await);

    // Users: only an admin lists and creates them, and no answer carries a password or its hash.
    let new_user = |name: &str| Some(json!({"username": name, "password": format!("{name}-password")}));
    expect!(401, call(&c, b, None, Method::POST, "/api/v1/users", new_user("oper")).await);
    expect!(403, call(&c, b, Some(&viewer), Method::POST, "/api/v1/users", new_user("oper")).await);
    expect!(403, call(&c, b, Some(&viewer), Method::GET, "/api/v1/users", None).await);
    let created = expect!(201, call(&c, b, Some(&admin), Method::POST, "/api/v1/users", new_user("oper")).await);
    assert_eq!(created["username"], "oper");
    assert!(!created.to_string().contains("password\":\""), "{created}");
    expect!(201, call(&c, b, Some(&admin), Method::POST, "/api/v1/users", new_user("own")).await);
    expect!(409, call(&c, b, Some(&admin), Method::POST, "/api/v1/users", new_user("own")).await);
    expect!(400, call(&c, b, Some(&admin), Method::POST, "/api/v1/users", Some(json!({"username": "short", "password": "x"}))).await);
    let users = expect!(200, call(&c, b, Some(&admin), Method::GET, "/api/v1/users", None).await);
    let names: Vec<&str> = users.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "oper", "own", "viewer"]);
    assert!(!users.to_string().contains("argon2"), "{users}");
    let oper = login(&c, b, "oper", "oper-password").await;
    let own = login(&c, b, "own", "own-password").await;

    // Members: the admin makes `own` the owner; the owner manages the rest; nobody else may.
    let role = |r: &str| Some(json!({"role": r}));
    expect!(403, call(&c, b, Some(&own), Method::PUT, "/api/v1/teams/crew/members/own", role("owner")).await);
    expect!(200, call(&c, b, Some(&admin), Method::PUT, "/api/v1/teams/crew/members/own", role("owner")).await);
    expect!(200, call(&c, b, Some(&own), Method::PUT, "/api/v1/teams/crew/members/oper", role("operator")).await);
    expect!(200, call(&c, b, Some(&own), Method::PUT, "/api/v1/teams/crew/members/viewer", role("viewer")).await);
    expect!(404, call(&c, b, Some(&own), Method::PUT, "/api/v1/teams/crew/members/nobody", role("viewer")).await);
    expect!(422, call(&c, b, Some(&own), Method::PUT, "/api/v1/teams/crew/members/viewer", role("god")).await);
    expect!(403, call(&c, b, Some(&oper), Method::PUT, "/api/v1/teams/crew/members/viewer", role("owner")).await);
    expect!(403, call(&c, b, Some(&viewer), Method::DELETE, "/api/v1/teams/crew/members/oper", None).await);
    expect!(401, call(&c, b, None, Method::GET, "/api/v1/teams/crew/members", None).await);
    let members = expect!(200, call(&c, b, Some(&viewer), Method::GET, "/api/v1/teams/crew/members", None).await);
    assert_eq!(members, json!([{"username": "oper", "role": "operator"}, {"username": "own", "role": "owner"}, {"username": "viewer", "role": "viewer"}]));
    let teams = expect!(200, call(&c, b, Some(&viewer), Method::GET, "/api/v1/teams", None).await);
    assert_eq!(teams.as_array().unwrap().len(), 1);
    assert_eq!((teams[0]["name"].as_str(), teams[0]["role"].as_str()), (Some("crew"), Some("viewer")));
    expect!(204, call(&c, b, Some(&own), Method::DELETE, "/api/v1/teams/crew/members/viewer", None).await);
    let body = expect!(404, call(&c, b, Some(&own), Method::DELETE, "/api/v1/teams/crew/members/viewer", None).await);
    assert!(body["error"].as_str().unwrap().contains("not a member"), "{body}");
    expect!(403, call(&c, b, Some(&viewer), Method::GET, "/api/v1/teams/crew/members", None).await);
    expect!(404, call(&c, b, Some(&admin), Method::GET, "/api/v1/teams/nope/members", None).await);

    // Tokens: yours only; the token itself is in the creation answer and nowhere else.
    let made = expect!(201, call(&c, b, Some(&viewer), Method::POST, "/api/v1/user/tokens", Some(json!({"name": "script", "expires_in_days": 7}))).await);
    let script = made["token"].as_str().unwrap().to_string();
    assert!(script.starts_with("pikoci_at_") && made["expires_at"].is_number(), "{made}");
    let listed = expect!(200, call(&c, b, Some(&viewer), Method::GET, "/api/v1/user/tokens", None).await);
    assert!(listed.as_array().unwrap().iter().any(|t| t["name"] == "script"), "{listed}");
    assert!(!listed.to_string().contains(&script), "a listing never shows a token: {listed}");
    let me = expect!(200, call(&c, b, Some(&script), Method::GET, "/api/v1/user", None).await);
    assert_eq!((me["username"].as_str(), me["is_admin"].as_bool()), (Some("viewer"), Some(false)));
    // The scheme's name is case-insensitive, as HTTP has it.
    for scheme in ["bearer", "BEARER"] {
        let r = c.get(format!("{b}/api/v1/user")).header("authorization", format!("{scheme} {script}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "`{scheme}`");
    }
    let zero = expect!(400, call(&c, b, Some(&viewer), Method::POST, "/api/v1/user/tokens", Some(json!({"name": "now", "expires_in_days": 0}))).await);
    assert!(zero["error"].as_str().unwrap().contains("1 or more"), "a token that would be born expired is refused: {zero}");
    let id = made["id"].as_i64().unwrap();
    expect!(404, call(&c, b, Some(&oper), Method::DELETE, &format!("/api/v1/user/tokens/{id}"), None).await);
    expect!(204, call(&c, b, Some(&viewer), Method::DELETE, &format!("/api/v1/user/tokens/{id}"), None).await);
    expect!(401, call(&c, b, Some(&script), Method::GET, "/api/v1/user", None).await);
    assert!(!server.log().contains(&script), "the server log never shows a token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_jobs_builds_and_resources_with_their_roles() {
    let server = start(&[]);
    let c = client();
    let b = &server.base;
    let admin = login(&c, b, "admin", "adminpw").await;
    let viewer_token = login(&c, b, "viewer", "viewerpw").await;
    let viewer = Some(viewer_token.as_str());
    for name in ["oper", "own"] {
        expect!(201, call(&c, b, Some(&admin), Method::POST, "/api/v1/users", Some(json!({"username": name, "password": format!("{name}-password")}))).await);
    }
    let oper_token = login(&c, b, "oper", "oper-password").await;
    let own_token = login(&c, b, "own", "own-password").await;
    let (oper, own) = (Some(oper_token.as_str()), Some(own_token.as_str()));

    let watched = tempfile::tempdir().unwrap();
    let app = watched.path().join("app");
    std::fs::create_dir(&app).unwrap();
    std::fs::write(app.join("v"), "v1").unwrap();
    let set = Some(json!({"config": pipeline_text(&app)}));
    let p = "/api/v1/teams/main/pipelines/app";

    // Team `main` exists from the start; a user without a role in it may not set pipelines.
    expect!(403, call(&c, b, own, Method::PUT, p, set.clone()).await);
    for (user, role) in [("own", "owner"), ("oper", "operator"), ("viewer", "viewer")] {
        expect!(200, call(&c, b, Some(&admin), Method::PUT, &format!("/api/v1/teams/main/members/{user}"), Some(json!({"role": role}))).await);
    }
    expect!(403, call(&c, b, oper, Method::PUT, p, set.clone()).await);
    expect!(403, call(&c, b, viewer, Method::PUT, p, set.clone()).await);
    expect!(200, call(&c, b, own, Method::PUT, p, set.clone()).await);

    // Reading: members yes; anonymous no (the pipeline is not public), with the answer a
    // pipeline that does not exist gets, so private pipelines cannot be found by guessing.
    let hidden = expect!(404, call(&c, b, None, Method::GET, p, None).await);
    let absent = expect!(404, call(&c, b, None, Method::GET, "/api/v1/teams/main/pipelines/nope", None).await);
    let no_team = expect!(404, call(&c, b, None, Method::GET, "/api/v1/teams/nope/pipelines/app", None).await);
    assert_eq!(hidden["error"].as_str().map(|e| e.replace("`app`", "`nope`")), absent["error"].as_str().map(str::to_string), "{hidden} {absent}");
    assert_eq!(no_team["error"], "no pipeline `app` in team `nope` that you can see; log in to see private ones");
    let detail = expect!(200, call(&c, b, viewer, Method::GET, p, None).await);
    assert!(detail["config"].as_str().unwrap().contains("job \"deploy\""), "{detail}");
    assert_eq!((detail["jobs"].clone(), detail["resources"].clone(), detail["loaded"].clone()), (json!(["deploy", "test"]), json!(["app"]), json!(true)));
    let body = expect!(404, call(&c, b, viewer, Method::GET, "/api/v1/teams/main/pipelines/nope", None).await);
    assert_eq!(body["error"], "no pipeline `nope` in team `main` that you can see");

    // The graph: the resource feeds `test`, `test` feeds `deploy` through `passed`.
    let dot = expect!(200, call(&c, b, viewer, Method::GET, &format!("{p}/graph"), None).await);
    let dot = dot.as_str().unwrap();
    assert!(dot.starts_with("digraph \"app\""), "{dot}");
    assert!(dot.contains("\"resource:app\" -> \"job:test\""), "{dot}");
    assert!(dot.contains("\"job:test\" -> \"job:deploy\" [label=\"app\""), "{dot}");
    assert!(!dot.contains("\"resource:app\" -> \"job:deploy\""), "{dot}");

    // The first check finds v1; test then deploy run. Jobs show their latest build and inputs.
    let jobs = wait_until(&c, b, &viewer_token, &format!("{p}/jobs"), |j| {
        j.as_array().is_some_and(|a| a.len() == 2 && a.iter().all(|j| j["latest_build"]["finished_at"].is_number()))
    })
    .await;
    assert_eq!(jobs[0]["name"], "deploy");
    assert_eq!(jobs[0]["inputs"], json!([{"resource": "app", "trigger": true, "passed": ["test"]}]));
    assert_eq!(jobs[1]["latest_build"]["status"], "succeeded", "{jobs}");
    let first_test = jobs[1]["latest_build"].clone();
    let job = expect!(200, call(&c, b, viewer, Method::GET, &format!("{p}/jobs/test"), None).await);
    assert_eq!(job["latest_build"]["id"], first_test["id"]);
    let by_number = expect!(200, call(&c, b, viewer, Method::GET, &format!("{p}/jobs/test/builds/1"), None).await);
    assert_eq!(by_number["id"], first_test["id"]);
    expect!(404, call(&c, b, viewer, Method::GET, &format!("{p}/jobs/test/builds/99"), None).await);
    let builds = expect!(200, call(&c, b, viewer, Method::GET, &format!("{p}/builds"), None).await);
    let mut jobs_built: Vec<&str> = builds.as_array().unwrap().iter().map(|b| b["job"].as_str().unwrap()).collect();
    jobs_built.sort();
    assert_eq!(jobs_built, ["deploy", "test"]);
    let build = expect!(200, call(&c, b, viewer, Method::GET, &format!("/api/v1/builds/{}", first_test["id"]), None).await);
    assert_eq!((build["pipeline"].as_str(), build["team"].as_str(), build["job"].as_str()), (Some("app"), Some("main"), Some("test")));
    assert_eq!(build["versions"][0]["direction"], "input");
    let v1_id = build["versions"][0]["version"]["id"].as_i64().unwrap();

    // Resources: the check's outcome shows; operators (not viewers) check on demand.
    let resources = expect!(200, call(&c, b, viewer, Method::GET, &format!("{p}/resources"), None).await);
    let r = &resources[0];
    assert_eq!((r["name"].as_str(), r["type"].as_str()), (Some("app"), Some("fs")));
    assert!(r["last_check_at"].is_number() && r["next_check_at"].is_number() && r["last_check_error"].is_null(), "{r}");
    std::fs::write(app.join("v"), "v2").unwrap();
    expect!(401, call(&c, b, None, Method::POST, &format!("{p}/resources/app/check"), None).await);
    expect!(403, call(&c, b, viewer, Method::POST, &format!("{p}/resources/app/check"), None).await);
    expect!(202, call(&c, b, oper, Method::POST, &format!("{p}/resources/app/check"), None).await);
    let versions = wait_until(&c, b, &viewer_token, &format!("{p}/resources/app/versions"), |v| v.as_array().is_some_and(|a| a.len() == 2)).await;
    assert_eq!(versions[1]["id"].as_i64(), Some(v1_id), "newest first: {versions}");
    let page = expect!(200, call(&c, b, viewer, Method::GET, &format!("{p}/resources/app/versions?limit=1"), None).await);
    assert_eq!(page.as_array().unwrap().len(), 1);

    // Pins: operators pin and unpin.
    let pin = Some(json!({"version_id": v1_id, "comment": "hold v1"}));
    expect!(403, call(&c, b, viewer, Method::PUT, &format!("{p}/resources/app/pin"), pin.clone()).await);
    expect!(404, call(&c, b, oper, Method::PUT, &format!("{p}/resources/app/pin"), Some(json!({"version_id": 999999}))).await);
    let pinned = expect!(200, call(&c, b, oper, Method::PUT, &format!("{p}/resources/app/pin"), pin).await);
    assert_eq!((pinned["pinned"]["version"]["id"].as_i64(), pinned["pinned"]["comment"].as_str()), (Some(v1_id), Some("hold v1")));
    let shown = expect!(200, call(&c, b, viewer, Method::GET, &format!("{p}/resources/app"), None).await);
    assert_eq!(shown["pinned"]["version"]["id"].as_i64(), Some(v1_id));
    expect!(403, call(&c, b, viewer, Method::DELETE, &format!("{p}/resources/app/pin"), None).await);
    expect!(204, call(&c, b, oper, Method::DELETE, &format!("{p}/resources/app/pin"), None).await);
    expect!(404, call(&c, b, oper, Method::DELETE, &format!("{p}/resources/app/pin"), None).await);

    // Pausing: operators pause and unpause jobs and pipelines.
    for path in [format!("{p}/jobs/test/pause"), format!("{p}/pause")] {
        expect!(401, call(&c, b, None, Method::POST, &path, None).await);
        expect!(403, call(&c, b, viewer, Method::POST, &path, None).await);
        expect!(204, call(&c, b, oper, Method::POST, &path, None).await);
    }
    assert_eq!(expect!(200, call(&c, b, viewer, Method::GET, &format!("{p}/jobs/test"), None).await)["paused"], true);
    assert_eq!(expect!(200, call(&c, b, viewer, Method::GET, p, None).await)["paused"], true);
    expect!(204, call(&c, b, oper, Method::POST, &format!("{p}/jobs/test/unpause"), None).await);
    expect!(204, call(&c, b, oper, Method::POST, &format!("{p}/unpause"), None).await);
    assert_eq!(expect!(200, call(&c, b, viewer, Method::GET, p, None).await)["paused"], false);

    // Retry: the same versions again (the fs type fetches only the content a version names, so
    // put v1 back); cancelling a finished build is a conflict.
    std::fs::write(app.join("v"), "v1").unwrap();
    let retry = format!("/api/v1/builds/{}/retry", first_test["id"]);
    expect!(401, call(&c, b, None, Method::POST, &retry, None).await);
    expect!(403, call(&c, b, viewer, Method::POST, &retry, None).await);
    let again = expect!(201, call(&c, b, oper, Method::POST, &retry, None).await);
    assert_eq!(again["rerun_of"], first_test["id"]);
    let again = wait_until(&c, b, &viewer_token, &format!("/api/v1/builds/{}", again["id"]), |b| b["finished_at"].is_number()).await;
    assert_eq!(again["status"], "succeeded", "{again}");
    assert_eq!(again["versions"][0]["version"]["id"].as_i64(), Some(v1_id), "a retry uses the versions of the build it repeats");
    let log = expect!(200, call(&c, b, viewer, Method::GET, &format!("/api/v1/builds/{}/log", again["id"]), None).await);
    assert!(log.as_array().unwrap().iter().any(|l| l["text"] == "v1"), "{log}");
    expect!(403, call(&c, b, viewer, Method::POST, &format!("/api/v1/builds/{}/cancel", again["id"]), None).await);
    expect!(409, call(&c, b, oper, Method::POST, &format!("/api/v1/builds/{}/cancel", again["id"]), None).await);

    // Public: only owners expose; then anyone reads, but writing still needs a role.
    expect!(403, call(&c, b, oper, Method::POST, &format!("{p}/expose"), None).await);
    expect!(204, call(&c, b, own, Method::POST, &format!("{p}/expose"), None).await);
    expect!(200, call(&c, b, None, Method::GET, p, None).await);
    expect!(200, call(&c, b, None, Method::GET, &format!("{p}/jobs"), None).await);
    expect!(200, call(&c, b, None, Method::GET, &format!("{p}/graph"), None).await);
    expect!(200, call(&c, b, None, Method::GET, &format!("/api/v1/builds/{}/log", again["id"]), None).await);
    let listed = expect!(200, call(&c, b, None, Method::GET, "/api/v1/teams/main/pipelines", None).await);
    assert_eq!(listed[0]["public"], true);
    expect!(401, call(&c, b, None, Method::POST, &format!("{p}/jobs/test/builds"), None).await);
    expect!(401, call(&c, b, None, Method::POST, &format!("{p}/pause"), None).await);
    expect!(403, call(&c, b, viewer, Method::POST, &format!("{p}/hide"), None).await);
    expect!(204, call(&c, b, own, Method::POST, &format!("{p}/hide"), None).await);
    expect!(404, call(&c, b, None, Method::GET, p, None).await);
    assert_eq!(expect!(200, call(&c, b, None, Method::GET, "/api/v1/teams/main/pipelines", None).await), json!([]));

    // Deleting: owners only, and it is gone.
    expect!(403, call(&c, b, oper, Method::DELETE, p, None).await);
    expect!(204, call(&c, b, own, Method::DELETE, p, None).await);
    expect!(404, call(&c, b, viewer, Method::GET, p, None).await);
}

/// The spec served and the checked-in copy are the one generated from the handlers. After
/// changing the API: `PIKOCI_UPDATE_OPENAPI=1 cargo test -p pikoci --test server_api_more openapi`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_spec_is_served_and_matches_the_checked_in_copy() {
    let path = support::repo_root().join("docs/api/openapi.json");
    let generated = pikoci::server::api_doc::spec_json();
    if std::env::var_os("PIKOCI_UPDATE_OPENAPI").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/api/openapi.json differs from the spec the code generates; regenerate it with\n  \
         PIKOCI_UPDATE_OPENAPI=1 cargo test -p pikoci --test server_api_more openapi\nand commit it"
    );

    let server = start(&[]);
    let c = client();
    let served = expect!(200, call(&c, &server.base, None, Method::GET, "/api/v1/openapi.json", None).await);
    assert_eq!(served, serde_json::from_str::<Value>(&generated).unwrap());
    let paths = served["paths"].as_object().unwrap();
    for p in ["/api/v1/teams/{team}/pipelines/{name}/graph", "/api/v1/builds/{id}/events", "/api/v1/user/tokens", "/api/v1/teams/{team}/members/{username}"] {
        assert!(paths.contains_key(p), "{p} is documented");
    }
}
