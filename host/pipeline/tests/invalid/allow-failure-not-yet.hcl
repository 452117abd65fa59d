# PikoCI's allow_failure would make a failed build a warning; pikoci does not have that
# status yet, so the attribute is refused rather than ignored.
job "flaky" {
  allow_failure = true
  task "t" {
    run "shell" {
      cmd = "false"
    }
  }
}
