//! The built-in `git` resource type against real repositories made with the real `git`: over
//! file:// and over HTTP served by `git http-backend`, with the grants its manifest requests.

mod support;

use base64::Engine as _;
use pikoci::executor::grants::CallValues;
use pikoci::runtime::{CallError, Fetched, MemoryLog, Version};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use support::builtins::BoundPlugin;
use support::builtins::{bound, call_grants};
use support::git_http::GitHttpServer;
use support::git_repo::{git, Upstream};

/// Calls the built-in as the executor does: the manifest's grants for this source, and the work
/// directory for get and put.
struct GitResource {
    plugin: BoundPlugin,
    source: Value,
    log: Arc<MemoryLog>,
}

impl GitResource {
    fn new(source: Value) -> Self {
        GitResource { plugin: bound("git"), source, log: Arc::new(MemoryLog::default()) }
    }

    fn grants(&self, params: &Value, work: Option<&Path>) -> pikoci::runtime::Capabilities {
        let values = CallValues { source: Some(&self.source), params: Some(params), ..Default::default() };
        let extra: Vec<String> = work.map(|w| format!("write:{}", w.display())).into_iter().collect();
        call_grants(&self.plugin, &values, &extra)
    }

    async fn check(&self, last: Option<&Version>) -> Result<Vec<Version>, CallError> {
        self.plugin.plugin.check(&self.grants(&json!({}), None), self.log.clone(), &self.source, last).await
    }

    async fn get(&self, version: &Version, work: &Path) -> Result<Fetched, CallError> {
        let grants = self.grants(&json!({}), Some(work));
        self.plugin.plugin.get(&grants, self.log.clone(), &self.source, version, &json!({}), &work.display().to_string()).await
    }

    async fn put(&self, params: Value, work: &Path) -> Result<Fetched, CallError> {
        let grants = self.grants(&params, Some(work));
        self.plugin.plugin.put(&grants, self.log.clone(), &self.source, &params, &work.display().to_string()).await
    }
}

fn refs(versions: &[Version]) -> Vec<&str> {
    versions.iter().map(|v| v.field("ref").unwrap()).collect()
}

fn meta<'a>(fetched: &'a Fetched, name: &str) -> &'a str {
    fetched.metadata.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no {name} in {:?}", fetched.metadata))
}

#[tokio::test]
async fn file_url_check_get_new_commits_and_a_pushed_tag() {
    let root = tempfile::tempdir().unwrap();
    let upstream = Upstream::new(root.path());
    let first = git(&upstream.work, &["rev-parse", "HEAD"]);
    let cache = root.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let resource = GitResource::new(json!({"url": upstream.url(), "name": "app", "branch": "main", "cache_dir": cache}));

    // First check: just the head.
    let versions = resource.check(None).await.unwrap();
    assert_eq!(refs(&versions), [first.as_str()]);

    let work = root.path().join("build");
    std::fs::create_dir(&work).unwrap();
    let fetched = resource.get(&versions[0], &work).await.unwrap();
    assert_eq!(std::fs::read_to_string(work.join("app/README")).unwrap(), "first\n");
    assert_eq!(git(&work.join("app"), &["rev-parse", "HEAD"]), first);
    assert_eq!(git(&work.join("app"), &["symbolic-ref", "--short", "HEAD"]), "main", "the branch is checked out at the version");
    assert_eq!(meta(&fetched, "author"), "Ada Tester <ada@example.test>");
    assert_eq!(meta(&fetched, "message"), "Initial commit");
    assert!(!meta(&fetched, "date").is_empty());

    // Two new commits: both, oldest first; then nothing new.
    let second = upstream.commit("a.txt", "a\n", "Second");
    let third = upstream.commit("b.txt", "b\n", "Third");
    let newer = resource.check(Some(&versions[0])).await.unwrap();
    assert_eq!(refs(&newer), [second.as_str(), third.as_str()]);
    assert_eq!(refs(&resource.check(newer.last()).await.unwrap()), [third.as_str()]);

    // Without a cache the remote's head is all check can see.
    let uncached = GitResource::new(json!({"url": upstream.url(), "name": "app", "branch": "main"}));
    assert_eq!(refs(&uncached.check(Some(&versions[0])).await.unwrap()), [third.as_str()]);

    // Put from the clone at the first commit: a tag, no branch push (which would not be a fast-forward).
    let pushed = resource.put(json!({"tag": "v1.0.0", "tag_message": "release 1.0.0"}), &work).await.unwrap();
    assert_eq!(pushed.version.field("ref"), Some(first.as_str()));
    assert_eq!(pushed.version.field("tag"), Some("v1.0.0"));
    assert_eq!(git(&upstream.bare, &["rev-parse", "v1.0.0^{commit}"]), first);
    assert_eq!(git(&upstream.bare, &["rev-parse", "main"]), third, "main was not touched");

    // Tag mode sees the pushed tag, and a newer one later.
    let tags = GitResource::new(json!({"url": upstream.url(), "name": "app", "tag": "v*"}));
    let found = tags.check(None).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].field("tag"), found[0].field("ref")), (Some("v1.0.0"), Some(first.as_str())));
    git(&upstream.work, &["tag", "v1.10.0", &third]);
    git(&upstream.work, &["tag", "other", &third]);
    git(&upstream.work, &["push", "--quiet", "origin", "--tags"]);
    let later = tags.check(found.last()).await.unwrap();
    assert_eq!(later.iter().map(|v| v.field("tag").unwrap()).collect::<Vec<_>>(), ["v1.10.0"]);

    // A tag version gets the tag checked out.
    let tag_work = root.path().join("tag-build");
    std::fs::create_dir(&tag_work).unwrap();
    let fetched = tags.get(&later[0], &tag_work).await.unwrap();
    assert_eq!(meta(&fetched, "tag"), "v1.10.0");
    assert!(git(&tag_work.join("app"), &["status", "--short", "--branch"]).contains("HEAD (no branch)"));
    assert_eq!(git(&tag_work.join("app"), &["rev-parse", "HEAD"]), third);

    // Put pushing a branch: a commit on top of the fetched tip goes to main.
    let tip_work = root.path().join("tip-build");
    std::fs::create_dir(&tip_work).unwrap();
    resource.get(&newer[1], &tip_work).await.unwrap();
    std::fs::write(tip_work.join("app/c.txt"), "c\n").unwrap();
    git(&tip_work.join("app"), &["add", "c.txt"]);
    git(&tip_work.join("app"), &["commit", "--quiet", "-m", "From the build"]);
    let pushed = resource.put(json!({"repository": "app"}), &tip_work).await.unwrap();
    assert_eq!(git(&upstream.bare, &["rev-parse", "main"]), pushed.version.field("ref").unwrap());
    assert_eq!(meta(&pushed, "message"), "From the build");
}

