notification_type "slack" {
  source = "pikoci://slack"
}

job "a" {
  task "t" {
    run "exec" { path = "true" }
  }
}
