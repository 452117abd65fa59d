# PikoCI docs/Resource-Types.md: sourcing a type, caching, and the built-in cron and git with
# their documented params.
variable "git_token" {
  type = string
}

variable "github_token" {
  type = string
}

resource_type "my-git" {
  source = "pikoci://git"
}

resource_type "git" {
  source = "pikoci://git"
  cache  = true
}

resource "git" "small-repo" {
  cache = false # opt out even though type defaults to true
  params {
    url = "https://github.com/small/repo"
  }
}

resource "cron" "every_minute" {
  check_interval = "@every 1m"
}

resource "cron" "every_five_minutes" {
  check_interval = "0 */5 * * *"
}

resource "git" "my-repo" {
  params {
    url   = "https://github.com/myorg/my-repo.git"
    name  = "my-repo"
    token = var.git_token
  }
}

resource "git" "private-repo" {
  params {
    url    = "https://github.com/myorg/private-repo.git"
    name   = "private-repo"
    branch = "main"
    token  = var.github_token
  }
}

resource "git" "prs" {
  params {
    url   = "https://github.com/myorg/my-repo.git"
    name  = "my-repo"
    token = var.github_token
    pr    = "true"
  }
}

resource "git" "tags" {
  params {
    url   = "https://github.com/myorg/my-repo.git"
    name  = "my-repo"
    token = var.github_token
    tag   = true
  }
}

resource "my-git" "mine" {
  params {
    url  = "https://github.com/PikoCI/pikoci.git"
    name = "pikoci"
  }
}

job "ci" {
  get "git" "prs" {
    trigger = true
  }

  task "test" {
    run "docker" {
      image = "golang:1.25"
      cmd   = "cd my-repo && make test"
    }
  }
}

job "release" {
  get "git" "tags" {
    trigger = true
  }

  task "build" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "cd my-repo && TAG=$(git describe --tags --exact-match) && docker build -t myorg/my-repo:$TAG ."]
    }
  }
}

job "others" {
  get "git" "small-repo" {}
  get "git" "my-repo" {}
  get "git" "private-repo" {}
  get "my-git" "mine" {}
  get "cron" "every_minute" {}
  get "cron" "every_five_minutes" {}
}
