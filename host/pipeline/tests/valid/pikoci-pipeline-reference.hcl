# PikoCI docs/Pipeline.md, the reference's examples put together in one pipeline: variables, an
# inline resource type, resources, an inline runner, a secret type and a secret-backed variable,
# an inline service type, and jobs with every step, hook, timeout and retry shown.
variable "repo_url" {
  type    = string
  default = "https://github.com/xescugc/pikoci.git"
}

variable "repo_name" {
  type = string
}

variable "vault_address" {
  type    = string
  default = "http://vault:8200"
}

variable "vault_token" {
  type = string
}

resource_type "my-git" {
  params = ["url", "name"]

  check "exec" {
    path = "/bin/sh"
    args = ["-ec", "git ls-remote $param_url HEAD | awk '{print $1}'"]
  }

  pull "exec" {
    path = "/bin/sh"
    args = ["-ec", "git clone $param_url $param_name && git checkout $version_ref"]
  }

  push "exec" {
    path = "/bin/sh"
    args = ["-ec", "cd $param_name && git push"]
  }
}

resource "my-git" "my_repo" {
  params {
    url  = var.repo_url
    name = "my-repo"
  }
}

resource "cron" "every_10s" {
  check_interval = "@every 10s"
}

runner_type "docker" {
  run {
    path = "docker"
    args = [
      "run", "--rm",
      "-v", "$WORKDIR:/workdir",
      "-w", "/workdir",
      "$image",
      "$cmd",
    ]
  }
}

secret_type "vault" {
  source  = "pikoci://vault"
  address = var.vault_address
  token   = var.vault_token
}

variable "db_password" {
  type = string
  secret "vault" {
    path = "secret/data/db"
    key  = "password"
  }
}

service_type "postgres" {
  params = ["version"]

  start "exec" {
    path = "/bin/sh"
    args = ["-ec", "docker run -d --name pg-$BUILD_NUMBER postgres:$param_version"]
  }

  ready_check "exec" {
    path     = "/bin/sh"
    args     = ["-ec", "docker exec pg-$BUILD_NUMBER pg_isready"]
    interval = "2s"
    timeout  = "30s"
  }

  stop "exec" {
    path = "/bin/sh"
    args = ["-ec", "docker rm -f pg-$BUILD_NUMBER"]
  }
}

# PikoCI ships github-check as a built-in; pikoci does not, so it is declared here.
resource_type "github-check" {
  push "exec" {
    path = "/bin/sh"
    args = ["-ec", "echo $put_conclusion"]
  }
}

resource "github-check" "ci" {}

job "deploy" {
  concurrency = 1

  get "my-git" "my_repo" {
    trigger = true
  }

  task "deploy" {
    run "exec" {
      path = "./deploy.sh"
    }
  }
}

job "build" {
  get "my-git" "my_repo" {
    trigger = true
  }

  task "compile" {
    run "exec" {
      path = "make"
      args = ["build"]
    }
  }

  task "build" {
    inputs  = ["pikoci/"]
    outputs = ["bin/pikoci"]
    run "exec" {
      path = "make"
      args = ["build"]
    }
  }

  task "migrate" {
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "DATABASE_PASSWORD=${var.db_password} make migrate"]
    }
  }

  put "my-git" "my_repo" {
    params {
      name = "my-repo"
    }
  }

  on_success "exec" {
    path = "echo"
    args = ["build succeeded"]
  }

  on_failure "exec" {
    path = "echo"
    args = ["build failed"]
  }

  ensure "exec" {
    path = "echo"
    args = ["cleanup"]
  }
}

job "release" {
  get "my-git" "my_repo" {
    trigger = true
    passed  = ["build"]
  }

  task "deploy" {
    run "exec" {
      path = "make"
      args = ["deploy"]
    }
    on_failure "exec" {
      path = "echo"
      args = ["deploy failed"]
    }
  }

  task "long-build" {
    timeout = "10m"
    run "exec" {
      path = "make"
      args = ["build"]
    }
    on_failure "exec" {
      path = "echo"
      args = ["build timed out or failed"]
    }
  }

  task "flaky-test" {
    timeout  = "5m"
    attempts = 3
    run "exec" {
      path = "make"
      args = ["test"]
    }
    on_failure "exec" {
      path = "echo"
      args = ["tests failed after 3 attempts"]
    }
  }
}

job "test" {
  service "postgres" {
    version = "16"
  }

  get "cron" "every_10s" { trigger = true }
  task "run-tests" {
    run "exec" {
      path = "make"
      args = ["test"]
    }
  }

  on_success {
    put "github-check" "ci" {
      conclusion = "success"
    }
  }

  on_failure {
    put "github-check" "ci" {
      conclusion = "failure"
    }
  }
}
