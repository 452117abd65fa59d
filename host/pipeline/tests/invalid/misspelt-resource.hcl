resource "git" "my-app" {
  params {
    url = "https://example.com/app.git"
  }
}

job "build" {
  get "git" "my-ap" {
    trigger = true
  }
}
