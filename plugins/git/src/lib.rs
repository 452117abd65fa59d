//! `pikoci://git`: a branch's commits (or a repository's tags) as versions, fetched and pushed by
//! the worker's `git` (file://, http(s):// and ssh URLs alike).
//!
//! ```hcl
//! resource "git" "app" {
//!   params {
//!     url       = "https://git.example.com/org/app.git"
//!     name      = "app"                # directory in the work dir; default: the URL's last segment
//!     branch    = "main"               # default: the remote's HEAD
//!     token     = var.git_token        # HTTP(S) only
//!     tag       = "v*"                 # true / "true": every tag; a glob: matching tags
//!     cache_dir = "/var/cache/pikoci/app"  # an existing directory kept between calls
//!   }
//! }
//! ```
//!
//! A version is `{ref = SHA}` (`{ref, tag}` in tag mode). Check without `cache_dir` can only
//! ask the remote for its head (`git ls-remote`), so commits pushed together show up as one new
//! version; with `cache_dir` it keeps a bare mirror there and lists every new commit, oldest
//! first, and `get` clones with that mirror as reference.
//!
//! The token travels as an `Authorization` header in git's environment (`GIT_CONFIG_*`, scoped
//! to the URL): never on a command line, in a config file, in the clone's remote URL or in an
//! error, from which it is redacted along with its encoded form and any password in the URL.

use pikoci_sdk::process::Command;
use pikoci_sdk::{fs, log, Error, Fetched, ResourceType, Result, Version};
use std::cmp::Ordering;
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    url: String,
    name: Option<String>,
    branch: Option<String>,
    token: Option<String>,
    #[serde(default)]
    tag: TagMode,
    /// PikoCI's pull-request mode needs a forge's API; refused with a clear error.
    pr: Option<serde::de::IgnoredAny>,
    cache_dir: Option<PathBuf>,
}

/// `tag = true` or `"true"`: every tag; `false`, `"false"` or absent: commits; anything else: a
/// glob (`*`, `?`) that tag names must match.
#[derive(serde::Deserialize, Default)]
#[serde(untagged)]
enum TagMode {
    #[default]
    Off,
    Flag(bool),
    Pattern(String),
}

impl TagMode {
    fn pattern(&self) -> Option<&str> {
        match self {
            TagMode::Off | TagMode::Flag(false) => None,
            TagMode::Flag(true) => Some("*"),
            TagMode::Pattern(p) if p == "false" || p.is_empty() => None,
            TagMode::Pattern(p) if p == "true" => Some("*"),
            TagMode::Pattern(p) => Some(p),
        }
    }
}

/// A step's params: `get` takes none (the planner passes none), `put` these.
#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Params {
    /// The clone to push, relative to the work directory; default: the source's `name`.
    repository: Option<String>,
    /// Push HEAD to this branch. Default: the source's `branch`, unless a tag is pushed.
    branch: Option<String>,
    /// A tag to create at HEAD and push.
    tag: Option<String>,
    /// A file in the work directory whose content is the tag's name.
    tag_file: Option<String>,
    /// Makes the tag an annotated one with this message.
    tag_message: Option<String>,
    /// Overwrite the remote branch or tag.
    #[serde(default)]
    force: bool,
}

/// How this resource's `git` runs: its environment, and what must never be shown.
struct Git {
    url: String,
    env: Vec<(String, String)>,
    secrets: Vec<String>,
}

impl Git {
    fn new(source: &Source, home: &str) -> Result<Self> {
        if source.url.trim().is_empty() {
            return Err(Error::invalid_config("`url` is empty"));
        }
        if source.pr.is_some() {
            return Err(Error::invalid_config("`pr` (pull-request mode) needs a forge's API, which pikoci://git does not use; track a branch or tags instead"));
        }
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
        // The child's environment is exactly this: nothing of the worker's leaks in.
        let mut env: Vec<(String, String)> = vec![
            ("PATH".into(), path),
            ("HOME".into(), home.into()),
            ("LC_ALL".into(), "C".into()),
            // Never wait for a password or a host-key answer: fail instead.
            ("GIT_TERMINAL_PROMPT".into(), "0".into()),
            ("GIT_SSH_COMMAND".into(), "ssh -o BatchMode=yes".into()),
            ("GIT_AUTHOR_NAME".into(), "pikoci".into()),
            ("GIT_AUTHOR_EMAIL".into(), "pikoci@localhost".into()),
            ("GIT_COMMITTER_NAME".into(), "pikoci".into()),
            ("GIT_COMMITTER_EMAIL".into(), "pikoci@localhost".into()),
        ];
        if let Ok(sock) = std::env::var("SSH_AUTH_SOCK") {
            env.push(("SSH_AUTH_SOCK".into(), sock));
        }
        let mut secrets = Vec::new();
        if let Some(password) = url_password(&source.url) {
            secrets.push(password.to_string());
        }
        if let Some(token) = source.token.as_deref().filter(|t| !t.is_empty()) {
            // The user name is what PikoCI puts in front of a token (GitLab requires it; GitHub
            // and Gitea take any).
            let basic = base64(format!("oauth2:{token}").as_bytes());
            env.extend([
                ("GIT_CONFIG_COUNT".into(), "1".into()),
                // `http.<url>.*` applies to this repository's URLs only, not to redirects elsewhere.
                ("GIT_CONFIG_KEY_0".into(), format!("http.{}.extraHeader", source.url)),
                ("GIT_CONFIG_VALUE_0".into(), format!("Authorization: Basic {basic}")),
            ]);
            secrets.extend([token.to_string(), basic]);
        }
        Ok(Git { url: source.url.clone(), env, secrets })
    }

    fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in self.secrets.iter().filter(|s| s.len() >= 3) {
            out = out.replace(secret.as_str(), "***");
        }
        out
    }

    /// The URL as it may be shown.
    fn shown_url(&self) -> String {
        self.redact(&self.url)
    }

    /// Run `git ARGS` in `cwd` and return its stdout; a failure says which git command failed
    /// and carries git's (redacted) stderr.
    fn run(&self, cwd: Option<&Path>, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new("git").args(args.iter().copied()).envs(self.env.clone()).capture();
        if let Some(dir) = cwd {
            cmd = cmd.cwd(dir);
        }
        let out = cmd.run()?;
        if out.success() {
            return Ok(out.stdout_text());
        }
        let stderr = self.redact(String::from_utf8_lossy(&out.stderr).trim());
        let what = args.iter().find(|a| !a.starts_with('-')).copied().unwrap_or("git");
        Err(Error::failed(format!("git {what} ({}) exited with {}: {stderr}", self.shown_url(), out.code())))
    }

    /// `git ls-remote [OPTIONS] -- URL [PATTERNS]` as (ref name, sha) pairs.
    fn ls_remote(&self, options: &[&str], patterns: &[&str]) -> Result<Vec<(String, String)>> {
        let mut all = vec!["ls-remote"];
        all.extend_from_slice(options);
        all.extend(["--", &self.url]);
        all.extend_from_slice(patterns);
        let out = self.run(None, &all)?;
        Ok(out
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(sha, name)| (name.trim().to_string(), sha.trim().to_string()))
            .collect())
    }
}

/// The password of `scheme://user:password@host/...`, if the URL carries one.
fn url_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split('/').next()?.rsplit_once('@')?.0;
    userinfo.split_once(':').map(|(_, p)| p).filter(|p| !p.is_empty())
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The clone's directory name: `name`, else the URL's last path segment without `.git`.
fn directory(source: &Source) -> Result<String> {
    let name = match &source.name {
        Some(n) => n.clone(),
        None => {
            let tail = source.url.trim_end_matches('/').rsplit(['/', ':']).next().unwrap_or_default();
            tail.strip_suffix(".git").unwrap_or(tail).to_string()
        }
    };
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(Error::invalid_config(format!("`name` must be a plain directory name, not `{name}`")));
    }
    Ok(name)
}

/// The remote ref a branch-mode resource tracks.
fn tracked_ref(source: &Source) -> String {
    match &source.branch {
        Some(b) => format!("refs/heads/{b}"),
        None => "HEAD".into(),
    }
}

/// The cache's bare mirror, created on first use: `cache_dir` must exist (the host grants it).
fn cache_repo(git: &Git, source: &Source) -> Result<Option<PathBuf>> {
    let Some(dir) = &source.cache_dir else { return Ok(None) };
    let repo = dir.join("git");
    if fs::metadata(repo.join("HEAD")).is_err() {
        git.run(None, &["init", "--quiet", "--bare", &repo.to_string_lossy()])?;
    }
    Ok(Some(repo))
}

fn home(source: &Source, dir: Option<&Path>) -> String {
    // HOME decides which global git config applies: none of the worker's.
    source.cache_dir.as_deref().or(dir).map(|p| p.display().to_string()).unwrap_or_else(|| "/nonexistent".into())
}

