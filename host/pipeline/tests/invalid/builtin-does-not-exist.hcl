resource_type "thing" {
  source = "pikoci://nope"
}

resource "thing" "t" {}

job "a" {
  get "thing" "t" {}
}
