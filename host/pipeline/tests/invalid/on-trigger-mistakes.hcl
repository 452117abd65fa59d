notification "slack" "queue" {
  params { webhook_url = "https://hooks.slack.test/x" }
}

job "build" {
  on_trigger {
    put "git" "repo" {}
    notify "slack" "queu" {}
  }
  task "t" {
    run "exec" { path = "true" }
  }
}