/// Glob match with `*` (any run of characters) and `?` (one character).
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Version order of tag names: runs of digits compare as numbers (`v1.10` after `v1.9`).
fn version_cmp(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(cb.iter()) {
        let order = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    ca.len().cmp(&cb.len()).then_with(|| a.cmp(b))
}

fn check_tags(git: &Git, pattern: &str, last: Option<Version>) -> Result<Vec<Version>> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for (name, sha) in git.ls_remote(&["--tags"], &[])? {
        let Some(tag) = name.strip_prefix("refs/tags/") else { continue };
        // An annotated tag is listed twice; its peeled `^{}` line names the commit.
        let (tag, peeled) = match tag.strip_suffix("^{}") {
            Some(t) => (t, true),
            None => (tag, false),
        };
        if !glob(pattern, tag) {
            continue;
        }
        match tags.iter_mut().find(|(t, _)| t == tag) {
            Some(entry) if peeled => entry.1 = sha,
            Some(_) => {}
            None => tags.push((tag.to_string(), sha)),
        }
    }
    tags.sort_by(|a, b| version_cmp(&a.0, &b.0));
    let version = |(tag, sha): &(String, String)| Version::new().with("ref", sha.clone()).with("tag", tag.clone());
    let Some(last_tag) = last.as_ref().and_then(|l| l.field("tag")) else {
        return Ok(tags.last().map(version).into_iter().collect());
    };
    let newer: Vec<Version> = tags.iter().filter(|(t, _)| version_cmp(t, last_tag) == Ordering::Greater).map(version).collect();
    if newer.is_empty() {
        return Ok(last.into_iter().collect());
    }
    Ok(newer)
}

fn check_branch(git: &Git, source: &Source, last: Option<Version>) -> Result<Vec<Version>> {
    let wanted = tracked_ref(source);
    let head = match cache_repo(git, source)? {
        Some(repo) => {
            let repo_dir = repo.to_string_lossy().to_string();
            let refspec = format!("+{wanted}:refs/pikoci/head");
            git.run(None, &["-C", &repo_dir, "fetch", "--quiet", "--no-tags", "--", &git.url, &refspec]).map_err(|e| match &e {
                Error::Failed(text) if text.contains("couldn't find remote ref") => not_found(git, source),
                _ => e,
            })?;
            let head = git.run(None, &["-C", &repo_dir, "rev-parse", "refs/pikoci/head"])?.trim().to_string();
            if let Some(last_ref) = last.as_ref().and_then(|l| l.field("ref")).filter(|r| *r != head) {
                let range = format!("{last_ref}..{head}");
                // An unknown `last` (history rewritten, cache lost) yields just the head.
                if let Ok(list) = git.run(None, &["-C", &repo_dir, "rev-list", "--reverse", "--topo-order", &range]) {
                    let versions: Vec<Version> = list.lines().map(|sha| Version::new().with("ref", sha.trim())).collect();
                    if !versions.is_empty() {
                        return Ok(versions);
                    }
                }
            }
            head
        }
        None => git
            .ls_remote(&[], &[&wanted])?
            .into_iter()
            .find(|(name, _)| *name == wanted)
            .map(|(_, sha)| sha)
            .ok_or_else(|| not_found(git, source))?,
    };
    if last.as_ref().and_then(|l| l.field("ref")) == Some(head.as_str()) {
        return Ok(last.into_iter().collect());
    }
    Ok(vec![Version::new().with("ref", head)])
}

/// A missing branch said in the pipeline's words.
fn not_found(git: &Git, source: &Source) -> Error {
    let what = source.branch.as_deref().map(|b| format!("branch `{b}`")).unwrap_or_else(|| "HEAD".into());
    Error::failed(format!("{what} is not in {}", git.shown_url()))
}

/// The version's metadata: author, committer, date and message of `commit`.
fn metadata(git: &Git, repo: &Path, commit: &str) -> Result<Vec<(String, String)>> {
    let out = git.run(Some(repo), &["log", "-1", "--format=%an <%ae>%x00%cn <%ce>%x00%aI%x00%B", commit])?;
    let mut parts = out.splitn(4, '\0');
    let mut field = |name: &str| (name.to_string(), parts.next().unwrap_or_default().trim().to_string());
    Ok(vec![field("author"), field("committer"), field("date"), field("message")])
}

struct GitResource;

impl ResourceType for GitResource {
    type Source = Source;
    type Params = Params;

    fn check(source: Source, last: Option<Version>) -> Result<Vec<Version>> {
        let git = Git::new(&source, &home(&source, None))?;
        match source.tag.pattern() {
            Some(pattern) => check_tags(&git, pattern, last),
            None => check_branch(&git, &source, last),
        }
    }

