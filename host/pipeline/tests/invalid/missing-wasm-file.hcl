resource_type "local" {
  source = "plugins/does-not-exist.wasm"
}

resource "local" "thing" {}

job "a" {
  get "local" "thing" {}
}
