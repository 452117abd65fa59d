resource "cron" "tick" {
  check_interval = "@every 1m"
}

resource "cron" "tock" {
  check_interval = "@every 2m"
}

job "a" {
  get "cron" "tock" {}
}

job "b" {
  get "cron" "tick" {
    passed = ["a"]
  }
}
