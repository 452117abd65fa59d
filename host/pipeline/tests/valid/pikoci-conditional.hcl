# PikoCI's if / else_if / else, as its testdata writes them: a condition over the build's
# variables picks the steps that run.
variable "target" {
  default = "staging"
}

resource "git" "repo" {
  params {
    url = "https://example.com/repo.git"
  }
}

job "deploy" {
  get "git" "repo" { trigger = true }

  task "detect" {
    run "shell" {
      cmd = "echo target=${var.target} >> $PIKOCI_OUTPUT"
    }
  }

  if "check-prod" {
    condition = "$TASK_DETECT_TARGET == 'production' && $GET_REPO_REF != ''"
    task "deploy-prod" {
      run "exec" {
        path = "make"
        args = ["deploy-prod"]
      }
    }
    on_failure "exec" {
      path = "echo"
      args = ["production deploy failed"]
    }
  }
  else_if "check-staging" {
    condition = "$TASK_DETECT_TARGET contains stag"
    task "deploy-staging" {
      run "exec" {
        path = "make"
        args = ["deploy-staging"]
      }
    }
  }
  else {
    task "nothing" {
      run "exec" {
        path = "echo"
        args = ["nothing to deploy"]
      }
    }
  }
}
