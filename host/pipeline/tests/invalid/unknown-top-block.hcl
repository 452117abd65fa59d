resourse "git" "app" {}

job "build" {
  task "t" {
    run "exec" { path = "true" }
  }
}
