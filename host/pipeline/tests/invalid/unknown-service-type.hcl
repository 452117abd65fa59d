job "a" {
  service "postgress" {
    version = "17"
  }
  task "t" {
    run "exec" { path = "true" }
  }
}
