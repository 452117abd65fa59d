# PikoCI docs/Runners.md, the built-in shell runner, as written there.
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
