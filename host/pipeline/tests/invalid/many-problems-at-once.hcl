resource "git" "app" {
  check_interval = "@every 1s"
  params {
    url = var.url
  }
}

job "build" {
  get "git" "ap" {
    trigger = true
  }
  task "compile" {
    run "exex" { path = "make" }
  }
}
