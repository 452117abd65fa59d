# PikoCI's deploy pipeline names two built-ins as kinds pikoci has them under another: its
# older github-check resource type (pikoci has the notification type) and a vault service
# (pikoci has the secret type).
resource_type "github-check" {
  source = "pikoci://github-check"
}

service_type "vault" {
  source = "pikoci://vault"
}

job "a" {
  task "t" {
    run "exec" { path = "true" }
  }
}
