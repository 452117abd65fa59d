job "a" {
  task "t" {
    run "exec" { path = "true" }
  }
  on_success {
    put "trigger" "deploy" {
      sha = "abc"
    }
  }
}
