resource "cron" "tick" {
  check_interval = "@every 1m"
  check_interval = "@every 2m"
}

job "a" {
  get "cron" "tick" {}
}
