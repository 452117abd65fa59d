job "a" {
  task "t" {
    attempts = 0
    run "exec" { path = "true" }
  }
}
