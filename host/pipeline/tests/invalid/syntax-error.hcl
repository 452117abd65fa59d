job "build" {
  task "compile" {
    run "exec" { path = "make"
  }
