resource_type "shell" {
  source = "pikoci://exec"
}

resource "shell" "s" {}

job "a" {
  get "shell" "s" {}
}
