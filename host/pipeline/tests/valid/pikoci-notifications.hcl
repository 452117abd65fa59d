# The examples of PikoCI's docs/Notifications.md, together.
variable "app_name" {
  default = "shop"
}
variable "slack_webhook" {
  default = "https://hooks.slack.com/services/T00/B00/xxx"
}
variable "discord_webhook" {
  default = "https://discord.com/api/webhooks/1/abc"
}
variable "github_app_id" {
  default = "12345"
}
variable "github_app_installation_id" {
  default = "678"
}
variable "github_app_pem" {
  default = "-----BEGIN RSA PRIVATE KEY-----"
}

notification_type "shell-slack" {
  params = ["webhook_url"]
  notify "exec" {
    path = "/bin/sh"
    args = ["-ec", "curl -sf -X POST -H 'Content-Type: application/json' \"$param_webhook_url\" -d '{\"text\": \"'\"$NOTIFY_MESSAGE\"'\"}'"]
  }
}

notification_type "github-check" {
  source = "pikoci://github-check"
}

notification_type "slack" {
  source = "pikoci://slack"
}

notification_type "discord" {
  source = "pikoci://discord"
}

notification "shell-slack" "deploys" {
  params {
    webhook_url = "https://hooks.slack.com/services/T00/B00/xxx"
  }
  message = "Deploy finished for ${var.app_name}"
}

notification "github-check" "ci" {
  params {
    app_id          = var.github_app_id
    installation_id = var.github_app_installation_id
    private_key     = var.github_app_pem
    repository      = "org/repo"
    base_url        = "https://ci.example.com"
  }
}

notification "slack" "all-builds" {
  params {
    webhook_url = var.slack_webhook
  }
  on      = ["success", "failure"]
  message = "Build finished"
}

notification "slack" "deploy-only" {
  params { webhook_url = var.slack_webhook }
  on   = ["success", "failure"]
  jobs = ["deploy", "release"]
}

notification "slack" "skip-lint" {
  params { webhook_url = var.slack_webhook }
  on      = ["failure"]
  exclude = ["lint"]
}

notification "discord" "builds" {
  params {
    webhook_url = var.discord_webhook
  }
  on      = ["all"]
  message = "Build failed!"
}

resource "git" "repo" {
  params {
    url    = "https://github.com/org/repo.git"
    branch = "main"
  }
}

job "lint" {
  get "git" "repo" { trigger = true }
  task "lint" {
    run "exec" {
      path = "make"
      args = ["lint"]
    }
  }
}

job "release" {
  get "git" "repo" { passed = ["lint"] }
  task "release" {
    run "exec" {
      path = "make"
      args = ["release"]
    }
  }
}

job "deploy" {
  get "git" "repo" { trigger = true }

  notify "github-check" "ci" { status = "in_progress" }

  task "build" {
    run "exec" {
      path = "make"
      args = ["build"]
    }
  }

  on_success {
    notify "github-check" "ci" { conclusion = "success" }
    notify "shell-slack" "deploys" {}
  }
  on_failure {
    notify "github-check" "ci" { conclusion = "failure" }
  }
}
