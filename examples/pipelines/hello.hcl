# The smallest useful pipeline: every minute, say hello.
#
#   pikoci pipeline validate examples/pipelines/hello.hcl

resource "cron" "minute" {
  check_interval = "@every 1m"
}

job "hello" {
  get "cron" "minute" {
    trigger = true
  }

  task "say-hello" {
    run "exec" {
      path = "/bin/echo"
      args = ["hello from build $BUILD_NUMBER"]
    }
  }
}
