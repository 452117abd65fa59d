# PikoCI docs/Getting-Started.md: the first pipeline.
resource "cron" "my_cron" {
  check_interval = "@every 10s"
}

job "echo" {
  get "cron" "my_cron" {
    trigger = true
  }
  task "echo" {
    run "exec" {
      path = "echo"
      args = ["hello from PikoCI"]
    }
  }
}
