resource "git" "app" {
  params {
    url = "https://example.com/app.git"
  }
}

job "build" {
  get "fs" "app" {}
}
