resource "git" "app" {
  params {
    url = "https://example.com/app.git"
  }
}

resource "fs" "app" {
  params {
    path = "/srv/app"
  }
}

job "build" {
  get "fs" "app" {}
}
