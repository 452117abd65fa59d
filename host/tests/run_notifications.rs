//! Notifications as PikoCI users write them, in a real `pikoci run`: `notify` steps, automatic
//! dispatch by how the build ended, the built-in `slack`, `discord` and `github-check` types
//! against loopback stand-ins of their HTTP APIs (which record what they received), and an inline
//! `notify "exec"` type.

mod support;

use serde_json::json;
use std::path::Path;
use support::cli::{pikoci, text, write};
use support::http_standin::HttpStandIn;

fn run(dir: &Path, pipeline: &Path, job: &str, extra: &[&str]) -> (bool, String) {
    let out = pikoci(dir).args(["run", "-p"]).arg(pipeline).args(["-j", job, "--pipeline-name", "shop"]).args(extra).output().unwrap();
    (out.status.success(), text(&out))
}

/// Chat webhooks: Slack answers `ok`, Discord 204, as they do; `/broken` answers 500.
fn chat_standin() -> HttpStandIn {
    HttpStandIn::start(|r| match r.path.as_str() {
        p if p.starts_with("/broken") => (500, json!({"message": "webhook gone"})),
        p if p.starts_with("/discord") => (204, json!(null)),
        _ => (200, json!("ok")),
    })
}

const CHAT_PIPELINE: &str = r#"
variable "hooks" {
  type = string
}
variable "slack_hook" {
  type      = string
  sensitive = true
}

notification "slack" "failures" {
  params { webhook_url = var.slack_hook }
  on      = ["failure"]
  message = "Build $BUILD_NUMBER of $BUILD_JOB_NAME failed at $TASK_STAMP_AT"
}

notification "discord" "everything" {
  params {
    webhook_url = "${var.hooks}/discord/1/tok"
    base_url    = "https://ci.example.com/"
  }
  on      = ["all"]
  exclude = ["quiet"]
}

notification "slack" "gone" {
  params { webhook_url = "${var.hooks}/broken/hook" }
  on   = ["success"]
  jobs = ["good"]
}

notification "slack" "manual" {
  params { webhook_url = var.slack_hook }
}

job "good" {
  notify "slack" "manual" { message = "starting $BUILD_JOB_NAME #$BUILD_NUMBER" }
  task "t" {
    run "exec" { path = "true" }
  }
}

job "bad" {
  task "stamp" {
    run "shell" { cmd = "echo at=noon >> $PIKOCI_OUTPUT" }
  }
  task "fail" {
    run "exec" { path = "false" }
  }
}

job "quiet" {
  task "t" {
    run "exec" { path = "true" }
  }
}
"#;

