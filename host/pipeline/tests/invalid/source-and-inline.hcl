resource_type "mygit" {
  source = "pikoci://git"

  check "exec" {
    path = "git"
  }
}

resource "mygit" "r" {}

job "a" {
  get "mygit" "r" {}
}
