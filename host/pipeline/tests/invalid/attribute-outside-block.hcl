name = "my-pipeline"

job "a" {
  task "t" {
    run "exec" { path = "true" }
  }
}