#[test]
fn slack_and_discord_receive_each_build_end_they_listen_for() {
    let dir = tempfile::tempdir().unwrap();
    let chat = chat_standin();
    let secret_path = "/slack/T0/B0/s3cr3t-webhook-path";
    let pipeline = write(dir.path(), "pipeline.hcl", CHAT_PIPELINE);
    let vars = [format!("hooks={}", chat.address), format!("slack_hook={}{secret_path}", chat.address)];
    let var_args: Vec<&str> = vars.iter().flat_map(|v| ["--var", v.as_str()]).collect();

    let (ok, good_log) = run(dir.path(), &pipeline, "good", &var_args);
    assert!(ok, "a notification that cannot be sent does not fail the build: {good_log}");
    assert!(good_log.contains("notify gone was not sent"), "{good_log}");
    let (ok, bad_log) = run(dir.path(), &pipeline, "bad", &var_args);
    assert!(!ok, "{bad_log}");
    let (ok, quiet_log) = run(dir.path(), &pipeline, "quiet", &var_args);
    assert!(ok, "{quiet_log}");

    let sent: Vec<(String, serde_json::Value)> = chat.received().iter().map(|r| (r.path.clone(), r.json())).collect();
    let expected = [
        // good: the notify step, then after the build discord (all) and the broken hook (success).
        (secret_path, json!({"text": "starting good #1"})),
        ("/discord/1/tok", json!({"content": "✅ [shop/good] Build #1 - success - https://ci.example.com/teams/main/pipelines/shop/jobs/good/builds/1"})),
        ("/broken/hook", json!({"text": "✅ [shop/good] Build #1 - success"})),
        // bad: slack on failure, with the runtime variables of its message expanded; discord.
        (secret_path, json!({"text": "Build 1 of bad failed at noon"})),
        ("/discord/1/tok", json!({"content": "❌ [shop/bad] Build #1 - failure - https://ci.example.com/teams/main/pipelines/shop/jobs/bad/builds/1"})),
        // quiet is excluded from discord and listened to by no one else.
    ];
    let expected: Vec<(String, serde_json::Value)> = expected.into_iter().map(|(p, b)| (p.to_string(), b)).collect();
    assert_eq!(sent, expected);
    for r in chat.received() {
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    for log in [&good_log, &bad_log, &quiet_log] {
        assert!(!log.contains("s3cr3t"), "the secret webhook URL leaked into the log: {log}");
    }
}

#[test]
fn a_notify_step_that_cannot_send_fails_its_build() {
    let dir = tempfile::tempdir().unwrap();
    let chat = chat_standin();
    let pipeline = write(
        dir.path(),
        "pipeline.hcl",
        r#"
variable "hooks" {
  type = string
}
notification "slack" "gone" {
  params { webhook_url = "${var.hooks}/broken/hook" }
}
job "j" {
  notify "slack" "gone" {}
  task "after" {
    run "exec" { path = "true" }
  }
}
"#,
    );
    let var = format!("hooks={}", chat.address);
    let (ok, log) = run(dir.path(), &pipeline, "j", &["--var", &var]);
    assert!(!ok, "{log}");
    assert!(log.contains("Slack answered 500") && log.contains("webhook gone"), "{log}");
    assert!(!log.contains("task after"), "the build stopped at the notify step: {log}");
}

#[test]
fn an_inline_exec_notification_type_sees_pikocis_variables() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("notified");
    let pipeline = write(
        dir.path(),
        "pipeline.hcl",
        &format!(
            r##"
notification_type "file" {{
  params = ["channel"]
  notify "exec" {{
    path = "/bin/sh"
    args = ["-ec", "echo \"$param_channel|$notify_status|$notify_build_status|$NOTIFY_MESSAGE|$BUILD_JOB_NAME|$(basename $PWD)\" >> {out}"]
  }}
}}

notification "file" "ops" {{
  params {{ channel = "#ops" }}
  message = "default for $BUILD_PIPELINE_NAME"
  on      = ["failure"]
}}

job "deploy" {{
  notify "file" "ops" {{ status = "started" }}
  task "fail" {{
    run "exec" {{ path = "false" }}
  }}
  on_failure {{
    notify "file" "ops" {{
      status  = "failed"
      message = "deploy $BUILD_NUMBER broke"
    }}
  }}
}}
"##,
            out = out.display()
        ),
    );
    let (ok, log) = run(dir.path(), &pipeline, "deploy", &[]);
    assert!(!ok, "{log}");
    let lines = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{e}: {log}"));
    let lines: Vec<&str> = lines.lines().collect();
    let workdir = lines.first().and_then(|l| l.rsplit('|').next()).unwrap_or_default();
    assert!(workdir.starts_with("pikoci-build"), "the command runs in the build's work directory: {lines:?}");
    let expected = [
        // The notify step in the plan: its own attribute, the notification's message.
        format!("#ops|started||default for shop|deploy|{workdir}"),
        // The one in the hook: its message wins.
        format!("#ops|failed||deploy 1 broke|deploy|{workdir}"),
        // Sent by the host after the build: how it ended, no step attributes.
        format!("#ops||failure|default for shop|deploy|{workdir}"),
    ];
    assert_eq!(lines, expected, "{log}");
}

/// GitHub's App API as the checks flow uses it: an installation token for a valid JWT, then
/// check runs created and updated.
fn github_standin() -> HttpStandIn {
    HttpStandIn::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/app/installations/678/access_tokens") if r.header("authorization").is_some_and(|a| a.starts_with("Bearer ")) => {
            (201, json!({"token": "ghs_installation_token_9f8e", "expires_at": "2030-01-01T00:00:00Z"}))
        }
        ("POST", "/repos/org/repo/check-runs") if r.header("authorization") == Some("Bearer ghs_installation_token_9f8e") => (201, json!({"id": 4242})),
        ("PATCH", "/repos/org/repo/check-runs/4242") if r.header("authorization") == Some("Bearer ghs_installation_token_9f8e") => (200, json!({"id": 4242})),
        _ => (404, json!({"message": "Not Found"})),
    })
}

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn base64url(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).unwrap()
}