    fn get(source: Source, version: Version, _params: Params, dir: &Path) -> Result<Fetched> {
        let git = Git::new(&source, &home(&source, Some(dir)))?;
        let commit = version.field("ref").ok_or_else(|| Error::failed("the version has no `ref` field"))?.to_string();
        let target = dir.join(directory(&source)?);
        if fs::read_dir_sorted(&target).is_ok_and(|entries| !entries.is_empty()) {
            return Err(Error::failed(format!("{} already exists and is not empty", target.display())));
        }
        let target_text = target.to_string_lossy().to_string();
        let cache = cache_repo(&git, &source)?.map(|p| p.to_string_lossy().to_string());
        let mut clone = vec!["clone", "--quiet", "--no-checkout"];
        if let Some(cache) = &cache {
            // Objects come from the cache when it has them; --dissociate copies them, so the clone
            // still works where the cache is not (inside a container).
            clone.extend(["--reference-if-able", cache, "--dissociate"]);
        }
        if let Some(branch) = &source.branch {
            clone.extend(["--branch", branch]);
        }
        clone.extend(["--", &git.url, &target_text]);
        git.run(Some(dir), &clone)?;

        let spec = format!("{commit}^{{commit}}");
        if git.run(Some(&target), &["cat-file", "-e", &spec]).is_err() {
            return Err(Error::failed(format!("commit {commit} is not in {} any more (was the branch rewritten?)", git.shown_url())));
        }
        match (version.field("tag"), &source.branch) {
            (Some(_), _) => git.run(Some(&target), &["checkout", "--quiet", "--detach", &commit])?,
            // The branch is checked out at the version, so tasks can commit and `put` can push.
            (None, Some(branch)) => git.run(Some(&target), &["checkout", "--quiet", "-B", branch, &commit])?,
            (None, None) => {
                let branch = git.run(Some(&target), &["symbolic-ref", "--short", "HEAD"]).unwrap_or_default();
                match branch.trim() {
                    "" => git.run(Some(&target), &["checkout", "--quiet", "--detach", &commit])?,
                    b => git.run(Some(&target), &["checkout", "--quiet", "-B", b, &commit])?,
                }
            }
        };
        log::info(format!("fetched {} at {commit} into {}", git.shown_url(), target.display()));
        let mut fetched = Fetched::new(version.clone());
        fetched.metadata = metadata(&git, &target, &commit)?;
        if let Some(tag) = version.field("tag") {
            fetched.metadata.push(("tag".into(), tag.into()));
        }
        Ok(fetched)
    }

    fn put(source: Source, params: Params, dir: &Path) -> Result<Fetched> {
        put(source, params, dir)
    }
}

fn put(source: Source, params: Params, dir: &Path) -> Result<Fetched> {
    let git = Git::new(&source, &home(&source, Some(dir)))?;
    let repository = match &params.repository {
        Some(r) => r.clone(),
        None => directory(&source)?,
    };
    let repo = dir.join(&repository);
    if fs::metadata(repo.join(".git")).is_err() {
        return Err(Error::invalid_config(format!("`repository`: {repository} is not a git clone in the work directory")));
    }
    let tag = match (&params.tag, &params.tag_file) {
        (Some(_), Some(_)) => return Err(Error::invalid_config("give `tag` or `tag_file`, not both")),
        (Some(t), None) => Some(t.trim().to_string()),
        (None, Some(f)) => Some(fs::read_to_string(dir.join(f))?.trim().to_string()),
        (None, None) => None,
    };
    if let Some(t) = &tag {
        if git.run(None, &["check-ref-format", &format!("refs/tags/{t}")]).is_err() {
            return Err(Error::invalid_config(format!("`tag`: `{t}` is not a valid tag name")));
        }
    }
    let branch = params.branch.clone().or_else(|| if tag.is_none() { source.branch.clone() } else { None });
    if branch.is_none() && tag.is_none() {
        return Err(Error::invalid_config("put needs a `branch` (in its params or the source) or a `tag` to push"));
    }

    let head = git.run(Some(&repo), &["rev-parse", "HEAD"])?.trim().to_string();
    let force = if params.force { "+" } else { "" };
    let mut refspecs = Vec::new();
    if let Some(t) = &tag {
        let mut args = vec!["tag"];
        if params.force {
            args.push("--force");
        }
        if let Some(message) = &params.tag_message {
            args.extend(["--annotate", "--message", message]);
        }
        args.extend([t.as_str(), head.as_str()]);
        git.run(Some(&repo), &args)?;
        refspecs.push(format!("{force}refs/tags/{t}:refs/tags/{t}"));
    }
    if let Some(b) = &branch {
        refspecs.push(format!("{force}HEAD:refs/heads/{b}"));
    }
    let mut push = vec!["push", "--quiet", "--", &git.url];
    push.extend(refspecs.iter().map(String::as_str));
    git.run(Some(&repo), &push)?;
    log::info(format!("pushed {} to {}", refspecs.join(" "), git.shown_url()));

    let mut version = Version::new().with("ref", head.clone());
    if let Some(t) = &tag {
        version = version.with("tag", t.clone());
    }
    let mut fetched = Fetched::new(version);
    fetched.metadata = metadata(&git, &repo, &head)?;
    Ok(fetched)
}

pikoci_sdk::export_resource_type!(
    GitResource,
    name = "git",
    capabilities = ["run:git", "env:PATH", "env:SSH_AUTH_SOCK", "write:{source.cache_dir}"]
);
