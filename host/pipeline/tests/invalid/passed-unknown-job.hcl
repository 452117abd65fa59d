resource "cron" "tick" {
  check_interval = "@every 1m"
}

job "test" {
  get "cron" "tick" { trigger = true }
}

job "deploy" {
  get "cron" "tick" {
    passed = ["tset"]
  }
}
