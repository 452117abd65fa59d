resource "cron" "tick" {
  check_interval = "@every 1m"
}

job "build" {
  get "cron" "tick" {
    trigger = "yes"
  }
}
