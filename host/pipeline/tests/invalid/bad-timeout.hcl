job "a" {
  task "t" {
    timeout = "10 minutes please"
    run "exec" { path = "true" }
  }
}
