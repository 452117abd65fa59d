runner_type "remote" {
  source = "ftp://example.com/runner.wasm"
}

job "a" {
  task "t" {
    run "remote" {}
  }
}
