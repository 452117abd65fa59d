//! The pipelines the benchmark runs, and reading the time a task printed.

use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// A task that prints the wall-clock time it started, in nanoseconds: latencies are measured from
/// the request to that, the same way in process and from outside.
const TIME_TASK: &str = r#"  task "t" {
    run "exec" {
      path = "/bin/date"
      args = ["+%s%N"]
    }
  }
"#;

/// `latency` builds each new version of `app`, `api` is triggered through the API, `burst` runs
/// `/bin/true`; `other_jobs` more jobs take `idle`, which never changes.
pub fn latency(app: &Path, idle: &Path, other_jobs: usize) -> String {
    let mut text = String::new();
    for (name, path) in [("app", app), ("idle", idle)] {
        let _ = write!(text, "resource \"fs\" \"{name}\" {{\n  check_interval = \"@every 24h\"\n  params {{ path = \"{}\" }}\n}}\n", path.display());
    }
    let _ = write!(text, "job \"latency\" {{\n  get \"fs\" \"app\" {{ trigger = true }}\n{TIME_TASK}}}\n");
    let _ = write!(text, "job \"api\" {{\n{TIME_TASK}}}\n");
    text.push_str("job \"burst\" {\n  task \"t\" {\n    run \"exec\" {\n      path = \"/bin/true\"\n    }\n  }\n}\n");
    for n in 0..other_jobs {
        let _ = write!(text, "job \"other-{n}\" {{\n  get \"fs\" \"idle\" {{ trigger = true }}\n  task \"t\" {{\n    run \"exec\" {{\n      path = \"/bin/true\"\n    }}\n  }}\n}}\n");
    }
    text
}

/// `count` `fs` resources over `dir`, each checked every `interval`.
pub fn resources(dir: &Path, count: usize, interval: &str) -> String {
    let mut text = String::new();
    for n in 0..count {
        let _ = write!(text, "resource \"fs\" \"r{n}\" {{\n  check_interval = \"@every {interval}\"\n  params {{ path = \"{}\" }}\n}}\n", dir.display());
    }
    text
}

/// One job whose task prints `lines` numbered lines.
pub fn chatty(lines: usize) -> String {
    format!("job \"chatty\" {{\n  task \"t\" {{\n    run \"exec\" {{\n      path = \"/usr/bin/seq\"\n      args = [\"{lines}\"]\n    }}\n  }}\n}}\n")
}

/// The time a [`TIME_TASK`] printed.
pub fn printed_time(text: &str) -> anyhow::Result<SystemTime> {
    let nanos: u64 = text.trim().parse().map_err(|_| anyhow::anyhow!("the task printed `{text}`, not a time"))?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_nanos(nanos))
}
