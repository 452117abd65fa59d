# PikoCI docs/Runners.md: an inline docker runner with $env and $args, a sourced runner,
# type-level runner overrides, extra docker flags, HCL functions in args and a custom runner.
runner_type "docker" {
  run {
    path = "docker"
    args = [
      "run", "--rm",
      "--network=host",
      "-v", "$WORKDIR:/workdir",
      "-w", "/workdir",
      "$env",
      "$args",
      "$image",
      "/bin/bash", "-ec", "$cmd",
    ]
  }
}

runner_type "my-docker" {
  source = "pikoci://docker"
}

runner_type "bash" {
  run {
    path = "/bin/bash"
    args = ["-c", "$script"]
  }
}

resource_type "git" {
  source = "pikoci://git"
  runner "docker" {
    image = "alpine/git:latest"
    args  = ["-v", "/var/run/docker.sock:/var/run/docker.sock", "-e", "GIT_SSH_COMMAND=ssh -o StrictHostKeyChecking=no"]
  }
}

secret_type "vault" {
  source = "pikoci://vault"
  runner "docker" {
    image = "hashicorp/vault:latest"
  }
}

service_type "postgresql" {
  source = "pikoci://postgresql"
  runner "docker" {
    image = "docker:latest"
  }
}

resource "git" "repo" {
  params {
    url  = "https://github.com/example/repo.git"
    name = "repo"
  }
}

resource "cron" "tick" {
  check_interval = "@every 1m"
}

job "build" {
  get "git" "repo" {
    trigger = true
  }

  task "compile" {
    run "docker" {
      image = "golang:1.25"
      cmd   = "make build"
    }
  }

  task "hello" {
    run "exec" {
      path = "echo"
      args = ["hello world"]
    }
  }

  task "test" {
    run "docker" {
      image = "golang:1.25"
      cmd   = "make test"
      args  = ["-e", "CI=true", "-e", "FOO=bar"]
    }
  }

  task "test-volumes" {
    run "docker" {
      image = "golang:1.25"
      cmd   = "make test"
      args  = ["-v", "/data:/data"]
    }
  }

  task "build-image" {
    run "docker" {
      image = "docker:latest"
      cmd   = "docker build -t myapp ."
      args  = ["--privileged"]
    }
  }

  task "test-functions" {
    run "docker" {
      image = "golang:1.25"
      cmd   = "make test"
      args = concat(
        ["-e", "CI=true"],
        ["-e", "FOO=bar"],
        ["-v", "/cache:/cache"],
      )
    }
  }

  task "my-docker" {
    run "my-docker" {
      image = "alpine"
      cmd   = "true"
    }
  }
}

job "example" {
  get "cron" "tick" { trigger = true }

  task "greet" {
    run "bash" {
      script = "echo hello from bash"
    }
  }
}
