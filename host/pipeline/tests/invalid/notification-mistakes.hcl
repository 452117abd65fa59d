notification "slack" "builds" {
  params { webhook_url = "https://hooks.slack.test/x" }
  on = ["failed"]
}

notification "slack" "everything" {
  params { webhook_url = "https://hooks.slack.test/x" }
  on   = ["all", "success"]
  jobs = ["buidl"]
}

notification "slack" "scoped" {
  params { webhook_url = "https://hooks.slack.test/x" }
  on      = ["failure"]
  jobs    = ["build"]
  exclude = ["build"]
}

notification "pager" "oncall" {
}

job "build" {
  notify "slack" "bulids" { message = "started" }
  task "t" {
    run "exec" { path = "true" }
  }
}