const TOKEN: &str = "glpat-s3cret-Tok3n-xyz";

fn basic(token: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("oauth2:{token}")))
}

#[tokio::test]
async fn http_with_a_token_clones_detects_and_pushes_without_logging_it() {
    let root = tempfile::tempdir().unwrap();
    let upstream = Upstream::new(root.path());
    let server = GitHttpServer::start(root.path(), Some(basic(TOKEN)));
    let url = format!("{}/app.git", server.base);
    let cache = root.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let resource = GitResource::new(json!({"url": url, "name": "app", "branch": "main", "token": TOKEN, "cache_dir": cache}));

    let versions = resource.check(None).await.unwrap();
    let work = root.path().join("build");
    std::fs::create_dir(&work).unwrap();
    resource.get(&versions[0], &work).await.unwrap();
    assert_eq!(std::fs::read_to_string(work.join("app/README")).unwrap(), "first\n");

    let second = upstream.commit("a.txt", "a\n", "Second");
    assert_eq!(refs(&resource.check(versions.last()).await.unwrap()), [second.as_str()]);

    resource.put(json!({"tag": "v2"}), &work).await.unwrap();
    assert_eq!(git(&upstream.bare, &["rev-parse", "v2"]), versions[0].field("ref").unwrap());

    // Every request carried the token, and it is nowhere a user could read it.
    let seen = server.authorizations.lock().unwrap().clone();
    assert!(!seen.is_empty() && seen.iter().all(|a| a.as_deref() == Some(basic(TOKEN).as_str())), "{seen:?}");
    let log = resource.log.text();
    let encoded = basic(TOKEN);
    for secret in [TOKEN, encoded.trim_start_matches("Basic ")] {
        assert!(!log.contains(secret), "the log shows {secret}: {log}");
    }
    let clone_config = std::fs::read_to_string(work.join("app/.git/config")).unwrap();
    assert!(!clone_config.contains(TOKEN) && !clone_config.contains("extraHeader"), "{clone_config}");
    assert!(!std::fs::read_to_string(cache.join("git/config")).unwrap().contains(TOKEN));
}

#[tokio::test]
async fn a_refused_token_fails_without_showing_it() {
    let root = tempfile::tempdir().unwrap();
    let _upstream = Upstream::new(root.path());
    let server = GitHttpServer::start(root.path(), Some(basic("the-right-one")));
    let wrong = "wrong-s3cret-token";
    let resource = GitResource::new(json!({"url": format!("{}/app.git", server.base), "branch": "main", "token": wrong}));
    let err = resource.check(None).await.unwrap_err().to_string();
    assert!(err.contains("ls-remote"), "{err}");
    let encoded = basic(wrong);
    for secret in [wrong, encoded.trim_start_matches("Basic ")] {
        assert!(!err.contains(secret) && !resource.log.text().contains(secret), "{err}");
    }
}

#[tokio::test]
async fn a_missing_branch_and_a_misspelt_field_are_named() {
    let root = tempfile::tempdir().unwrap();
    let upstream = Upstream::new(root.path());
    let err = GitResource::new(json!({"url": upstream.url(), "branch": "nope"})).check(None).await.unwrap_err().to_string();
    assert!(err.contains("branch `nope` is not in"), "{err}");
    let err = GitResource::new(json!({"url": upstream.url(), "brnach": "main"})).check(None).await.unwrap_err();
    let CallError::InvalidConfig { message, .. } = err else { panic!("expected invalid config, got {err}") };
    assert!(message.contains("brnach"), "{message}");
    let err = GitResource::new(json!({"url": upstream.url(), "pr": "true"})).check(None).await.unwrap_err().to_string();
    assert!(err.contains("`pr`"), "{err}");
}
