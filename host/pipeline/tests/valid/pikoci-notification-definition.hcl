# A notification type whose commands come from a PikoCI-format definition file.
notification_type "webhook" {
  source = "definitions/webhook-notification.hcl"
}

notification "webhook" "team" {
  params {
    url      = "https://hooks.example.com/team"
    base_url = "https://ci.example.com/"
  }
  on = ["failure", "cancel"]
}

job "build" {
  task "make" {
    run "exec" {
      path = "make"
    }
  }
}
