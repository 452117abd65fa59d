# PikoCI docs/Runners.md, built-in shell: PikoCI ships it, pikoci does not (yet), so this
# rewrite declares it inline with the same behaviour for `cmd`.
runner_type "shell" {
  run {
    path = "/bin/sh"
    args = ["-ec", "$cmd"]
  }
}

job "shell" {
  task "test" {
    run "shell" {
      cmd = <<-EOT
        cd app
        make test
        make lint
      EOT
    }
  }

  task "deploy" {
    run "shell" {
      file = "app/scripts/deploy.sh"
    }
  }

  task "bash" {
    run "shell" {
      shell = "/bin/bash"
      cmd   = "set -o pipefail; make test 2>&1 | tee test.log"
    }
  }
}
