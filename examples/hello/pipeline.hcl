# The README's first pipeline: it needs nothing but this repository. The built-in `fs` resource
# watches the example application; the built-in `exec` runner runs its tests.
#
#   pikoci run --pipeline-config examples/hello/pipeline.hcl --job test --var app_dir=$PWD/examples/hello/app

variable "app_dir" {
  type = string
}

resource "fs" "app" {
  params {
    path = var.app_dir
  }
}

job "test" {
  get "fs" "app" {
    trigger = true
  }

  task "unit" {
    inputs = ["app"]
    run "exec" {
      path = "/bin/sh"
      args = ["-ec", "echo \"build $BUILD_NUMBER of $BUILD_PIPELINE_NAME/$BUILD_JOB_NAME\"; cd app && sh test.sh"]
    }
  }

  on_success "exec" {
    path = "/bin/echo"
    args = ["all good"]
  }

  ensure "exec" {
    path = "/bin/echo"
    args = ["done"]
  }
}
