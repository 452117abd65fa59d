runner_type "remote" {
  source = "https://example.com/runner.wasm"
}

job "a" {
  task "t" {
    run "remote" {}
  }
}
