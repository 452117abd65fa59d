resource "cron" "when" {
  check_interval = "every tuesday"
}

job "a" {
  get "cron" "when" {}
}
