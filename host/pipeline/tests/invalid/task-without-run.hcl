job "a" {
  task "t" {
    timeout = "1m"
  }
}
