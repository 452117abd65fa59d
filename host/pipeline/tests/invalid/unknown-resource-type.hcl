resource "gti" "app" {
  params {
    url = "https://example.com/app.git"
  }
}

job "build" {
  get "gti" "app" {}
}
