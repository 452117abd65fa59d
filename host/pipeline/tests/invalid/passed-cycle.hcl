resource "cron" "tick" {
  check_interval = "@every 1m"
}

job "a" {
  get "cron" "tick" {
    passed = ["b"]
  }
}

job "b" {
  get "cron" "tick" {
    passed = ["a"]
  }
}
