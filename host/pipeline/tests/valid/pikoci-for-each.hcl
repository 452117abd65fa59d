# PikoCI docs/Pipeline.md and docs/Functions.md: job instances from `for_each` (a set, a map, a
# set product) and `matrix`, fanned in through `passed`.
variable "go_versions" {
  type    = string
  default = "1.21,1.22"
}

resource "git" "code" {
  params {
    url    = "https://github.com/example/app.git"
    branch = "main"
  }
}

job "test" {
  for_each = toset(split(",", var.go_versions))

  get "git" "code" {
    trigger = true
  }

  task "run" {
    run "exec" {
      path = "/bin/sh"
      args = ["-c", "make test GO=${each.value}"]
    }
  }
}

job "deploy" {
  for_each = {
    staging = "us-east-1"
    prod    = "eu-west-1"
  }

  get "git" "code" {
    passed = ["test"]
  }

  task "push" {
    run "shell" {
      cmd = "deploy --env ${each.key} --region ${each.value}"
    }
  }
}

job "cross" {
  matrix {
    go = ["1.21", "1.22"]
    os = ["linux", "darwin"]
  }

  task "build" {
    run "shell" {
      cmd = "GOOS=${each.value.os} go${each.value.go} build ./..."
    }
  }
}

job "pairs" {
  for_each = { for pair in setproduct(["amd64", "arm64"], ["alpine", "debian"]) : "${pair[0]}-${pair[1]}" => { arch = pair[0], base = pair[1] } }

  task "image" {
    run "shell" {
      cmd = "build-image ${each.value.arch} ${each.value.base}"
    }
  }
}