#[test]
fn github_check_creates_and_completes_a_check_run_as_the_app() {
    let dir = tempfile::tempdir().unwrap();
    openssl(dir.path(), &["genrsa", "-traditional", "-out", "app.pem", "2048"]);
    openssl(dir.path(), &["rsa", "-in", "app.pem", "-pubout", "-out", "app.pub"]);
    let pem = std::fs::read_to_string(dir.path().join("app.pem")).unwrap();
    let github = github_standin();
    let pipeline = write(
        dir.path(),
        "pipeline.hcl",
        r#"
variable "api" {
  type = string
}
variable "github_app_pem" {
  type      = string
  sensitive = true
}

notification_type "github-check" {
  source = "pikoci://github-check"
}

notification "github-check" "ci" {
  params {
    app_id          = 12345
    installation_id = "678"
    private_key     = var.github_app_pem
    repository      = "org/repo"
    base_url        = "https://ci.example.com"
    api_url         = var.api
  }
}

job "build" {
  task "checkout" {
    run "shell" {
      cmd = "git init -q repo && git -C repo -c user.email=ci@example.com -c user.name=ci commit -q --allow-empty -m one && echo \"commit $(git -C repo rev-parse HEAD)\""
    }
  }
  notify "github-check" "ci" { status = "in_progress" }
  task "make" {
    run "exec" { path = "true" }
  }
  on_success {
    notify "github-check" "ci" { conclusion = "success" }
  }
  on_failure {
    notify "github-check" "ci" { conclusion = "failure" }
  }
}
"#,
    );
    let vars = [format!("api={}", github.address), format!("github_app_pem={pem}")];
    let (ok, log) = run(dir.path(), &pipeline, "build", &["--var", &vars[0], "--var", &vars[1]]);
    assert!(ok, "{log}");
    let commit = log.split("commit ").nth(1).map(|rest| rest[..40].to_string()).unwrap_or_else(|| panic!("no commit in the log: {log}"));

    let received = github.received();
    let calls: Vec<(&str, &str)> = received.iter().map(|r| (r.method.as_str(), r.path.as_str())).collect();
    assert_eq!(
        calls,
        [
            ("POST", "/app/installations/678/access_tokens"),
            ("POST", "/repos/org/repo/check-runs"),
            ("POST", "/app/installations/678/access_tokens"),
            ("PATCH", "/repos/org/repo/check-runs/4242"),
        ]
    );
    let details = "https://ci.example.com/teams/main/pipelines/shop/jobs/build/builds/1";
    assert_eq!(received[1].json(), json!({"name": "shop/build", "head_sha": commit, "status": "in_progress", "details_url": details}));
    assert_eq!(received[3].json(), json!({"status": "completed", "conclusion": "success", "details_url": details}));
    for r in &received {
        assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
        assert!(r.header("user-agent").is_some(), "GitHub refuses requests without a User-Agent");
    }

    // The JWT is the App's: RS256 over {iat, exp, iss}, verified with the App's public key.
    let jwt = received[0].header("authorization").unwrap().strip_prefix("Bearer ").unwrap();
    let [header, claims, signature]: [&str; 3] = jwt.split('.').collect::<Vec<_>>().try_into().unwrap();
    let header: serde_json::Value = serde_json::from_slice(&base64url(header)).unwrap();
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
    let claims_json: serde_json::Value = serde_json::from_slice(&base64url(claims)).unwrap();
    assert_eq!(claims_json["iss"], json!("12345"));
    let (iat, exp) = (claims_json["iat"].as_u64().unwrap(), claims_json["exp"].as_u64().unwrap());
    assert_eq!(exp - iat, 660, "issued a minute back, valid ten minutes: {claims_json}");
    std::fs::write(dir.path().join("signed"), format!("{}.{claims}", jwt.split('.').next().unwrap())).unwrap();
    std::fs::write(dir.path().join("signature"), base64url(signature)).unwrap();
    openssl(dir.path(), &["dgst", "-sha256", "-verify", "app.pub", "-signature", "signature", "signed"]);

    assert!(!log.contains("PRIVATE KEY") && !log.contains(pem.lines().nth(1).unwrap()), "the App's key leaked into the log: {log}");
    assert!(!log.contains("ghs_installation_token"), "the installation token leaked into the log: {log}");
    assert!(log.contains("created check run 4242") && log.contains("completed check run 4242 with conclusion success"), "{log}");
}
