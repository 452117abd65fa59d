# A Go service: lint and test in parallel on every commit, integration tests against a real
# PostgreSQL, then a release that only sees commits that passed both.
#
#   pikoci pipeline validate examples/pipelines/go-service.hcl --var repo_url=https://github.com/example/app.git

variable "repo_url" {
  type = string
}

variable "go_image" {
  type    = string
  default = "golang:1.25"
}

resource "git" "app" {
  check_interval = "@every 1m"
  params {
    url  = var.repo_url
    name = "app"
  }
}

job "check" {
  get "git" "app" {
    trigger = true
  }

  in_parallel {
    fail_fast = true

    task "lint" {
      run "docker" {
        image = var.go_image
        cmd   = "cd app && go vet ./..."
      }
    }

    task "unit" {
      timeout  = "10m"
      attempts = 2
      run "docker" {
        image = var.go_image
        cmd   = "cd app && go test ./..."
      }
    }
  }
}

job "integration" {
  get "git" "app" {
    trigger = true
    passed  = ["check"]
  }

  service "postgresql" {
    version = "17"
  }

  task "integration" {
    env = {
      DATABASE_URL = "postgres://postgres@localhost/postgres"
    }
    run "docker" {
      image = var.go_image
      cmd   = "cd app && go test -tags integration ./..."
    }
  }

  on_failure "exec" {
    path = "/bin/echo"
    args = ["integration tests failed for build $BUILD_NUMBER"]
  }
}

job "release" {
  concurrency = 1

  get "git" "app" {
    trigger = true
    passed  = ["integration"]
  }

  task "build" {
    outputs = ["app/bin/app"]
    run "docker" {
      image = var.go_image
      cmd   = "cd app && go build -o bin/app ./cmd/app"
    }
  }

  ensure "exec" {
    path = "/bin/echo"
    args = ["release finished: $BUILD_STATUS"]
  }
}
