resource "exec" "app" {}

job "build" {
  get "exec" "app" {}
}
