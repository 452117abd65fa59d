resource "cron" "fast" {
  check_interval = "@every 5s"
}

job "a" {
  get "cron" "fast" {}
}
