runner_type "remote" {
  source = "https://example.com/runner.wasm"
  digest = "md5:0123456789abcdef"
}

job "a" {
  task "t" {
    run "remote" {}
  }
}
