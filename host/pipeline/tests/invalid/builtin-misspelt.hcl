resource_type "repo" {
  source = "pikoci://gti"
}

resource "repo" "r" {}

job "a" {
  get "repo" "r" {}
}
