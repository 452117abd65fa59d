# PikoCI's HCL functions (Terraform's standard library) in the attributes of a pipeline.
variable "app" {
  type    = string
  default = "Web-App"
}

variable "version" {
  type    = string
  default = " 1.4.2\n"
}

variable "environment" {
  type    = string
  default = ""
}

variable "replicas" {
  type    = number
  default = 3
}

variable "targets" {
  type    = string
  default = "linux/amd64,linux/arm64"
}

resource "git" "source" {
  check_interval = format("@every %dm", max(var.replicas, 5))
  params {
    url    = format("https://github.com/pikoci/%s.git", lower(var.app))
    branch = coalesce(var.environment, "main")
    labels = merge({ team = "ci", app = "x" }, { app = lower(var.app) })
    depth  = lookup({ main = 1, release = 50 }, coalesce(var.environment, "main"), 10)
  }
}

resource "cron" "nightly" {
  check_interval = "@every ${2 * 12}h"
}

job "build" {
  get "git" "source" {
    trigger = true
  }

  task "build" {
    run "exec" {
      path = "make"
      args = concat(["build"], formatlist("PLATFORM=%s", split(",", var.targets)))
    }
  }

  task "describe" {
    run "exec" {
      path = "echo"
      args = [
        jsonencode({ app = var.app, version = trimspace(var.version), replicas = var.replicas }),
        upper(regexreplace(trimspace(var.version), "^(\\d+)\\.(\\d+)\\..*$", "v$1.$2")),
        title(replace(lower(var.app), "-", " ")),
        formatdate("YYYY-MM-DD", timeadd("2026-06-08T10:30:00Z", "24h")),
        base64encode(chomp(var.version)),
        tostring(length(distinct(concat(split(",", var.targets), ["linux/amd64"])))),
      ]
    }
  }
}

job "publish" {
  get "git" "source" {
    passed  = ["build"]
    trigger = true
  }

  get "cron" "nightly" {}

  task "publish" {
    run "exec" {
      path = "echo"
      args = [for t in sort(split(",", var.targets)) : format("%s:%s", lower(var.app), replace(t, "/", "-"))]
    }
  }
}
