# PikoCI docs/Runners.md: overriding exec to fail loudly.
runner_type "exec" {
  run {
    path = "/bin/sh"
    args = ["-ec", "exit 2"]
  }
}

job "nothing" {
  task "refused" {
    run "exec" {
      path = "true"
    }
  }
}
