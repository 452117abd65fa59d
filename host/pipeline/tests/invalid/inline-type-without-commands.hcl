resource_type "thing" {
  params = ["url"]
}

resource "thing" "t" {}

job "a" {
  get "thing" "t" {}
}
