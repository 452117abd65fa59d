job "a" {
  task "t" {
    run "exec" { path = "true" }
  }
  on_failure "slack" {
    message = "failed"
  }
}
