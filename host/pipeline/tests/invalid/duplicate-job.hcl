job "build" {
  task "t" {
    run "exec" { path = "true" }
  }
}

job "build" {
  task "t" {
    run "exec" { path = "false" }
  }
}
